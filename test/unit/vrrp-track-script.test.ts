// vrrp_script scheduling and hysteresis with a fake clock, fake timers and a fake script runner.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/daemon/log.js';
import { parseConfigText } from '../../src/config/load.js';
import type { ScriptJob, ScriptResult } from '../../src/script/types.js';
import { startTrackers, SCRIPT_INIT_DETAIL, type TrackerSink, type TrackerTimers } from '../../src/vrrp/trackers/index.js';
import type { KernelEvent } from '../../src/net/kernel-events.js';

class FakeTime implements TrackerTimers {
  now = 0;
  private seq = 0;
  private q: Array<{ at: number; id: number; fn: () => void }> = [];
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.q.push({ at: this.now + Math.max(0, ms), id, fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.q = this.q.filter((t) => t.id !== h);
  }
  /** Run every timer due up to now + ms, in time order. */
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

class FakeRunner {
  jobs: Array<{ job: ScriptJob; at: number; resolve: (r: ScriptResult) => void; done: boolean }> = [];
  constructor(private readonly time: FakeTime) {}
  run(job: ScriptJob): Promise<ScriptResult> {
    return new Promise((resolve) => {
      const entry = { job, at: this.time.now, resolve: (r: ScriptResult) => { entry.done = true; resolve(r); }, done: false };
      this.jobs.push(entry);
    });
  }
  running(name?: string): number {
    return this.jobs.filter((j) => !j.done && (name === undefined || j.job.name === name)).length;
  }
  /** Finish every running job of `name` with exit code `code` (or a timeout). */
  finish(name: string, code: number | 'timeout' | 'SIGKILL'): void {
    for (const j of this.jobs.filter((x) => !x.done && x.job.name === name)) {
      j.resolve({
        exitCode: typeof code === 'number' ? code : null, signal: code === 'SIGKILL' ? 'SIGKILL' : code === 'timeout' ? 'SIGTERM' : null,
        timedOut: code === 'timeout', durationMs: 1, stdout: '', stderr: '', error: null,
      });
    }
  }
}

class FakeSink implements TrackerSink {
  weights = new Map<string, number>();
  faults = new Map<string, string>();
  calls: string[] = [];
  setWeight(instance: string, key: string, weight: number): void {
    this.calls.push(`w ${instance} ${key} ${weight}`);
    if (weight === 0) this.weights.delete(`${instance} ${key}`);
    else this.weights.set(`${instance} ${key}`, weight);
  }
  setFault(instance: string, source: string, subject: string, detail: string): void {
    this.calls.push(`f ${instance} ${source}:${subject} ${detail}`);
    this.faults.set(`${instance} ${source}:${subject}`, detail);
  }
  clearFault(instance: string, source: string, subject: string): void {
    this.calls.push(`c ${instance} ${source}:${subject}`);
    this.faults.delete(`${instance} ${source}:${subject}`);
  }
  weight(instance: string, key: string): number {
    return this.weights.get(`${instance} ${key}`) ?? 0;
  }
  fault(instance: string, subject: string): string | undefined {
    return this.faults.get(`${instance} script:${subject}`);
  }
}

const noKernel = { link: () => null, subscribe: (_fn: (ev: KernelEvent) => void) => () => {} };
const flush = async (): Promise<void> => { for (let i = 0; i < 5; i++) await Promise.resolve(); };

function setup(conf: string) {
  const loaded = parseConfigText(conf);
  const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
  expect(errors).toEqual([]);
  const time = new FakeTime();
  const runner = new FakeRunner(time);
  const sink = new FakeSink();
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (l: string) => { lines.push(String(JSON.parse(l).msg)); } } });
  const trackers = startTrackers(loaded.config, { sink, log, runner, kernel: noKernel, clock: () => time.now, timers: time, procEvents: null });
  return { time, runner, sink, lines, trackers, config: loaded.config };
}

function instances(n: number, body: (i: number) => string): string {
  let out = '';
  for (let i = 1; i <= n; i++) {
    out += `vrrp_instance VI_${i} {\n interface eth0\n virtual_router_id ${i}\n priority 100\n virtual_ipaddress { 10.0.${i}.1 }\n${body(i)}\n}\n`;
  }
  return out;
}

