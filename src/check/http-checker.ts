// HTTP_GET and SSL_GET: one url per attempt over a fresh connection (net, or tls for SSL_GET),
// the response read as it arrives (http-response.ts), and keepalived's url iteration and retry
// logic (check_http.c:970-1103 epilog/timeout_epilog) with its log lines.
//
// keepalived's rules, followed here:
//   - each attempt fetches the current url; a success moves to the next url, delay_loop later
//     (fast_recovery: at once while the checker is down without a failed url, or has not run);
//     when the last one succeeds the checker is up ("Remote Web server … succeed on service.");
//   - a failure is retried `retry` times, delay_before_retry apart, on the same url; then the
//     checker goes down ("HTTP_CHECK on service … failed after N retries.") and that url is
//     checked every max(delay_loop, delay_before_retry) until it answers, then all urls again;
//   - while down, failures are not retried; successes log "HTTP status code success to … url(PATH)"
//     (or "MD5 digest", "Regex match");
//   - the request: "GET PATH HTTP/1.0|1.1", User-Agent KeepAliveClient, "Connection: close" for
//     1.0C and 1.1, Host: the url's virtualhost, else the checker's, the real server's, the virtual
//     server's, else the connect address and port (check_http.c:1572-1651);
//   - SSL_GET: no certificate verification; SNI only with enable_sni (sni_name, else the url's,
//     the checker's, the virtual server's virtualhost: check_ssl.c:244-257); the global SSL block's
//     certificate/key/password/ca; the connection is closed without close_notify unless
//     tls_compliant (newer keepalived).
//   - timeouts: connect_timeout applies to each step (connect, handshake, every read), as
//     keepalived re-arms its read timer per read: a slow body that keeps coming does not time out.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type SecureContext, type TLSSocket } from 'node:tls';
import type { HttpCheck, HttpUrl, RealServer, VirtualServer } from '../config/model.js';
import type { AttemptDone, CheckerRuntime, CheckStep, Outcome } from './checker.js';
import { ResponseReader } from './http-response.js';
import { probeTarget } from './tcp-checker.js';

/** One read buffer for every plain HTTP connection: data is consumed synchronously (net's onread). */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

export interface HttpCheckerCtx {
  vs: VirtualServer;
  rs: RealServer;
  rsName: string;
  vsName: string;
  logAll: boolean;
  clock: { now(): number };
  log: (level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown>) => void;
  /** SSL_GET's TLS context (the global SSL block), or an Error when it could not be built. */
  tls?: () => SecureContext | Error | undefined;
}

/** keepalived's request line and headers (check_http.c:122-132, 1594-1626). */
export function buildRequest(url: HttpUrl, check: Pick<HttpCheck, 'httpProtocol' | 'virtualhost'>, rsVhost: string | null, vsVhost: string | null, host: string, port: number): string {
  const vhost = url.virtualhost ?? check.virtualhost ?? rsVhost ?? vsVhost;
  const hostHeader = vhost ?? (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);
  const minor = check.httpProtocol === '1.1' ? 1 : 0;
  const close = check.httpProtocol === '1.0' ? '' : 'Connection: close\r\n';
  return `GET ${url.path} HTTP/1.${minor}\r\nUser-Agent: KeepAliveClient\r\n${close}Host: ${hostHeader}\r\n\r\n`;
}

/** The SNI keepalived sends (check_ssl.c:244-257; sni_name from newer keepalived): undefined = none. */
export function sniFor(check: Pick<HttpCheck, 'enableSni' | 'sniName' | 'virtualhost'>, url: HttpUrl, vsVhost: string | null): string | undefined {
  if (!check.enableSni) return undefined;
  return check.sniName ?? url.virtualhost ?? check.virtualhost ?? vsVhost ?? undefined;
}

type Phase = 'connect' | 'handshake' | 'write' | 'wait' | 'read';

export class HttpChecker implements CheckerRuntime {
  readonly type: 'HTTP_GET' | 'SSL_GET';
  readonly target: string;
  readonly timeoutMs: number;
  readonly curWeight = 0;
  lastActivity = 0;
  private isUp: boolean;
  private hasRun = false;
  private retryIt: number;
  /** Index of the url to check next; keepalived's url_it. */
  private urlIt = 0;
  /** keepalived's failed_url: the url that took the checker down. */
  private failedUrl: number | null = null;
  private readonly requests: Buffer[];
  private readonly to: ReturnType<typeof probeTarget>;
  private phase: Phase = 'connect';
  private readonly ssl: boolean;
  /** Per url: the last Content-Length mismatch logged (keepalived's len_mismatch). */
  private readonly lenMismatch: number[];

