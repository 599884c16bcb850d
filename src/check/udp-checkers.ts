// The datagram checkers: UDP_CHECK and DNS_CHECK, one connected UDP socket per attempt (bindto/
// bind_port honoured), so an ICMP port unreachable comes back as ECONNREFUSED on that socket.
//
// UDP_CHECK (check_udp.c, core/layer4.c:231-470): sends `payload` (default keepalived's 32-byte
// "keepalived check - " filler); without require_reply, no answer within connect_timeout is a
// success and only an ICMP error fails; with it, a reply must come, its length within
// min/max_reply_length and its first bytes matching the pattern (X nibbles are wildcards).
// Retry logic and wording: the layer-4 epilog (checker.ts l4Step).
//
// DNS_CHECK (check_dns.c): a query (type, default SOA; name, default "."); answers with another
// id or without QR are ignored; a non-zero RCODE fails; hakeep also wants a record of the asked
// type (dns-packet.ts). Its own retry logic (dns_final, check_dns.c:104-170): retry defaults to 3,
// delay_before_retry to delay_loop, failures are logged on the last try (or every try with
// log_all_failures) as "DNS_CHECK (RS) WHAT after N retries", successes are not logged.
import { createSocket, type Socket } from 'node:dgram';
import type { DnsCheck, RealServer, UdpCheck } from '../config/model.js';
import { initialRetryState, l4Step, type AttemptDone, type CheckerRuntime, type CheckStep, type L4Wording, type Outcome, type RetryState } from './checker.js';
import { dnsQuery, readDnsAnswer } from './dns-packet.js';
import { probeTarget } from './tcp-checker.js';

/** keepalived's set_buf (core/layer4.c:57-74) over UDP_BUFSIZE (32) bytes. */
export const UDP_FILLER = (() => {
  const s = 'keepalived check - ';
  let out = '';
  while (out.length < 32) out += s;
  return Buffer.from(out.slice(0, 32), 'latin1');
})();

interface Ctx {
  rs: RealServer;
  rsName: string;
  logAll: boolean;
  clock: { now(): number };
}

/** One connected datagram socket; `onReply` returns true when the attempt is over. */
function datagram(
  to: ReturnType<typeof probeTarget>, payload: Buffer, onReply: (msg: Buffer) => boolean,
  done: (outcome: Outcome, detail: string) => void, errorDetail: (e: NodeJS.ErrnoException) => string,
): () => void {
  let finished = false;
  const sock: Socket = createSocket({ type: to.family === 6 ? 'udp6' : 'udp4' });
  const end = (o: Outcome, d: string): void => {
    if (finished) return;
    finished = true;
    try { sock.close(); } catch { /* closed */ }
    done(o, d);
  };
  sock.on('error', (e: NodeJS.ErrnoException) => end('failed', errorDetail(e)));
  sock.on('message', (m) => { if (!finished && onReply(m)) end('success', 'reply'); });
  const go = (): void => {
    sock.connect(to.port, to.host, () => {
      if (finished) return;
      sock.send(payload, (err) => { if (err) end('failed', errorDetail(err as NodeJS.ErrnoException)); });
    });
  };
  try {
    if (to.localAddress || to.localPort) sock.bind({ address: to.localAddress ?? (to.family === 6 ? '::' : '0.0.0.0'), port: to.localPort ?? 0 }, go);
    else go();
  } catch (e) {
    queueMicrotask(() => end('failed', errorDetail(e as NodeJS.ErrnoException)));
  }
  return () => {
    finished = true;
    try { sock.close(); } catch { /* closed */ }
  };
}

const UDP_WORDS: L4Wording = {
  success: (n) => `UDP connection to ${n} success.`,
  failedAfter: (n, r) => `UDP_CHECK on service ${n} failed after ${r} retries.`,
  failed: (n) => `UDP_CHECK on service ${n} failed.`,
  logAll: (n, _o, d) => (d === 'reply data mismatch' ? `UDP check to ${n} reply data mismatch.` : `UDP connection to ${n} failed.`),
};

/** check_udp.c:232-255: the reply's length and bytes against the pattern; true = it matches. */
export function udpReplyMatches(reply: Buffer, c: Pick<UdpCheck, 'minReplyLength' | 'maxReplyLength' | 'replyData' | 'replyMask'>): boolean {
  if (reply.length < c.minReplyLength || reply.length > c.maxReplyLength) return false;
  const data = c.replyData;
  if (!data) return true;
  const n = Math.min(reply.length, data.length);
  for (let i = 0; i < n; i++) {
    const mask = c.replyMask ? ~c.replyMask[i]! & 0xff : 0xff;
    if ((reply[i]! ^ data[i]!) & mask) return false;
  }
  return true;
}