describe('vrrp_script scheduling', () => {
  it('runs a script referenced by ten instances once per interval', async () => {
    const { time, runner } = setup(`vrrp_script chk {\n  script "/bin/chk"\n  interval 2\n  weight -10\n}\n${instances(10, () => 'track_script { chk }')}`);
    expect(runner.jobs.length).toBe(1); // first run at start
    for (let k = 0; k < 10; k++) {
      runner.finish('chk', 0);
      await flush();
      time.advance(2000);
    }
    expect(runner.jobs.length).toBe(11);
    const starts = runner.jobs.map((j) => j.at);
    expect(starts).toEqual(Array.from({ length: 11 }, (_, i) => i * 2000));
    expect(runner.jobs[0]!.job).toMatchObject({ owner: 'vrrp_script:chk', kind: 'vrrp_script', name: 'chk', command: '/bin/chk', timeoutMs: 2000 });
  });

  it('never runs a script concurrently with itself: the next run waits for the current one', async () => {
    const { time, runner, lines } = setup(`vrrp_script slow {\n  script /bin/slow\n  interval 1\n  timeout 5\n}\n${instances(1, () => 'track_script { slow weight 5 }')}`);
    expect(runner.running('slow')).toBe(1);
    time.advance(3500); // three ticks while it runs
    expect(runner.running('slow')).toBe(1);
    expect(runner.jobs.length).toBe(1);
    expect(lines.filter((l) => l.includes('is already running')).length).toBe(1);
    runner.finish('slow', 0);
    await flush();
    expect(runner.jobs.length).toBe(2); // the waiting run starts when the first ends, once
    expect(runner.jobs[1]!.at).toBe(3500);
    runner.finish('slow', 0);
    await flush();
    time.advance(500);
    expect(runner.jobs.length).toBe(3); // back on the interval grid (t = 4000)
    expect(runner.jobs[2]!.at).toBe(4000);
  });

  it('a run that times out counts as a failure, logged timed_out', async () => {
    const { runner, sink, lines } = setup(`vrrp_script chk {\n  script /bin/chk\n  interval 1\n  timeout 1\n  weight -20\n}\n${instances(1, () => 'track_script { chk }')}`);
    runner.finish('chk', 'timeout');
    await flush();
    expect(sink.weight('VI_1', 'script:chk')).toBe(-20);
    expect(lines).toContain('VRRP_Script(chk) timed_out');
  });

  it('logs keepalived\'s lines: succeeded, failed (exited with status N), failed (due to signal N), now returning', async () => {
    const { time, runner, lines } = setup(`vrrp_script chk {\n  script /bin/chk\n  interval 1\n}\n${instances(1, () => 'track_script { chk }')}`);
    runner.finish('chk', 0); await flush(); time.advance(1000);
    runner.finish('chk', 1); await flush(); time.advance(1000);
    runner.finish('chk', 0); await flush(); time.advance(1000);
    runner.finish('chk', 'SIGKILL'); await flush();
    expect(lines.filter((l) => l.startsWith('VRRP_Script') || l.startsWith('Script `'))).toEqual([
      'VRRP_Script(chk) succeeded',
      'Script `chk` now returning 1',
      'VRRP_Script(chk) failed (exited with status 1)',
      'Script `chk` now returning 0',
      'VRRP_Script(chk) succeeded',
      'VRRP_Script(chk) failed (due to signal 9)',
    ]);
  });
});

