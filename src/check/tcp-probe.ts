// One non-blocking TCP connect with a timeout: success once the handshake completes (the
// connection is closed right away), failure on any socket error, timeout when it takes longer
// than connect_timeout. Nothing here blocks; many probes run side by side.
import { Socket } from 'node:net';
import type { ProbeOutcome } from './tcp-checker.js';

export interface ProbeTarget {
  host: string;
  port: number;
  family: 4 | 6;
  localAddress?: string;
  localPort?: number;
}

/** Starts a probe; `done` is called exactly once unless the returned abort function runs first. */
export type Probe = (target: ProbeTarget, timeoutMs: number, done: (outcome: ProbeOutcome, detail: string) => void) => () => void;

export const tcpProbe: Probe = (target, timeoutMs, done) => {
  const sock = new Socket();
  let finished = false;
  const finish = (outcome: ProbeOutcome, detail: string): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    sock.destroy();
    done(outcome, detail);
  };
  const timer = setTimeout(() => finish('timeout', `no answer within ${timeoutMs} ms`), timeoutMs);
  sock.once('connect', () => finish('success', 'connected'));
  sock.once('error', (e: NodeJS.ErrnoException) => finish('failed', e.code ?? e.message));
  try {
    sock.connect({
      host: target.host, port: target.port, family: target.family,
      ...(target.localAddress ? { localAddress: target.localAddress } : {}),
      ...(target.localPort ? { localPort: target.localPort } : {}),
    });
  } catch (e) {
    // Invalid arguments (a bad bindto) throw synchronously; report them like a failed connect.
    queueMicrotask(() => finish('failed', (e as Error).message));
  }
  return () => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    sock.destroy();
  };
};