export class UdpChecker implements CheckerRuntime {
  readonly type = 'UDP_CHECK' as const;
  readonly target: string;
  readonly timeoutMs: number;
  readonly curWeight = 0;
  /** Without require_reply, silence until the timeout is a success (layer4.c:425-426). */
  readonly timeoutOutcome: Outcome;
  lastActivity = 0;
  private st: RetryState;
  private readonly to: ReturnType<typeof probeTarget>;
  private readonly payload: Buffer;

  constructor(readonly check: UdpCheck, private readonly ctx: Ctx) {
    this.to = probeTarget(check, ctx.rs);
    this.target = `[${this.to.host}]:udp:${this.to.port}`;
    this.timeoutMs = check.connectTimeout * 1000;
    this.timeoutOutcome = check.requireReply ? 'timeout' : 'success';
    this.payload = check.payload ? Buffer.from(check.payload) : UDP_FILLER;
    this.st = initialRetryState(check.alpha ?? ctx.rs.alpha, check.retry);
  }

  get up(): boolean {
    return this.st.up;
  }

  start(done: AttemptDone): () => void {
    let mismatch = false;
    return datagram(this.to, this.payload, (m) => {
      // Without require_reply any datagram back is a success (layer4.c:437-441).
      if (!this.check.requireReply) return true;
      // The lengths and bytes are compared only against a reply pattern (check_udp.c:268).
      if (this.check.replyData && !udpReplyMatches(m, this.check)) mismatch = true;
      return true;
    }, (o, d) => done(mismatch ? 'failed' : o, mismatch ? 'reply data mismatch' : d), (e) => e.code ?? e.message);
  }

  timeoutDetail(): string {
    return this.check.requireReply ? 'no reply' : 'no ICMP error';
  }

  result(outcome: Outcome, detail: string): CheckStep {
    return l4Step(UDP_WORDS, this.check, this.st, outcome, detail, this.ctx.rsName, this.ctx.logAll);
  }

  resume(up: boolean): void {
    this.st = { up, hasRun: true, retryIt: 0 };
  }
}

export class DnsChecker implements CheckerRuntime {
  readonly type = 'DNS_CHECK' as const;
  readonly target: string;
  readonly timeoutMs: number;
  readonly curWeight = 0;
  lastActivity = 0;
  private isUp: boolean;
  private hasRun = false;
  private retryIt: number;
  private readonly to: ReturnType<typeof probeTarget>;

  constructor(readonly check: DnsCheck, private readonly ctx: Ctx) {
    this.to = probeTarget(check, ctx.rs);
    this.target = `[${this.to.host}]:udp:${this.to.port} ${check.dnsType} ${check.dnsName}`;
    this.timeoutMs = check.connectTimeout * 1000;
    this.isUp = !(check.alpha ?? ctx.rs.alpha);
    this.retryIt = check.retry;
  }

  get up(): boolean {
    return this.isUp;
  }

  start(done: AttemptDone): () => void {
    const id = (Math.random() * 0x10000) | 0;
    let verdict: string | null = null;
    return datagram(this.to, dnsQuery(id, this.check.dnsName, this.check.dnsType), (m) => {
      const v = readDnsAnswer(m, id, this.check.dnsType);
      if (v.kind === 'ignore') return false;
      if (v.kind === 'fail') verdict = v.detail;
      return true;
    }, (o, d) => (verdict !== null ? done('failed', verdict) : done(o, d)), (e) => {
      // check_dns.c:191-194.
      if (e.code === 'ENETUNREACH' || e.code === 'EHOSTUNREACH') return `network unreachable for [${this.to.host}]:${this.to.port}`;
      const errno = typeof e.errno === 'number' ? Math.abs(e.errno) : 0;
      return `failed to read socket; errno ${errno} (${e.code === 'ECONNREFUSED' ? 'Connection refused' : e.message})`;
    });
  }

  timeoutDetail(): string {
    return 'read timeout from socket';
  }

  result(outcome: Outcome, detail: string): CheckStep {
    const logs: string[] = [];
    let change: CheckStep['change'] = null;
    if (outcome !== 'success') {
      if (this.isUp || !this.hasRun) {
        if (this.ctx.logAll || this.retryIt >= this.check.retry) {
          const suffix = this.hasRun && this.retryIt >= this.check.retry ? ` after ${this.check.retry} retries` : '';
          logs.push(`DNS_CHECK (${this.ctx.rsName}) ${detail}${suffix}`);
        }
        if (this.retryIt < this.check.retry) {
          this.retryIt++;
          this.hasRun = true;
          return { delay: this.check.delayBeforeRetry, change, logs };
        }
        change = this.isUp ? 'down' : this.hasRun ? null : 'initial-down';
        this.isUp = false;
        this.hasRun = true;
      }
    } else if (!this.isUp || !this.hasRun) {
      if (!this.isUp) change = 'up';
      this.isUp = true;
      this.hasRun = true;
    }
    this.retryIt = 0;
    return { delay: this.check.delayLoop, change, logs };
  }

  resume(up: boolean): void {
    this.isUp = up;
    this.hasRun = true;
    this.retryIt = 0;
  }
}