describe('vrrp_script rise/fall and the initial state', () => {
  async function feed(s: ReturnType<typeof setup>, codes: number[]): Promise<void> {
    for (const c of codes) {
      s.runner.finish('chk', c);
      await flush();
      s.time.advance(1000);
    }
  }

  it('the first result decides at once; then rise successes / fall failures are needed', async () => {
    const s = setup(`vrrp_script chk {\n  script /bin/chk\n  rise 3\n  fall 2\n  weight 10\n}\n${instances(1, () => 'track_script { chk }')}`);
    expect(s.sink.weight('VI_1', 'script:chk')).toBe(0); // init: nothing yet
    await feed(s, [1]);
    expect(s.trackers.status().scripts[0]!.state).toBe('failed');
    await feed(s, [0, 0]);
    expect(s.sink.weight('VI_1', 'script:chk')).toBe(0);
    await feed(s, [0]);
    expect(s.sink.weight('VI_1', 'script:chk')).toBe(10);
    await feed(s, [1]);
    expect(s.sink.weight('VI_1', 'script:chk')).toBe(10); // one failure of fall 2
    await feed(s, [0, 1]);
    expect(s.sink.weight('VI_1', 'script:chk')).toBe(10); // the success reset the count
    await feed(s, [1]);
    expect(s.sink.weight('VI_1', 'script:chk')).toBe(0);
  });

  it('a first success with rise 3 is enough (keepalived starts the counter at rise-1)', async () => {
    const s = setup(`vrrp_script chk {\n  script /bin/chk\n  rise 3\n  fall 3\n  weight 7\n}\n${instances(1, () => 'track_script { chk }')}`);
    await feed(s, [0]);
    expect(s.sink.weight('VI_1', 'script:chk')).toBe(7);
  });

  it('init_fail starts failed and needs rise successes', async () => {
    const s = setup(`vrrp_script chk {\n  script /bin/chk\n  rise 2\n  weight -30\n  init_fail\n}\n${instances(1, () => 'track_script { chk }')}`);
    expect(s.sink.weight('VI_1', 'script:chk')).toBe(-30);
    await feed(s, [0]);
    expect(s.sink.weight('VI_1', 'script:chk')).toBe(-30);
    await feed(s, [0]);
    expect(s.sink.weight('VI_1', 'script:chk')).toBe(0);
  });

  it('weight 0: FAULT until the first result, FAULT while failing; init_fail is logged as keepalived does', async () => {
    const s = setup(`vrrp_script chk {\n  script /bin/chk\n}\nvrrp_script chk2 {\n  script /bin/chk2\n  init_fail\n}\n${instances(1, () => 'track_script { chk\nchk2 }')}`);
    expect(s.sink.fault('VI_1', 'chk')).toBe(SCRIPT_INIT_DETAIL);
    expect(s.sink.fault('VI_1', 'chk2')).toBe('failed (init_fail)');
    expect(s.lines).toContain('(VI_1): entering FAULT state due to script chk2');
    expect(s.lines).not.toContain('(VI_1): entering FAULT state due to script chk');
    s.runner.finish('chk', 0);
    s.runner.finish('chk2', 0);
    await flush();
    expect(s.sink.fault('VI_1', 'chk')).toBeUndefined();
    expect(s.sink.fault('VI_1', 'chk2')).toBeUndefined();
    s.time.advance(1000);
    s.runner.finish('chk', 3);
    await flush();
    expect(s.sink.fault('VI_1', 'chk')).toBe('failed (exited with status 3)');
  });
});

describe('weights: keepalived\'s table', () => {
  // weight, reverse → contribution while OK, while failing (fault = FAULT).
  const table: Array<[string, number | 'fault', number | 'fault']> = [
    ['weight 10', 10, 0],
    ['weight -10', 0, -10],
    ['weight 10 reverse', -10, 0],
    ['weight -10 reverse', 0, 10],
    ['weight 0', 0, 'fault'],
    ['weight 0 reverse', 'fault', 0],
  ];
  for (const [w, ok, failing] of table) {
    it(`track_script ${w}: OK → ${ok}, failing → ${failing}`, async () => {
      const s = setup(`vrrp_script chk {\n  script /bin/chk\n}\n${instances(1, () => `track_script { chk ${w} }`)}`);
      const seen = (): number | 'fault' => (s.sink.fault('VI_1', 'chk') !== undefined ? 'fault' : s.sink.weight('VI_1', 'script:chk'));
      s.runner.finish('chk', 0);
      await flush();
      expect(seen()).toBe(ok);
      s.time.advance(1000);
      s.runner.finish('chk', 1);
      await flush();
      expect(seen()).toBe(failing);
    });
  }

  it('a reference without a weight takes the script\'s weight and reverse; a reference may override them', async () => {
    const s = setup(`vrrp_script chk {\n  script /bin/chk\n  weight 15 reverse\n}\n${instances(2, (i) => (i === 1 ? 'track_script { chk }' : 'track_script { chk weight 5 noreverse }'))}`);
    s.runner.finish('chk', 0);
    await flush();
    expect(s.sink.weight('VI_1', 'script:chk')).toBe(-15);
    expect(s.sink.weight('VI_2', 'script:chk')).toBe(5);
  });

  it('sync group scripts apply to every member; stop() withdraws everything', async () => {
    const s = setup(`vrrp_script chk {\n  script /bin/chk\n}\nvrrp_sync_group G { group { VI_1 VI_2 } track_script { chk } }\n${instances(2, () => '')}`);
    expect(s.sink.fault('VI_1', 'chk')).toBe(SCRIPT_INIT_DETAIL);
    expect(s.sink.fault('VI_2', 'chk')).toBe(SCRIPT_INIT_DETAIL);
    await s.trackers.stop();
    expect(s.sink.faults.size).toBe(0);
    expect(s.runner.jobs.length).toBe(1);
  });
});