  constructor(readonly check: HttpCheck, private readonly ctx: HttpCheckerCtx) {
    this.type = check.type;
    this.ssl = check.type === 'SSL_GET';
    this.to = probeTarget(check, ctx.rs);
    this.target = `[${this.to.host}]:tcp:${this.to.port}`;
    this.timeoutMs = check.connectTimeout * 1000;
    this.isUp = !(check.alpha ?? ctx.rs.alpha);
    // check_data.c:1384: retries start used up ("one failure is enough initially").
    this.retryIt = check.retry;
    this.requests = check.urls.map((u) => Buffer.from(buildRequest(u, check, ctx.rs.virtualhost ?? null, ctx.vs.virtualhost, this.to.host, this.to.port), 'latin1'));
    this.lenMismatch = check.urls.map(() => 0);
  }

  get up(): boolean {
    return this.isUp;
  }

  start(done: AttemptDone): () => void {
    const urlIndex = this.urlIt;
    const url = this.check.urls[urlIndex]!;
    const reader = new ResponseReader({ statusCodes: url.statusCodes, digest: url.digest !== null, regex: url.regex });
    let finished = false;
    let sock: Socket | TLSSocket | null = null;
    const clock = this.ctx.clock;
    const end = (outcome: Outcome, detail: string): void => {
      if (finished) return;
      finished = true;
      if (sock) close(sock, this.ssl && (this.check.tlsCompliant || url.tlsCompliant));
      done(outcome, detail);
    };
    const evaluate = (): void => {
      if (finished) return;
      const out = reader.finish(url.digest);
      const mm = reader.lengthMismatch();
      if (reader.headersDone && mm !== null && this.lenMismatch[urlIndex] !== mm) {
        // check_http.c:1327-1339: said once per distinct difference.
        this.ctx.log('info', `http_check for RS ${this.ctx.rsName} VS ${this.ctx.vsName} url ${url.virtualhost ?? ''}${url.path}: content_length (${reader.contentLength}) does not match received bytes (${reader.rxBytes})`, { rs: this.ctx.rsName });
        this.lenMismatch[urlIndex] = mm;
      } else if (mm === null) {
        this.lenMismatch[urlIndex] = 0;
      }
      if (out.ok) end('success', out.msg);
      else end('failed', out.detail);
    };
    const onData = (chunk: Buffer): void => {
      if (finished) return;
      this.lastActivity = clock.now();
      this.phase = 'read';
      if (reader.feed(chunk)) evaluate();
    };
    const onConnected = (): void => {
      if (finished) return;
      this.lastActivity = clock.now();
      this.phase = 'write';
      sock!.write(this.requests[urlIndex]!);
      this.phase = 'wait';
    };
    const onError = (e: NodeJS.ErrnoException): void => {
      if (finished) return;
      switch (this.phase) {
        case 'connect':
          end('failed', e.code === 'ENETUNREACH' || e.code === 'EHOSTUNREACH' ? 'HTTP_CHECK - network unreachable' : 'Error connecting');
          return;
        case 'handshake':
          end('failed', 'SSL handshake/communication error connecting to');
          return;
        case 'write':
          end('failed', 'Cannot send get request to');
          return;
        default:
          // check_ssl.c:327-350: an SSL read error ends the stream like EOF; check_http.c:1505: a
          // plain read error fails the check.
          if (this.ssl) evaluate();
          else end('failed', 'Read error with');
      }
    };
    this.phase = 'connect';
    try {
      const opts = {
        host: this.to.host, port: this.to.port, family: this.to.family,
        ...(this.to.localAddress ? { localAddress: this.to.localAddress } : {}),
        ...(this.to.localPort ? { localPort: this.to.localPort } : {}),
      };
      if (this.ssl) {
        const ctx = this.ctx.tls?.();
        if (ctx instanceof Error) {
          queueMicrotask(() => end('failed', `SSL handshake/communication error connecting to`));
          return () => { finished = true; };
        }
        const servername = sniFor(this.check, url, this.ctx.vs.virtualhost);
        const t = tlsConnect({ ...opts, rejectUnauthorized: false, ...(ctx ? { secureContext: ctx } : {}), ...(servername ? { servername } : {}) });
        sock = t;
        t.once('connect', () => { this.lastActivity = clock.now(); this.phase = 'handshake'; });
        t.once('secureConnect', onConnected);
        t.on('data', onData);
      } else {
        const s = netConnect({ ...opts, onread: { buffer: READ_BUFFER, callback: (n: number, buf: Uint8Array) => { onData(Buffer.from(buf.buffer, buf.byteOffset, n)); return !finished; } } });
        sock = s;
        s.once('connect', onConnected);
      }
      sock.on('error', onError);
      sock.once('end', evaluate);
      sock.once('close', () => { if (!finished) { if (this.phase === 'connect' || this.phase === 'handshake') onError(Object.assign(new Error('closed'), { code: 'ECONNRESET' })); else evaluate(); } });
    } catch (e) {
      queueMicrotask(() => onError(e as NodeJS.ErrnoException));
    }
    return () => {
      finished = true;
      if (sock) close(sock, false);
    };
  }

