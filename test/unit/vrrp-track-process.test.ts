// vrrp_track_process: keepalived's matching rules, quorum and delays (fake /proc and fake events
// with a fake clock), then real processes through the kernel's process events connector and
// through the /proc polling fallback.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/daemon/log.js';
import { parseConfigText } from '../../src/config/load.js';
import type { VrrpTrackProcess } from '../../src/config/model.js';
import { native } from '../../src/net/native.js';
import { processMatches, startTrackers, type TrackerSink, type TrackerTimers } from '../../src/vrrp/trackers/index.js';
import { paramsMatch } from '../../src/vrrp/trackers/process-match.js';
import { ProcessTracker } from '../../src/vrrp/trackers/process.js';
import type { TrackerContext } from '../../src/vrrp/trackers/types.js';

class Sink implements TrackerSink {
  weights = new Map<string, number>();
  faults = new Map<string, string>();
  setWeight(i: string, k: string, w: number): void { if (w === 0) this.weights.delete(`${i} ${k}`); else this.weights.set(`${i} ${k}`, w); }
  setFault(i: string, src: string, subj: string, d: string): void { this.faults.set(`${i} ${src}:${subj}`, d); }
  clearFault(i: string, src: string, subj: string): void { this.faults.delete(`${i} ${src}:${subj}`); }
}

class FakeTime implements TrackerTimers {
  now = 0;
  private seq = 0;
  private q: Array<{ at: number; id: number; fn: () => void }> = [];
  setTimeout(fn: () => void, ms: number): unknown {
    this.q.push({ at: this.now + ms, id: ++this.seq, fn });
    return this.seq;
  }
  clearTimeout(h: unknown): void { this.q = this.q.filter((t) => t.id !== h); }
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      this.q.sort((a, b) => a.at - b.at || a.id - b.id);
      const t = this.q[0];
      if (!t || t.at > end) break;
      this.q.shift();
      this.now = t.at;
      t.fn();
    }
    this.now = end;
  }
}

