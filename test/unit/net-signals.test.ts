// Signal watching in the addon (libuv uv_signal_t): realtime signals, which process.on cannot
// name, reach their callback on the main loop; an ignored one does nothing; an exception thrown
// by a callback takes Node's normal uncaughtException path. Each case runs in a child node
// process that loads the addon directly and prints one JSON line per thing it sees.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { NATIVE_ADDON_PATH } from '../../src/net/native.js';

interface Child {
  proc: ChildProcess;
  lines: Array<Record<string, unknown>>;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: ChildProcess[] = [];

function requireAddon(): void {
  if (!existsSync(NATIVE_ADDON_PATH)) {
    throw new Error(`native addon ${NATIVE_ADDON_PATH} not built: run npm install (needs python3 make g++)`);
  }
}

function start(code: string): Child {
  requireAddon();
  const proc = spawn(process.execPath, ['--input-type=commonjs', '-e', code], {
    env: { ...process.env, HAKEEP_ADDON: NATIVE_ADDON_PATH },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(proc);
  const lines: Array<Record<string, unknown>> = [];
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8');
  proc.stderr!.setEncoding('utf8');
  proc.stdout!.on('data', (d: string) => {
    out += d;
    let nl: number;
    while ((nl = out.indexOf('\n')) !== -1) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ raw: line });
      }
    }
  });
  proc.stderr!.on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { proc, lines, stderr: () => err, exited };
}