  timeoutDetail(): string {
    // keepalived's words per step (check_http.c:1476, 1542, 1590, 1672; check_ssl.c:304).
    switch (this.phase) {
      case 'connect':
      case 'handshake': return 'Timeout connecting';
      case 'write': return 'Timeout WEB write';
      case 'wait': return 'Timeout WEB read';
      case 'read': return this.ssl ? 'Timeout SSL read' : 'Timeout HTTP read';
    }
  }

  result(outcome: Outcome, detail: string): CheckStep {
    if (outcome === 'success') {
      const logs: string[] = [];
      // check_http.c:1375-1381.
      if (!this.isUp) logs.push(`${detail} success to ${this.ctx.rsName} url(${this.check.urls[this.urlIt]!.path})`);
      return this.epilog('new', logs);
    }
    return this.timeoutEpilog(detail);
  }

  /** check_http.c:1080-1103. */
  private timeoutEpilog(detail: string): CheckStep {
    const logs: string[] = [];
    if (this.isUp || !this.hasRun) {
      if (this.ctx.logAll) logs.push(`${detail} server ${this.ctx.rsName}.`);
      this.hasRun = true;
      return this.epilog('retry', logs);
    }
    // Do not retry a server already known dead.
    return this.epilog('failed', logs);
  }

  /** check_http.c:970-1078. */
  private epilog(method: 'new' | 'retry' | 'failed', logs: string[]): CheckStep {
    const n = this.check.urls.length;
    let change: CheckStep['change'] = null;
    let urlIt: number | null = this.urlIt;
    if (method === 'new') {
      urlIt = this.urlIt + 1 >= n ? null : this.urlIt + 1;
      this.retryIt = 0;
    } else if (method === 'retry') {
      this.retryIt++;
    }
    if (method === 'new' && urlIt === null && this.failedUrl === null) {
      // Every url answered.
      if (!this.isUp || !this.hasRun) {
        logs.push(`Remote Web server ${this.ctx.rsName} succeed on service.`);
        if (!this.isUp) change = 'up';
        this.isUp = true;
        this.hasRun = true;
      }
      urlIt = 0;
      this.retryIt = 0;
    } else if (method === 'retry' && this.retryIt > this.check.retry) {
      if (this.isUp || !this.hasRun) {
        logs.push(this.hasRun && this.check.retry > 0
          ? `HTTP_CHECK on service ${this.ctx.rsName} failed after ${this.retryIt - 1} retries.`
          : `HTTP_CHECK on service ${this.ctx.rsName} failed.`);
        if (this.isUp) change = 'down';
        this.isUp = false;
      }
      this.failedUrl = this.urlIt;
    } else if (method === 'new' && this.failedUrl !== null) {
      // The failed url answers again: check them all.
      this.failedUrl = null;
      urlIt = 0;
      this.retryIt = 0;
    }
    this.urlIt = urlIt ?? 0;
    let delay: number;
    if (method === 'new') {
      delay = this.check.delayLoop;
      if (!this.hasRun) this.retryIt = this.check.retry;
    } else if (this.failedUrl !== null) {
      delay = Math.max(this.check.delayBeforeRetry, this.check.delayLoop);
    } else {
      delay = this.check.delayBeforeRetry;
    }
    if (this.check.fastRecovery && (!this.hasRun || (!this.isUp && this.failedUrl === null))) delay = 0;
    return { delay, change, logs };
  }

  resume(up: boolean): void {
    this.isUp = up;
    this.hasRun = true;
    this.retryIt = 0;
    this.urlIt = 0;
    this.failedUrl = null;
  }
}

function close(s: Socket | TLSSocket, notify: boolean): void {
  if (notify && !s.destroyed) {
    // tls_compliant: send close_notify, then let the socket go.
    s.end();
    setTimeout(() => s.destroy(), 1000).unref();
    return;
  }
  s.destroy();
}
