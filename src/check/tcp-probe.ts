// One non-blocking TCP connect: success once the handshake completes (the connection is closed
// right away), failure on any socket error. The caller owns the timeout (the engine keeps all
// timers on one heap) and aborts a probe that takes longer than connect_timeout; probeWithTimeout
// does that with a plain timer. Nothing here blocks; many probes run side by side.
//
// Two implementations, both on public APIs. The addon's probe (native/src/checker.c) drives a
// libuv TCP handle directly, skipping the stream and event machinery a connect-and-close never
// uses; net.Socket is the fallback when the addon is missing or predates the probe (or when
// HAKEEP_TCP_PROBE=socket). CPU per probe, 10,000 probes against a local accept-and-close
// server: docs/ipvs.md.
import { Socket } from 'node:net';
import { getSystemErrorName } from 'node:util';
import { native } from '../net/native.js';
import type { ProbeOutcome } from './tcp-checker.js';

export interface ProbeTarget {
  host: string;
  port: number;
  family: 4 | 6;
  localAddress?: string;
  localPort?: number;
}

/** Starts a probe; `done` is called exactly once unless the returned abort function runs first. */
export type Probe = (target: ProbeTarget, done: (outcome: 'success' | 'failed', detail: string) => void) => () => void;

/** A probe with its own timer: 'timeout' when no answer within timeoutMs. */
export function probeWithTimeout(
  probe: Probe, target: ProbeTarget, timeoutMs: number, done: (outcome: ProbeOutcome, detail: string) => void,
): () => void {
  const timer = setTimeout(() => {
    abort();
    done('timeout', `no answer within ${timeoutMs} ms`);
  }, timeoutMs);
  const abort = probe(target, (outcome, detail) => {
    clearTimeout(timer);
    done(outcome, detail);
  });
  return () => {
    clearTimeout(timer);
    abort();
  };
}

function errName(code: number): string {
  try {
    return getSystemErrorName(code);
  } catch {
    return `error ${code}`;
  }
}

/** The portable probe on net.Socket. */
export const socketProbe: Probe = (target, done) => {
  const sock = new Socket();
  let finished = false;
  const finish = (outcome: 'success' | 'failed', detail: string): void => {
    if (finished) return;
    finished = true;
    sock.destroy();
    done(outcome, detail);
  };
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
    sock.destroy();
  };
};

type TcpConnect = (host: string, port: number, family: 4 | 6, localAddress: string | null, localPort: number,
  done: (status: number) => void) => number;

function makeNativeProbe(connect: TcpConnect, abortId: (id: number) => void): Probe {
  return (target, done) => {
    const id = connect(target.host, target.port, target.family, target.localAddress ?? null, target.localPort ?? 0,
      (status) => (status === 0 ? done('success', 'connected') : done('failed', errName(status))));
    if (id < 0) {
      // Failed at once (bad address, bind refused): report it like a failed connect, later.
      let aborted = false;
      queueMicrotask(() => { if (!aborted) done('failed', errName(id)); });
      return () => { aborted = true; };
    }
    return () => abortId(id);
  };
}

function loadNativeProbe(): Probe | null {
  if (process.env.HAKEEP_TCP_PROBE === 'socket') return null;
  try {
    const a = native();
    if (typeof a.tcpConnect !== 'function' || typeof a.tcpConnectAbort !== 'function') return null;
    return makeNativeProbe(a.tcpConnect.bind(a), a.tcpConnectAbort.bind(a));
  } catch {
    return null;
  }
}

/** The addon's libuv probe, or null when the addon is missing, too old, or HAKEEP_TCP_PROBE=socket. */
export const nativeProbe: Probe | null = loadNativeProbe();

/**
 * The addon's batched probe (checker.c tcpTarget/tcpConnectTarget/tcpBatch), what TCP_CHECK uses
 * with the real probe: a target's addresses are parsed once, a probe allocates nothing in
 * JavaScript, and completions come back in one call per event-loop turn instead of one per probe.
 */
export interface BatchedTcp {
  /** Register a target; a negative libuv error code when its address does not parse. */
  target(t: ProbeTarget): number;
  /** A token whose completions go to `cb` (status 0 = connected, else a negative libuv code). */
  token(cb: (status: number) => void): number;
  /** Start a probe: its id for abort, or a negative libuv error code (then `cb` never runs). */
  connect(target: number, token: number): number;
  abort(id: number): void;
  /** Drop a token's receiver (its checker is gone): a completion still in flight for it is ignored. */
  release(token: number): void;
  /** Tokens with a receiver (diagnosis, tests). */
  live(): number;
  /** Wrap each delivery of completions (null: none), so its receivers can share one clock read. */
  setScope(scope: ((deliver: () => void) => void) | null): void;
}

function loadBatched(): BatchedTcp | null {
  if (!nativeProbe) return null;
  try {
    const a = native();
    if (typeof a.tcpBatch !== 'function' || typeof a.tcpTarget !== 'function' || typeof a.tcpConnectTarget !== 'function') return null;
    // Tokens are never reused: a completion recorded in this loop turn but not yet handed over
    // could otherwise reach the next owner of a released token. A released one costs its slot.
    const handlers: (((status: number) => void) | undefined)[] = [];
    let live = 0;
    // Targets by address: a checker restarted by a reload gets its real server's target again
    // (the addon keeps every target it parsed for the life of the process).
    const targets = new Map<string, number>();
    let view = new Int32Array(0);
    let scope: ((deliver: () => void) => void) | null = null;
    let count = 0;
    const deliver = (): void => {
      for (let i = 0; i < count; i++) handlers[view[2 * i]!]?.(view[2 * i + 1]!);
    };
    view = new Int32Array(a.tcpBatch((n) => {
      count = n;
      if (scope) scope(deliver);
      else deliver();
    }));
    const connect = a.tcpConnectTarget.bind(a);
    const abort = a.tcpConnectAbort!.bind(a);
    return {
      target: (t) => {
        const key = `${t.host}|${t.port}|${t.family}|${t.localAddress ?? ''}|${t.localPort ?? 0}`;
        let id = targets.get(key);
        if (id === undefined) {
          id = a.tcpTarget!(t.host, t.port, t.family, t.localAddress ?? null, t.localPort ?? 0);
          if (id >= 0) targets.set(key, id);
        }
        return id;
      },
      token: (cb) => {
        live++;
        return handlers.push(cb) - 1;
      },
      release: (token) => {
        if (handlers[token] === undefined) return;
        handlers[token] = undefined;
        live--;
      },
      live: () => live,
      connect,
      abort,
      setScope: (s) => { scope = s; },
    };
  } catch {
    return null;
  }
}

/** Null when the addon lacks it (built before it existed) or the probe is net.Socket. */
export const batchedTcp: BatchedTcp | null = loadBatched();

/** A libuv error code's name (ECONNREFUSED …). */
export function probeErrorName(code: number): string {
  return errName(code);
}

/** Which implementation tcpProbe uses here. */
export const tcpProbeKind: 'native' | 'net.Socket' = nativeProbe ? 'native' : 'net.Socket';

export const tcpProbe: Probe = nativeProbe ?? socketProbe;
