// A long-lived `ipvsadm -R` that hakeep feeds batches on stdin, instead of starting ipvsadm for
// every change. Starting a process is the slow part of a change (about 100 ms on an idle VM and
// several hundred under checker load), while a running ipvsadm applies a batch in a few ms, which
// keeps the time from a failed check to its removal close to keepalived's in-process netlink calls.
//
// ipvsadm -R reads one command per line and carries on after kernel errors. Each batch is followed
// by `-L --timeout`, whose one line of output ("Timeout (tcp tcpfin udp): …") can come from nothing
// else: everything before it is the batch's own output (errors, or the table for `-S -n`).
// stdbuf makes ipvsadm's stdout line-buffered, and stderr is merged into stdout so the order holds.
// Without stdbuf, or if the session cannot start, each call falls back to a fresh ipvsadm.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { IpvsBackend, IpvsadmOptions } from './ipvsadm.js';
import { IpvsadmError, ipvsadmBackend } from './ipvsadm.js';
import { procIpvsFingerprint } from './proc-fingerprint.js';

const SENTINEL_TEXT = 'Timeout (tcp tcpfin udp):';

interface Pending {
  command: string;
  resolve: (out: string) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export interface SessionBackend extends IpvsBackend {
  /** End the long-lived ipvsadm (on stop). */
  close(): void;
  /** How calls are served now: through the session, or one ipvsadm per call. */
  mode(): 'session' | 'spawn';
}

export function ipvsadmSessionBackend(opts: IpvsadmOptions & { onFallback?: (why: string) => void } = {}): SessionBackend {
  const path = opts.path ?? 'ipvsadm';
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const fallback = ipvsadmBackend(opts);
  let child: ChildProcessWithoutNullStreams | null = null;
  let buf = '';
  /** Where to resume looking for the sentinel: a 10,000-line table arrives in many small reads. */
  let scanFrom = 0;
  let pending: Pending | null = null;
  let queue: Promise<unknown> = Promise.resolve();
  let useSpawn = false;
  let answeredOnce = false;

  const fail = (e: Error): void => {
    const p = pending;
    pending = null;
    if (p) {
      clearTimeout(p.timer);
      p.reject(e);
    }
  };

  const start = (): ChildProcessWithoutNullStreams => {
    buf = '';
    scanFrom = 0;
    answeredOnce = false;
    const c = spawn('/bin/sh', ['-c', 'exec stdbuf -oL -eL "$0" -R 2>&1', path], { stdio: ['pipe', 'pipe', 'pipe'] });
    c.stdout.setEncoding('utf8');
    c.stdout.on('data', (d: string) => {
      buf += d;
      if (!pending) return;
      // Only complete lines can hold the sentinel; start at the line the last read ended in.
      const start = buf.lastIndexOf('\n', scanFrom - 1) + 1;
      scanFrom = buf.length;
      let idx = buf.indexOf(SENTINEL_TEXT, start);
      while (idx > 0 && buf[idx - 1] !== '\n') idx = buf.indexOf(SENTINEL_TEXT, idx + 1);
      if (idx === -1) return;
      const end = buf.indexOf('\n', idx);
      if (end === -1) {
        scanFrom = idx;
        return;
      }
      const out = buf.slice(0, idx);
      buf = buf.slice(end + 1);
      scanFrom = 0;
      const p = pending;
      pending = null;
      answeredOnce = true;
      clearTimeout(p.timer);
      p.resolve(out);
    });
    c.stderr.on('data', (d: Buffer) => { buf += d.toString(); });
    c.stdin.on('error', () => undefined); // reported by the exit handler
    c.on('error', (e) => fail(new IpvsadmError(`${path} -R`, '', null, `cannot start ${path} -R: ${e.message}`)));
    c.on('close', (code, signal) => {
      if (child === c) child = null;
      const out = buf.trim();
      buf = '';
      if (!answeredOnce && code === 127 && /stdbuf/.test(out) && !/failed to run command/.test(out)) {
        useSpawn = true;
        opts.onFallback?.(`stdbuf is not available (${out}); running one ipvsadm per change instead`);
      }
      const missing = /failed to run command/.test(out) && /No such file/.test(out);
      const msg = missing
        ? `${path} not found: install ipvsadm (apt-get install ipvsadm) or put it in PATH`
        : `${path} -R exited (${signal ?? `code ${code}`}): ${out}`;
      fail(new IpvsadmError(`${path} -R`, out, code, msg));
    });
    return c;
  };

  const ask = (command: string, input: string): Promise<string> => {
    const run = (): Promise<string> => new Promise<string>((resolve, reject) => {
      child ??= start();
      const c = child;
      const timer = setTimeout(() => {
        fail(new IpvsadmError(command, buf.trim(), null, `${command} did not answer within ${timeoutMs} ms; restarting it`));
        c.kill('SIGKILL');
      }, timeoutMs);
      pending = { command, resolve, reject, timer };
      c.stdin.write(`${input}-L --timeout\n`);
    });
    const p = queue.then(run, run);
    queue = p.catch(() => undefined);
    return p;
  };

  return {
    async save() {
      if (useSpawn) return fallback.save();
      return ask(`${path} -S -n (session)`, '-S -n\n');
    },
    async restore(lines) {
      if (useSpawn) return fallback.restore(lines);
      const command = `${path} -R (session)`;
      const out = (await ask(command, lines.join('\n') + '\n')).trim();
      if (out !== '') throw new IpvsadmError(command, out, null, `${command} failed: ${out}`);
    },
    close() {
      const c = child;
      child = null;
      if (c) {
        c.stdin.end();
        setTimeout(() => c.kill('SIGKILL'), 2000).unref();
      }
    },
    mode() {
      return useSpawn ? 'spawn' : 'session';
    },
  };
}

/**
 * Batches go through the long-lived session (latency matters there); table reads run a separate
 * `ipvsadm -S -n`, whose fully buffered output is cheaper than the session's line-by-line output
 * and never holds up a batch. /proc/net/ip_vs tells whether a re-read is needed at all.
 */
export function ipvsadmBackendPair(opts: IpvsadmOptions & { onFallback?: (why: string) => void } = {}): IpvsBackend {
  const reader = ipvsadmBackend(opts);
  const writer = ipvsadmSessionBackend(opts);
  return {
    // Reads always use a separate `ipvsadm -S -n`: reading through the session raced with batches
    // in the UML test ("Service not defined" from a batch planned on a short read).
    save: () => reader.save(),
    restore: (batch) => writer.restore(batch),
    close: () => writer.close(),
    fingerprint: () => procIpvsFingerprint(),
  };
}
