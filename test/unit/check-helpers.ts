// Shared pieces of the checker tests: checker configs, a driver that runs one attempt the way the
// engine does (with its inactivity timeout), and loopback servers.
import { createServer, type Server, type Socket } from 'node:net';
import type { CheckerRuntime, Outcome } from '../../src/check/checker.js';
import type { CheckerBase, ConnOpts, HttpCheck, HttpUrl, RealServer, VirtualServer } from '../../src/config/model.js';
import { realServer, virtualServer } from './ipvs-fixtures.js';

export const loc = { file: 'k.conf', line: 1 };

export function base(over: Partial<CheckerBase> = {}): CheckerBase {
  return { connectTimeout: 1, retry: 1, delayBeforeRetry: 1, delayLoop: 1, warmup: null, alpha: null, logAllFailures: false, loc, ...over };
}

export function conn(over: Partial<ConnOpts> = {}): ConnOpts {
  return { connectIp: null, connectPort: null, bindto: null, bindPort: null, bindIf: null, fwmark: null, ...over };
}

export function url(path = '/', over: Partial<HttpUrl> = {}): HttpUrl {
  return { path, digest: null, statusCodes: [[200, 299]], virtualhost: null, regex: null, tlsCompliant: false, ...over };
}

export function httpCheck(urls: HttpUrl[], over: Partial<HttpCheck> = {}): HttpCheck {
  return {
    type: 'HTTP_GET', ...base(), ...conn(), urls, httpProtocol: '1.0', virtualhost: null, enableSni: false, sniName: null,
    fastRecovery: false, tlsCompliant: false, ...over,
  };
}

export function rsAt(port: number, over: Partial<RealServer> = {}): RealServer {
  return realServer('127.0.0.1', port, over);
}

export function vsOf(rs: RealServer[], over: Partial<VirtualServer> = {}): VirtualServer {
  return virtualServer('10.0.0.100', 80, { realServers: rs, ...over });
}

export const clock = { now: () => performance.now() };

/** One attempt as the engine runs it: done, or aborted after timeoutMs without progress. */
export function attempt(rt: CheckerRuntime): Promise<{ outcome: Outcome; detail: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | null = null;
    rt.lastActivity = clock.now();
    const abort = rt.start((outcome, detail) => {
      if (timer) clearTimeout(timer);
      resolve({ outcome, detail, ms: performance.now() - t0 });
    });
    const arm = (ms: number): void => {
      timer = setTimeout(() => {
        const idle = clock.now() - rt.lastActivity;
        if (rt.timeoutMs !== null && idle < rt.timeoutMs) return arm(rt.timeoutMs - idle);
        const detail = rt.timeoutDetail();
        abort();
        resolve({ outcome: rt.timeoutOutcome ?? 'timeout', detail, ms: performance.now() - t0 });
      }, ms);
    };
    if (rt.timeoutMs !== null) arm(rt.timeoutMs);
  });
}

/** Attempt, then feed the result to the runtime's retry logic. */
export async function check(rt: CheckerRuntime): Promise<{ outcome: Outcome; detail: string; logs: string[]; change: string | null; delay: number; up: boolean }> {
  const a = await attempt(rt);
  const step = rt.result(a.outcome, a.detail);
  return { outcome: a.outcome, detail: a.detail, logs: step.logs, change: step.change, delay: step.delay, up: rt.up };
}

export interface RawServer {
  server: Server;
  port: number;
  /** Requests as received (the text up to the blank line). */
  requests: string[];
  close(): Promise<void>;
}

/** A TCP server on 127.0.0.1 that answers each request with `respond` (raw bytes, as written). */
export async function rawHttpServer(respond: (req: string, sock: Socket) => void): Promise<RawServer> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const req = buf.slice(0, end + 4);
      buf = '';
      requests.push(req);
      respond(req, sock);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    server, port, requests,
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

export const respond = (status: string, body: string | Buffer, headers: Record<string, string> = {}) => (_req: string, sock: Socket): void => {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  const h = { 'Content-Length': String(b.length), ...headers };
  sock.end(Buffer.concat([Buffer.from(`HTTP/1.0 ${status}\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`), b]));
};

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
