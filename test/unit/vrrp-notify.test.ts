// VRRP notify hooks: the argv keepalived builds for every kind (vrrp_notify.c), which scripts run
// for which event, the FIFO lines, shutdown and deletion rules, and per-owner ordering with the
// real script runner (a slow first script holds only its own instance's next notification).
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.js';
import type { Config } from '../../src/config/model.js';
import { createLogger } from '../../src/daemon/log.js';
import { ScriptRunner, type ScriptJob, type ScriptResult } from '../../src/script/runner.js';
import { fifoLine } from '../../src/vrrp/notify-fifo.js';
import {
  groupScripts, instanceScripts, notifyJobs, VrrpNotifier, type NotifyScripts, type NotifyState,
} from '../../src/vrrp/notify.js';

interface LogRec { level: number; msg: string; [k: string]: unknown }

function memLogger(): { log: ReturnType<typeof createLogger>; lines: LogRec[] } {
  const lines: LogRec[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (l: string) => { lines.push(JSON.parse(l) as LogRec); } } });
  return { log, lines };
}

const ok = (over: Partial<ScriptResult> = {}): ScriptResult => ({
  exitCode: 0, signal: null, timedOut: false, durationMs: 1, stdout: '', stderr: '', error: null, ...over,
});

/** Records every job; each resolves when the test says so (or at once with `auto`). */
class FakeRunner {
  readonly jobs: ScriptJob[] = [];
  private readonly waiting: Array<(r: ScriptResult) => void> = [];
  constructor(private readonly auto = true) {}
  run(job: ScriptJob): Promise<ScriptResult> {
    this.jobs.push(job);
    if (this.auto) return Promise.resolve(ok());
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  finishAll(r: ScriptResult = ok()): void {
    for (const w of this.waiting.splice(0)) w(r);
  }
  argv(): string[] {
    return this.jobs.map((j) => [j.name, j.command, ...(j.args ?? [])].join(' '));
  }
}

class Lines {
  readonly lines: string[] = [];
  write(l: string): void { this.lines.push(l); }
}

const CONFIG = `global_defs {
  vrrp_notify_priority_changes
}
vrrp_sync_group G1 {
  group { VI_1 VI_2 }
  notify_master "/g/master g-arg"
  notify_backup /g/backup
  notify_fault /g/fault
  notify_stop /g/stop
  notify "/g/notify x" gu gg
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 150
  virtual_ipaddress { 10.0.0.1 }
  notify_master "/i/master 'two words'" iu
  notify_backup /i/backup
  notify_fault /i/fault
  notify_stop /i/stop
  notify "/i/notify y"
  notify_master_rx_lower_pri "/i/rx z"
  notify_deleted /i/deleted
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  virtual_ipaddress { 10.0.0.2 }
  notify /i2/notify
  notify_priority_changes off
}
vrrp_instance VI_3 {
  interface eth0
  virtual_router_id 53
  virtual_ipaddress { 10.0.0.3 }
}
`;

function config(text = CONFIG): Config {
  const r = parseConfigText(text, 'notify.conf', { configId: 'test' });
  expect(r.errorCount, r.diagnostics.map((d) => d.message).join('\n')).toBe(0);
  return r.config;
}

function notifier(opts: { runner?: FakeRunner; text?: string } = {}) {
  const runner = opts.runner ?? new FakeRunner();
  const fifo = new Lines();
  const { log, lines } = memLogger();
  const n = new VrrpNotifier(config(opts.text), { runner, log, fifos: [fifo], timeoutMs: 7000, stopTimeoutMs: 900, closeWaitMs: 300 });
  return { n, runner, fifo, logs: lines };
}

const T = { timeoutMs: 7000, stopTimeoutMs: 900 };

describe('notifyJobs: the argv keepalived builds (vrrp_notify.c:161-191, 269-342)', () => {
  const c = config();
  const vi1 = instanceScripts(c.vrrpInstances[0]!);
  const g1 = groupScripts(c.vrrpSyncGroups[0]!);

  const instanceTable: Array<[NotifyState, string[]]> = [
    ['MASTER', ["notify_master(VI_1) /i/master 'two words'", 'notify(VI_1) /i/notify y INSTANCE VI_1 MASTER 120']],
    ['BACKUP', ['notify_backup(VI_1) /i/backup', 'notify(VI_1) /i/notify y INSTANCE VI_1 BACKUP 120']],
    ['FAULT', ['notify_fault(VI_1) /i/fault', 'notify(VI_1) /i/notify y INSTANCE VI_1 FAULT 120']],
    ['STOP', ['notify_stop(VI_1) /i/stop', 'notify(VI_1) /i/notify y INSTANCE VI_1 STOP 120']],
    ['DELETED', ['notify_deleted(VI_1) /i/deleted', 'notify(VI_1) /i/notify y INSTANCE VI_1 DELETED 120']],
  ];
  it.each(instanceTable)('instance %s: its own script, then notify … INSTANCE NAME STATE PRIORITY', (state, want) => {
    const jobs = notifyJobs('INSTANCE', 'VI_1', vi1, state, 120, T);
    expect(jobs.map((j) => [j.name, j.command, ...(j.args ?? [])].join(' '))).toEqual(want);
    for (const j of jobs) {
      expect(j.owner).toBe('notify:VI_1');
      expect(j.kind).toBe('notify');
      expect(j.timeoutMs).toBe(state === 'STOP' ? 900 : 7000);
    }
    // The name is a plain argument: quotes belong to the FIFO line only.
    expect(jobs.at(-1)!.args).toEqual(['INSTANCE', 'VI_1', state, '120']);
  });

  const groupTable: Array<[Exclude<NotifyState, 'DELETED'>, string[]]> = [
    ['MASTER', ['notify_master(group G1) /g/master g-arg', 'notify(group G1) /g/notify x GROUP G1 MASTER 0']],
    ['BACKUP', ['notify_backup(group G1) /g/backup', 'notify(group G1) /g/notify x GROUP G1 BACKUP 0']],
    ['FAULT', ['notify_fault(group G1) /g/fault', 'notify(group G1) /g/notify x GROUP G1 FAULT 0']],
    ['STOP', ['notify_stop(group G1) /g/stop', 'notify(group G1) /g/notify x GROUP G1 STOP 0']],
  ];
  it.each(groupTable)('group %s: priority 0, owner notify:group:G1', (state, want) => {
    const jobs = notifyJobs('GROUP', 'G1', g1, state, 0, T);
    expect(jobs.map((j) => [j.name, j.command, ...(j.args ?? [])].join(' '))).toEqual(want);
    expect(new Set(jobs.map((j) => j.owner))).toEqual(new Set(['notify:group:G1']));
  });

  it('passes the user and group of each line to the runner', () => {
    const m = notifyJobs('INSTANCE', 'VI_1', vi1, 'MASTER', 100, T);
    expect(m.map((j) => j.user)).toEqual([{ user: 'iu' }, null]);
    const g = notifyJobs('GROUP', 'G1', g1, 'BACKUP', 0, T);
    expect(g.map((j) => j.user)).toEqual([null, { user: 'gu', group: 'gg' }]);
  });

  it('runs nothing for a state without scripts', () => {
    const none: NotifyScripts = { MASTER: null, BACKUP: null, FAULT: null, STOP: null, DELETED: null, generic: null, rxLowerPri: null };
    expect(notifyJobs('INSTANCE', 'X', none, 'MASTER', 1, T)).toEqual([]);
    expect(notifyJobs('INSTANCE', 'VI_1', { ...vi1, MASTER: null }, 'MASTER', 1, T).map((j) => j.name)).toEqual(['notify(VI_1)']);
  });
});

describe('fifoLine (vrrp_notify.c:90-146)', () => {
  it.each([
    ['INSTANCE', 'VI_1', 'MASTER', 100, 'INSTANCE "VI_1" MASTER 100\n'],
    ['INSTANCE', 'VI_1', 'BACKUP', 90, 'INSTANCE "VI_1" BACKUP 90\n'],
    ['INSTANCE', 'VI_1', 'FAULT', 90, 'INSTANCE "VI_1" FAULT 90\n'],
    ['INSTANCE', 'VI_1', 'STOP', 90, 'INSTANCE "VI_1" STOP 90\n'],
    ['INSTANCE', 'VI_1', 'DELETED', 90, 'INSTANCE "VI_1" DELETED 90\n'],
    ['INSTANCE', 'VI_1', 'MASTER_RX_LOWER_PRI', 100, 'INSTANCE "VI_1" MASTER_RX_LOWER_PRI 100\n'],
    ['INSTANCE', 'VI_1', 'MASTER_PRIORITY', 80, 'INSTANCE "VI_1" MASTER_PRIORITY 80\n'],
    ['INSTANCE', 'VI_1', 'BACKUP_PRIORITY', 80, 'INSTANCE "VI_1" BACKUP_PRIORITY 80\n'],
    ['GROUP', 'G1', 'MASTER', 0, 'GROUP "G1" MASTER 0\n'],
    ['GROUP', 'G1', 'STOP', 0, 'GROUP "G1" STOP 0\n'],
  ] as const)('%s %s %s %d', (type, name, ev, prio, want) => {
    expect(fifoLine(type, name, ev, prio)).toBe(want);
  });
});

describe('VrrpNotifier', () => {
  it('one transition: the state script, then notify, then one FIFO line', () => {
    const { n, runner, fifo } = notifier();
    n.instanceTransition('VI_1', 'MASTER', 150);
    expect(runner.argv()).toEqual(["notify_master(VI_1) /i/master 'two words'", 'notify(VI_1) /i/notify y INSTANCE VI_1 MASTER 150']);
    expect(fifo.lines).toEqual(['INSTANCE "VI_1" MASTER 150\n']);
  });

  it('a group member runs its own scripts and the group runs the group\'s (vrrp_sync.c:174-208)', () => {
    const { n, runner, fifo } = notifier();
    n.instanceTransition('VI_1', 'MASTER', 150);
    n.instanceTransition('VI_2', 'MASTER', 100);
    n.groupTransition('G1', 'MASTER');
    expect(runner.jobs.map((j) => j.owner)).toEqual(['notify:VI_1', 'notify:VI_1', 'notify:VI_2', 'notify:group:G1', 'notify:group:G1']);
    expect(runner.argv().slice(2)).toEqual([
      'notify(VI_2) /i2/notify INSTANCE VI_2 MASTER 100', 'notify_master(group G1) /g/master g-arg', 'notify(group G1) /g/notify x GROUP G1 MASTER 0',
    ]);
    expect(fifo.lines).toEqual(['INSTANCE "VI_1" MASTER 150\n', 'INSTANCE "VI_2" MASTER 100\n', 'GROUP "G1" MASTER 0\n']);
  });

  it('notifies a state once (keepalived vrrp_notify.c:275): INIT and repeats are not news', () => {
    const { n, runner, fifo } = notifier();
    n.instanceTransition('VI_3', 'BACKUP', 100);
    n.instanceTransition('VI_3', 'BACKUP', 100);
    n.instanceTransition('VI_3', 'INIT', 100);
    n.groupTransition('G1', 'INIT');
    expect(fifo.lines).toEqual(['INSTANCE "VI_3" BACKUP 100\n']);
    expect(runner.jobs).toEqual([]);
    expect(n.status().counters).toMatchObject({ events: 1, skipped: 1 });
  });

  it('notify_master_rx_lower_pri: the script alone, no extra arguments; one at a time; a FIFO line each', () => {
    const runner = new FakeRunner(false);
    const { n, fifo } = notifier({ runner });
    n.instanceTransition('VI_1', 'MASTER', 150);
    n.masterRxLowerPri('VI_1', 150);
    n.masterRxLowerPri('VI_1', 150);
    expect(runner.argv().slice(2)).toEqual(['notify_master_rx_lower_pri(VI_1) /i/rx z']);
    expect(runner.jobs[2]).toMatchObject({ owner: 'notify:VI_1', timeoutMs: 7000 });
    expect(fifo.lines.slice(1)).toEqual(['INSTANCE "VI_1" MASTER_RX_LOWER_PRI 150\n', 'INSTANCE "VI_1" MASTER_RX_LOWER_PRI 150\n']);
    expect(n.status().counters.skipped).toBe(1);
    // VI_2 has no rx script: the FIFO line still goes out (vrrp_notify.c:266).
    n.masterRxLowerPri('VI_2', 100);
    expect(fifo.lines.at(-1)).toBe('INSTANCE "VI_2" MASTER_RX_LOWER_PRI 100\n');
    expect(runner.jobs).toHaveLength(3);
  });

  it('notify_priority_changes: FIFO lines only, MASTER_ or BACKUP_PRIORITY by state; off for VI_2', () => {
    const { n, runner, fifo } = notifier();
    n.instanceTransition('VI_1', 'MASTER', 150);
    n.priorityChanged('VI_1', 130);
    n.priorityChanged('VI_1', 130);
    n.instanceTransition('VI_1', 'BACKUP', 130);
    n.priorityChanged('VI_1', 150);
    n.instanceTransition('VI_3', 'FAULT', 100);
    n.priorityChanged('VI_3', 90);
    n.priorityChanged('VI_2', 50);
    expect(fifo.lines).toEqual([
      'INSTANCE "VI_1" MASTER 150\n', 'INSTANCE "VI_1" MASTER_PRIORITY 130\n', 'INSTANCE "VI_1" BACKUP 130\n',
      'INSTANCE "VI_1" BACKUP_PRIORITY 150\n', 'INSTANCE "VI_3" FAULT 100\n', 'INSTANCE "VI_3" BACKUP_PRIORITY 90\n',
    ]);
    expect(runner.jobs.every((j) => !j.name.includes('PRIORITY'))).toBe(true);
  });

  it('deleted by a reload: DELETED with notify_deleted; else FAULT; nothing from FAULT (vrrp.c:4917-4925)', () => {
    const { n, runner, fifo } = notifier();
    n.instanceTransition('VI_1', 'BACKUP', 150);
    n.instanceTransition('VI_2', 'MASTER', 100);
    n.instanceTransition('VI_3', 'FAULT', 100);
    runner.jobs.length = 0;
    fifo.lines.length = 0;
    n.instanceDeleted('VI_1');
    n.instanceDeleted('VI_2', 99);
    n.instanceDeleted('VI_3');
    n.instanceDeleted('VI_1');
    expect(runner.argv()).toEqual([
      'notify_deleted(VI_1) /i/deleted', 'notify(VI_1) /i/notify y INSTANCE VI_1 DELETED 150', 'notify(VI_2) /i2/notify INSTANCE VI_2 FAULT 99',
    ]);
    expect(fifo.lines).toEqual(['INSTANCE "VI_1" DELETED 150\n', 'INSTANCE "VI_2" FAULT 99\n']);
    n.instanceTransition('VI_1', 'MASTER', 150);
    expect(fifo.lines).toHaveLength(2);
  });

  it('shutdown: STOP for every instance, then every group, with the STOP timeout; nothing else after beginShutdown', () => {
    const { n, runner, fifo } = notifier();
    n.instanceTransition('VI_1', 'MASTER', 150);
    n.instanceTransition('VI_2', 'MASTER', 100);
    n.groupTransition('G1', 'MASTER');
    runner.jobs.length = 0;
    fifo.lines.length = 0;
    n.beginShutdown();
    n.groupTransition('G1', 'BACKUP'); // the group coordinator sees members leave one by one
    n.instanceTransition('VI_1', 'INIT', 150);
    n.shutdown((name) => (name === 'VI_1' ? 140 : undefined));
    expect(fifo.lines).toEqual(['INSTANCE "VI_1" STOP 140\n', 'INSTANCE "VI_2" STOP 100\n', 'INSTANCE "VI_3" STOP 100\n', 'GROUP "G1" STOP 0\n']);
    expect(runner.argv()).toEqual([
      'notify_stop(VI_1) /i/stop', 'notify(VI_1) /i/notify y INSTANCE VI_1 STOP 140', 'notify(VI_2) /i2/notify INSTANCE VI_2 STOP 100',
      'notify_stop(group G1) /g/stop', 'notify(group G1) /g/notify x GROUP G1 STOP 0',
    ]);
    expect(runner.jobs.every((j) => j.timeoutMs === 900)).toBe(true);
    n.shutdown();
    expect(fifo.lines).toHaveLength(4);
  });

  it('a caller mapping INIT at shutdown to STOP itself gets the same single STOP', () => {
    const { n, fifo } = notifier();
    n.instanceTransition('VI_3', 'BACKUP', 100);
    n.instanceTransition('VI_3', 'STOP', 100);
    n.shutdown();
    expect(fifo.lines.filter((l) => l.includes('VI_3'))).toEqual(['INSTANCE "VI_3" BACKUP 100\n', 'INSTANCE "VI_3" STOP 100\n']);
  });

  it('status counts what is running and queued; close() waits for it, bounded', async () => {
    const runner = new FakeRunner(false);
    const { n, logs } = notifier({ runner });
    n.instanceTransition('VI_1', 'MASTER', 150);
    n.instanceTransition('VI_1', 'BACKUP', 150);
    n.instanceTransition('VI_2', 'BACKUP', 100);
    expect(n.status()).toMatchObject({ running: 2, queued: 3 });
    const t = performance.now();
    await n.close();
    expect(performance.now() - t).toBeGreaterThan(250);
    expect(logs.some((l) => l.msg.includes('notify scripts still running 300 ms after shutdown began (5 left)'))).toBe(true);
    runner.finishAll();
    await new Promise((r) => setTimeout(r, 0));
    expect(n.status()).toMatchObject({ running: 0, queued: 0 });
    n.instanceTransition('VI_1', 'MASTER', 150);
    expect(runner.jobs).toHaveLength(5);
  });

  it('close() returns as soon as the scripts are done', async () => {
    const runner = new FakeRunner(false);
    const { n } = notifier({ runner });
    n.instanceTransition('VI_1', 'MASTER', 150);
    setTimeout(() => runner.finishAll(), 20);
    const t = performance.now();
    await n.close();
    expect(performance.now() - t).toBeLessThan(250);
  });

  it('reports results: a timeout at warn, a failure at info, counters', async () => {
    const results: ScriptResult[] = [ok({ timedOut: true, signal: 'SIGTERM', exitCode: null }), ok({ exitCode: 3 }), ok({ error: 'not found', exitCode: null })];
    const runner = { jobs: [] as ScriptJob[], run(job: ScriptJob) { this.jobs.push(job); return Promise.resolve(results.shift() ?? ok()); } };
    const { log, lines } = memLogger();
    const n = new VrrpNotifier(config(), { runner, log, fifos: [] });
    n.instanceTransition('VI_1', 'MASTER', 150);
    n.instanceTransition('VI_1', 'BACKUP', 150);
    await n.close();
    expect(n.status().counters).toMatchObject({ events: 2, scripts: 4, timedOut: 1, failed: 1, notRun: 1 });
    expect(lines.find((l) => l.level === 40)?.msg).toBe("notify_master(VI_1) '/i/master 'two words'' timed out after 30000 ms and was killed (its process group); the next notification of VI_1 runs now");
    expect(lines.find((l) => l.level === 30 && l.msg.includes('exited with status 3'))?.msg).toBe("notify(VI_1) '/i/notify y' exited with status 3");
    expect(n.status().lastResult).toMatchObject({ script: 'notify(VI_1)', exitCode: 0 });
  });

  it('an unknown name is logged, not thrown', () => {
    const { n, logs, fifo } = notifier();
    n.instanceTransition('NOPE', 'MASTER', 100);
    expect(fifo.lines).toEqual([]);
    expect(logs.some((l) => l.msg.includes('no vrrp_instance or vrrp_sync_group named NOPE'))).toBe(true);
  });
});

describe('per-owner ordering with the real script runner', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hk-notify-'));
    chmodSync(dir, 0o755);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a slow first script delays only its own instance\'s next notification, which then runs in order', async () => {
    const out = join(dir, 'order.log');
    const script = join(dir, 'rec.sh');
    // Records start and end; MASTER of VI_1 sleeps first.
    writeFileSync(script, `#!/bin/sh\necho "start $*" >> ${out}\n[ "$2" = VI_1 ] && [ "$3" = MASTER ] && sleep 0.6\necho "end $*" >> ${out}\n`);
    chmodSync(script, 0o755);
    const text = `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  virtual_ipaddress { 10.0.0.1 }
  notify ${script}
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  virtual_ipaddress { 10.0.0.2 }
  notify ${script}
}
`;
    const { log } = memLogger();
    const runner = new ScriptRunner({ mode: 'direct', log: () => undefined, scriptUser: process.getuid?.() === 0 ? 'root' : null, killGraceMs: 200 });
    const n = new VrrpNotifier(config(text), { runner, log, fifos: [] });
    n.instanceTransition('VI_1', 'MASTER', 100);
    n.instanceTransition('VI_1', 'BACKUP', 100);
    n.instanceTransition('VI_2', 'MASTER', 100);
    await n.close();
    await runner.close();
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    // Never two of VI_1 at once, and in transition order.
    const vi1 = lines.filter((l) => l.includes('VI_1'));
    expect(vi1).toEqual(['start INSTANCE VI_1 MASTER 100', 'end INSTANCE VI_1 MASTER 100', 'start INSTANCE VI_1 BACKUP 100', 'end INSTANCE VI_1 BACKUP 100']);
    // VI_2 did not wait for VI_1's slow script.
    expect(lines.indexOf('end INSTANCE VI_2 MASTER 100')).toBeLessThan(lines.indexOf('end INSTANCE VI_1 MASTER 100'));
  });
});