const lines: string[] = [];
const log = createLogger({ level: 'debug', destination: { write: (l: string) => { lines.push(String(JSON.parse(l).msg)); } } });
const tmp: string[] = [];
const kids: ChildProcess[] = [];
afterEach(() => {
  for (const k of kids.splice(0)) k.kill('SIGKILL');
});
afterAll(() => {
  for (const d of tmp.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const def = (over: Partial<VrrpTrackProcess>): VrrpTrackProcess => ({
  name: 'p', loc: { file: 't', line: 1 }, process: 'x', params: [], paramMatch: 'none', fullCommand: false,
  quorum: 1, quorumMax: 4_294_967_295, forkDelay: 0, terminateDelay: 0, weight: 0, weightReverse: false, ...over,
});
const cmd = (...argv: string[]): Buffer => Buffer.from(argv.map((a) => `${a}\0`).join(''));

describe('matching (track_process.c check_params)', () => {
  it('without full_command the process name (comm) must be equal, never a substring', () => {
    expect(processMatches(def({ process: 'nginx' }), 'nginx', null)).toBe(true);
    expect(processMatches(def({ process: 'ssh' }), 'sshd', null)).toBe(false);
    expect(processMatches(def({ process: 'nginx' }), null, null)).toBe(false);
  });
  it('full_command compares argv[0]; parameters exact, partial, initial', () => {
    const full = def({ process: '/usr/sbin/haproxy', fullCommand: true });
    expect(processMatches(full, null, cmd('/usr/sbin/haproxy', '-f', 'x'))).toBe(true);
    expect(processMatches(full, null, cmd('haproxy'))).toBe(false);
    const exact = { params: ['-f', 'conf'], paramMatch: 'exact' as const };
    expect(paramsMatch(exact, cmd('-f', 'conf'))).toBe(true);
    expect(paramsMatch(exact, cmd('-f', 'conf', '-d'))).toBe(false);
    expect(paramsMatch(exact, cmd('-f'))).toBe(false);
    expect(paramsMatch({ params: [], paramMatch: 'exact' }, Buffer.alloc(0))).toBe(true);
    expect(paramsMatch({ params: [], paramMatch: 'exact' }, cmd('-d'))).toBe(false);
    const partial = { params: ['-f', 'conf'], paramMatch: 'partial' as const };
    expect(paramsMatch(partial, cmd('-f', 'conf', '-d'))).toBe(true);
    expect(paramsMatch(partial, cmd('-f', 'confx'))).toBe(false);
    const initial = { params: ['-f', 'conf'], paramMatch: 'initial' as const };
    expect(paramsMatch(initial, cmd('-f', 'confx'))).toBe(true);
    expect(paramsMatch(initial, cmd('-f', 'cxnf'))).toBe(false);
  });
});

/** A fake /proc with processes by pid: name (comm) and argv. */
function fakeProc(procs: Record<number, { comm: string; argv: string[]; zombie?: boolean }>): string {
  const root = mkdtempSync(join(tmpdir(), 'hakeep-fakeproc-'));
  tmp.push(root);
  for (const [pid, p] of Object.entries(procs)) setProc(root, Number(pid), p);
  return root;
}
function setProc(root: string, pid: number, p: { comm: string; argv: string[]; zombie?: boolean }): void {
  mkdirSync(join(root, String(pid)), { recursive: true });
  writeFileSync(join(root, String(pid), 'stat'), `${pid} (${p.comm}) ${p.zombie ? 'Z' : 'S'} 1 1 1 0 -1\n`);
  writeFileSync(join(root, String(pid), 'cmdline'), cmd(...p.argv));
}

function fakeTracker(d: VrrpTrackProcess, weight: number, root: string) {
  const time = new FakeTime();
  const sink = new Sink();
  const ctx: TrackerContext = { sink, log, clock: () => time.now, timers: time };
  const t = new ProcessTracker([{ def: d, bindings: [{ instance: 'VI_1', weight, reverse: false, via: 'VI_1' }] }], ctx, { procEvents: null, procRoot: root, pollMs: 1e9 });
  t.start();
  return { t, time, sink };
}

describe('quorum and delays (fake /proc, fake events)', () => {
  it('counts at start, skips zombies, and follows fork/exec/comm/exit', () => {
    const root = fakeProc({ 10: { comm: 'web', argv: ['web'] }, 11: { comm: 'web', argv: ['web'], zombie: true }, 12: { comm: 'db', argv: ['db'] } });
    const { t, sink } = fakeTracker(def({ process: 'web', quorum: 2 }), 0, root);
    expect(t.status()[0]).toMatchObject({ count: 1, haveQuorum: false });
    expect(sink.faults.get('VI_1 process:p')).toBe('quorum not achieved (1 running, want 2)');
    expect(lines).toContain('(VI_1) entering FAULT state (tracked process p quorum not achieved)');
    t.onEvents([{ type: 'fork', pid: 13, parent: 10 }]); // a child of a counted process counts
    expect(t.status()[0]).toMatchObject({ count: 2, haveQuorum: true });
    expect(sink.faults.size).toBe(0);
    expect(lines).toContain('Quorum gained for tracked process p');
    setProc(root, 13, { comm: 'sh', argv: ['sh'] });
    t.onEvents([{ type: 'exec', pid: 13 }]); // it exec'd something else
    expect(t.status()[0]).toMatchObject({ count: 1, haveQuorum: false });
    t.onEvents([{ type: 'comm', pid: 12, comm: 'web' }]); // renamed itself
    expect(t.status()[0]).toMatchObject({ count: 2, haveQuorum: true });
    t.onEvents([{ type: 'exit', pid: 10 }]);
    expect(t.status()[0]).toMatchObject({ count: 1, haveQuorum: false, pids: [12] });
    setProc(root, 12, { comm: 'web', argv: ['web'] });
    t.onEvents([{ type: 'exec', pid: 12 }, { type: 'exec', pid: 12 }]); // counted once, however often
    expect(t.status()[0]!.count).toBe(1);
  });

  it('quorum_max: too many processes lose quorum; quorum_max 0 means "must not run"', () => {
    const root = fakeProc({ 20: { comm: 'w', argv: ['w'] } });
    const { t } = fakeTracker(def({ process: 'w', quorum: 1, quorumMax: 1 }), 0, root);
    expect(t.status()[0]!.haveQuorum).toBe(true);
    t.onEvents([{ type: 'fork', pid: 21, parent: 20 }]);
    expect(t.status()[0]!.haveQuorum).toBe(false);
    t.onEvents([{ type: 'exit', pid: 21 }]);
    expect(t.status()[0]!.haveQuorum).toBe(true);
    const none = fakeTracker(def({ process: 'w', quorum: 0, quorumMax: 0 }), 0, fakeProc({}));
    expect(none.t.status()[0]!.haveQuorum).toBe(true);
  });

  it('terminate_delay delays a loss by exit; a fork during it cancels it; fork_delay delays a gain by fork', () => {
    const root = fakeProc({ 30: { comm: 'w', argv: ['w'] } });
    const { t, time, sink } = fakeTracker(def({ process: 'w', terminateDelay: 2, forkDelay: 1 }), -20, root);
    expect(sink.weights.size).toBe(0);
    t.onEvents([{ type: 'exit', pid: 30 }]);
    time.advance(1999);
    expect(sink.weights.size).toBe(0); // still within terminate_delay
    time.advance(1);
    expect(sink.weights.get('VI_1 process:p')).toBe(-20);
    // back: a fresh process found by exec applies at once (no delay for exec)
    setProc(root, 31, { comm: 'w', argv: ['w'] });
    t.onEvents([{ type: 'exec', pid: 31 }]);
    expect(sink.weights.size).toBe(0);
    // exit then a fork of another counted process within the delay: the loss never happens
    t.onEvents([{ type: 'fork', pid: 32, parent: 31 }]);
    t.onEvents([{ type: 'exit', pid: 31 }, { type: 'exit', pid: 32 }]);
    time.advance(500);
    setProc(root, 33, { comm: 'w', argv: ['w'] });
    t.onEvents([{ type: 'exec', pid: 33 }]);
    time.advance(5000);
    expect(sink.weights.size).toBe(0);
  });

  it('fork_delay: a gain caused by a fork waits for the delay', () => {
    const root = fakeProc({ 40: { comm: 'w', argv: ['w'] } });
    const { t, time, sink } = fakeTracker(def({ process: 'w', quorum: 2, forkDelay: 1 }), 10, root);
    expect(sink.weights.size).toBe(0);
    t.onEvents([{ type: 'fork', pid: 41, parent: 40 }]);
    expect(sink.weights.size).toBe(0);
    time.advance(1000);
    expect(sink.weights.get('VI_1 process:p')).toBe(10);
  });
});

describe('real processes', () => {
  const addon = ((): ReturnType<typeof native> | null => {
    try {
      return native();
    } catch {
      return null;
    }
  })();

  function binCopy(name: string): string {
    const d = mkdtempSync(join(tmpdir(), 'hakeep-proc-'));
    tmp.push(d);
    const p = join(d, name);
    copyFileSync('/bin/sleep', p);
    return p;
  }

  function run(conf: string, procEvents: 'connector' | 'poll') {
    const loaded = parseConfigText(conf);
    expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const sink = new Sink();
    const trackers = startTrackers(loaded.config, {
      sink, log, kernel: { link: () => null, subscribe: () => () => {} }, runner: { run: () => new Promise(() => {}) },
      procEvents: procEvents === 'connector' ? addon!.procEvents!.bind(addon) : null, processPollMs: 100,
    });
    return { sink, trackers };
  }

  const inst = `vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n priority 100\n virtual_ipaddress { 10.0.0.1 }\n track_process {\n p\n }\n}\n`;

  for (const mode of ['connector', 'poll'] as const) {
    it(`${mode}: a sleep with a unique argv, quorum 2, then exits`, async () => {
      if (mode === 'connector' && (process.getuid?.() !== 0 || typeof addon?.procEvents !== 'function')) {
        console.warn('skipping: the process events connector needs root and a current native addon');
        return;
      }
      const tag = `${Math.floor(Math.random() * 1e6)}.${process.pid}`;
      const { sink, trackers } = run(`vrrp_track_process p {\n process sleep ${tag}\n quorum 2\n weight -30\n}\n${inst}`, mode);
      expect(trackers.status().processSource).toBe(mode);
      expect(sink.weights.get('VI_1 process:p')).toBe(-30);
      kids.push(spawn('sleep', [tag]), spawn('sleep', [tag]));
      await until('quorum gained', () => !sink.weights.has('VI_1 process:p'));
      expect(trackers.status().processes[0]!.count).toBe(2);
      kids[0]!.kill('SIGTERM');
      await until('quorum lost', () => sink.weights.get('VI_1 process:p') === -30);
      await trackers.stop();
    });
  }

  it('connector: by process name (comm) of a copied binary, quorum_max 1, weight 0 → FAULT', async () => {
    if (process.getuid?.() !== 0 || typeof addon?.procEvents !== 'function') return;
    const name = `hk${Math.floor(Math.random() * 1e8)}`;
    const bin = binCopy(name);
    kids.push(spawn(bin, ['30']));
    await until('started', () => kids[0]!.pid !== undefined);
    await new Promise((r) => setTimeout(r, 50));
    const { sink, trackers } = run(`vrrp_track_process p {\n process ${name}\n quorum_max 1\n}\n${inst}`, 'connector');
    expect(sink.faults.size).toBe(0);
    kids.push(spawn(bin, ['30']));
    await until('too many', () => sink.faults.has('VI_1 process:p'));
    kids[1]!.kill('SIGKILL');
    await until('back to one', () => !sink.faults.has('VI_1 process:p'));
    kids[0]!.kill('SIGKILL');
    await until('none', () => sink.faults.has('VI_1 process:p'));
    await trackers.stop();
  });
});