async function waitFor(what: string, c: Child, fn: () => boolean, timeoutMs = 5000): Promise<void> {
  const t0 = Date.now();
  while (!fn()) {
    if (c.proc.exitCode !== null || c.proc.signalCode !== null) {
      throw new Error(`child exited (${c.proc.exitCode ?? c.proc.signalCode}) while waiting for ${what}: ${JSON.stringify(c.lines)} ${c.stderr()}`);
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${JSON.stringify(c.lines)} ${c.stderr()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const alive = (c: Child): boolean => c.proc.exitCode === null && c.proc.signalCode === null;
const count = (c: Child, key: string, n: number): number => c.lines.filter((l) => l[key] === n).length;

afterAll(() => {
  for (const p of children) {
    if (p.exitCode === null && p.signalCode === null && p.pid) {
      try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
    }
  }
});

const WATCHER = `
const a = require(process.env.HAKEEP_ADDON);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const { SIGRTMIN, SIGRTMAX } = a.signalNumbers();
const watched = [SIGRTMIN + 2, SIGRTMAX - 1];
for (const n of watched) a.signalWatch(n, (s) => out({ got: n, arg: s }));
a.signalIgnore(SIGRTMIN + 3);
// Ignored, then watched and unwatched: libuv resets to SIG_DFL on close; the addon must put the
// ignore back.
a.signalIgnore(SIGRTMIN + 4);
a.signalWatch(SIGRTMIN + 4, () => out({ unexpected: SIGRTMIN + 4 })).close();
// A closed watch is not called, and close() twice is harmless.
const w = a.signalWatch(SIGRTMIN + 5, () => out({ unexpected: SIGRTMIN + 5 }));
w.close(); w.close();
a.signalIgnore(SIGRTMIN + 5);
let bad = '';
for (const [what, f] of [['signum 0', () => a.signalWatch(0, () => {})], ['SIGKILL', () => a.signalWatch(9, () => {})],
                         ['no callback', () => a.signalWatch(10)], ['signum 65', () => a.signalIgnore(65)]]) {
  try { f(); bad += what + ' accepted; '; } catch (e) { out({ rejected: what, code: e.code ?? e.name }); }
}
setInterval(() => {}, 1000); // the watches, like process.on('SIG…'), do not keep the loop alive
out({ ready: true, SIGRTMIN, SIGRTMAX, bad });
`;

describe('signalWatch / signalIgnore / signalNumbers', () => {
  it('realtime signals reach their callback, every time; ignored ones do not kill', async () => {
    const c = start(WATCHER);
    await waitFor('ready', c, () => c.lines.some((l) => l.ready));
    const ready = c.lines.find((l) => l.ready)!;
    expect(ready.bad).toBe('');
    const RTMIN = ready.SIGRTMIN as number;
    const RTMAX = ready.SIGRTMAX as number;
    expect(RTMIN).toBe(34); // glibc
    expect(RTMAX).toBe(64);
    expect(c.lines.filter((l) => l.rejected).map((l) => l.rejected)).toEqual(['signum 0', 'SIGKILL', 'no callback', 'signum 65']);

    const pid = c.proc.pid!;
    for (const n of [RTMIN + 2, RTMAX - 1]) {
      // One at a time, each waited for: deliveries that arrive together may be coalesced.
      for (let i = 1; i <= 5; i++) {
        process.kill(pid, n);
        await waitFor(`delivery ${i} of signal ${n}`, c, () => count(c, 'got', n) >= i);
      }
      expect(count(c, 'got', n)).toBe(5);
      expect(c.lines.filter((l) => l.got === n).every((l) => l.arg === n)).toBe(true);
    }

    // A burst: at least one delivery, and the process survives it.
    const before = count(c, 'got', RTMIN + 2);
    for (let i = 0; i < 20; i++) process.kill(pid, RTMIN + 2);
    await waitFor('the burst', c, () => count(c, 'got', RTMIN + 2) > before);

    for (const n of [RTMIN + 3, RTMIN + 4, RTMIN + 5]) for (let i = 0; i < 3; i++) process.kill(pid, n);
    // Signals are delivered in order of number for realtime signals; one more watched signal
    // afterwards proves the ignored ones have been delivered (and survived).
    const last = count(c, 'got', RTMAX - 1);
    process.kill(pid, RTMAX - 1);
    await waitFor('a watched signal after the ignored ones', c, () => count(c, 'got', RTMAX - 1) > last);
    await new Promise((r) => setTimeout(r, 100));
    expect(alive(c)).toBe(true);
    expect(c.lines.filter((l) => l.unexpected)).toEqual([]);

    // Control: an RT signal neither watched nor ignored kills (SIG_DFL), which is why the ignore matters.
    process.kill(pid, RTMIN + 6);
    const end = await Promise.race([c.exited, new Promise<null>((r) => setTimeout(() => r(null), 5000))]);
    // The child never exits by itself (setInterval); Node reports a death by a signal it has no
    // name for (any realtime one) as exit code 0 and signal null, so "it ended" is the check.
    expect(end, 'the child survived an unwatched, unignored realtime signal').not.toBeNull();
    expect(c.lines.filter((l) => l.unexpected)).toEqual([]);
  });

  it('an exception in a signal callback goes to process.on("uncaughtException"); the watch goes on', async () => {
    const c = start(`
      const a = require(process.env.HAKEEP_ADDON);
      const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
      const n = a.signalNumbers().SIGRTMIN + 2;
      let k = 0;
      process.on('uncaughtException', (e) => out({ uncaught: e.message }));
      a.signalWatch(n, () => { k++; out({ got: k }); throw new Error('boom ' + k); });
      setInterval(() => {}, 1000);
      out({ ready: true, n });
    `);
    await waitFor('ready', c, () => c.lines.some((l) => l.ready));
    const n = c.lines.find((l) => l.ready)!.n as number;
    for (let i = 1; i <= 3; i++) {
      process.kill(c.proc.pid!, n);
      await waitFor(`uncaught ${i}`, c, () => c.lines.some((l) => l.uncaught === `boom ${i}`));
    }
    expect(alive(c)).toBe(true);
  });

  it('without an uncaughtException handler, the exception ends the process as any uncaught one (exit 1, stack on stderr)', async () => {
    const c = start(`
      const a = require(process.env.HAKEEP_ADDON);
      const n = a.signalNumbers().SIGRTMIN + 2;
      a.signalWatch(n, () => { throw new Error('unhandled in signal callback'); });
      setInterval(() => {}, 1000);
      process.stdout.write(JSON.stringify({ ready: true, n }) + '\\n');
    `);
    await waitFor('ready', c, () => c.lines.some((l) => l.ready));
    process.kill(c.proc.pid!, c.lines.find((l) => l.ready)!.n as number);
    const end = await Promise.race([c.exited, new Promise<null>((r) => setTimeout(() => r(null), 5000))]);
    expect(end).toEqual({ code: 1, signal: null });
    expect(c.stderr()).toContain('unhandled in signal callback');
  });

  it('a worker thread that exits with open watches and an open rtnetlink monitor tears down cleanly', async () => {
    const c = start(`
      const { Worker } = require('node:worker_threads');
      const w = new Worker(\`
        const a = require(process.env.HAKEEP_ADDON);
        a.signalWatch(a.signalNumbers().SIGRTMIN + 7, () => {});
        a.rtnlMonitor(() => {}, () => {});
        require('node:worker_threads').parentPort.postMessage('open');
        setTimeout(() => process.exit(0), 50);
      \`, { eval: true, env: process.env });
      w.on('message', (m) => process.stdout.write(JSON.stringify({ worker: m }) + '\\n'));
      w.on('error', (e) => process.stdout.write(JSON.stringify({ workerError: e.message }) + '\\n'));
      w.on('exit', (code) => { process.stdout.write(JSON.stringify({ workerExit: code }) + '\\n'); });
    `);
    const end = await Promise.race([c.exited, new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
    expect(end, `${JSON.stringify(c.lines)} ${c.stderr()}`).toEqual({ code: 0, signal: null });
    expect(c.lines).toEqual([{ worker: 'open' }, { workerExit: 0 }]);
  });
});
