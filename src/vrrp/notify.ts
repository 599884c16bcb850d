// VRRP notify hooks: notify_master/_backup/_fault/_stop/_deleted, notify_master_rx_lower_pri and
// the generic `notify`, per instance and per sync group, plus the notify FIFO lines.
//
// What runs for an event follows keepalived 2.2.7 (vrrp_notify.c):
//  - the state's own script first (notify_master …), then `notify` with four more arguments:
//    INSTANCE|GROUP, the name (a plain argument, not quoted), the state, the priority: the
//    instance's effective priority, always 0 for a group (vrrp_notify.c:161-191, 296-299, 333);
//  - then one FIFO line, `INSTANCE "VI_1" MASTER 100` (vrrp_notify.c:136, 301, 336);
//  - members of a sync group run their own scripts as well as the group's (vrrp_sync.c:141-243:
//    members move first and notify, then the group state is set and the group notifies);
//  - notify_master_rx_lower_pri runs alone, with no extra arguments, and writes
//    MASTER_RX_LOWER_PRI on the FIFOs (vrrp_notify.c:257-267);
//  - at shutdown every instance, then every group, gets STOP (vrrp_notify.c:354-369);
//  - an instance removed by a reload reports DELETED with notify_deleted, else FAULT, and nothing
//    if it was in FAULT already (vrrp.c:4917-4925, vrrp_notify.c:281-284);
//  - with notify_priority_changes, effective priority changes write MASTER_PRIORITY or
//    BACKUP_PRIORITY on the FIFOs only (vrrp_notify.c:344-351, vrrp_track.c:592).
//
// Where hakeep differs on purpose: keepalived forks every notify script and forgets it, so two
// notifications of one instance can run at once and finish in either order (its issues #996,
// #1835). hakeep submits them to the shared script runner with one owner per instance or group
// ('notify:VI_1', 'notify:group:G1'): one runs at a time, in transition order, each with a
// timeout after which its process group is killed and the next one starts. keepalived has no
// notify timeout except for STOP (1 s, TIMER_HZ: vrrp_notify.c:187, 291). A state already
// notified is not notified again (keepalived's vrrp_notify.c:275 rule, generalised).
import type { Config, NotifyCmd, VrrpInstance, VrrpSyncGroup } from '../config/model.js';
import type { Logger } from '../daemon/log.js';
import type { ScriptJob, ScriptResult } from '../script/types.js';
import { fifoLine, NotifyFifo, type FifoEvent, type FifoSink, type NotifyFifoStatus, type ScriptRunnerLike } from './notify-fifo.js';
import { RateLimiter } from './rate-limit.js';

export type { FifoSink, ScriptRunnerLike } from './notify-fifo.js';

/** The states a notify script is told about. */
export type NotifyState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP' | 'DELETED';

/** One instance's or group's scripts, by what runs them. */
export interface NotifyScripts {
  MASTER: NotifyCmd | null;
  BACKUP: NotifyCmd | null;
  FAULT: NotifyCmd | null;
  STOP: NotifyCmd | null;
  DELETED: NotifyCmd | null;
  /** `notify`: every state, with TYPE NAME STATE PRIORITY appended. */
  generic: NotifyCmd | null;
  rxLowerPri: NotifyCmd | null;
}

export interface NotifyTimeouts {
  /** MASTER, BACKUP, FAULT, DELETED and rx_lower_pri scripts. */
  timeoutMs: number;
  /** STOP scripts (the daemon is exiting). */
  stopTimeoutMs: number;
}

/** Default for every notification but STOP: keepalived has none; ordering needs one (see docs/vrrp.md). */
export const DEFAULT_NOTIFY_TIMEOUT_MS = 30_000;
/** keepalived's STOP timeout: TIMER_HZ, then SIGKILL of the process group (vrrp_notify.c:187, lib/notify.c:329-338). */
export const DEFAULT_STOP_TIMEOUT_MS = 1000;
/** How long close() waits for what is queued (STOP included) before the runner is closed. */
export const DEFAULT_CLOSE_WAIT_MS = 5000;

/** Outstanding notifications of one owner beyond which a slow script is reported. */
const BACKLOG_WARN = 10;

export function instanceScripts(inst: VrrpInstance): NotifyScripts {
  return {
    MASTER: inst.notifyMaster, BACKUP: inst.notifyBackup, FAULT: inst.notifyFault, STOP: inst.notifyStop,
    DELETED: inst.notifyDeleted?.script ?? null, generic: inst.notify, rxLowerPri: inst.notifyMasterRxLowerPri,
  };
}

export function groupScripts(g: VrrpSyncGroup): NotifyScripts {
  return {
    MASTER: g.notifyMaster, BACKUP: g.notifyBackup, FAULT: g.notifyFault, STOP: g.notifyStop ?? null,
    DELETED: null, generic: g.notify, rxLowerPri: null,
  };
}

export const instanceOwner = (name: string): string => `notify:${name}`;
export const groupOwner = (name: string): string => `notify:group:${name}`;

const KEYWORD: Record<NotifyState, string> = {
  MASTER: 'notify_master', BACKUP: 'notify_backup', FAULT: 'notify_fault', STOP: 'notify_stop', DELETED: 'notify_deleted',
};

function userOf(cmd: NotifyCmd): ScriptJob['user'] {
  return cmd.user ? { user: cmd.user, ...(cmd.group ? { group: cmd.group } : {}) } : null;
}

/**
 * The scripts keepalived runs for an instance or group entering `state`, in its order: the
 * state's own script, then `notify … TYPE NAME STATE PRIORITY`. Pure.
 */
export function notifyJobs(type: 'INSTANCE' | 'GROUP', name: string, scripts: NotifyScripts, state: NotifyState,
  priority: number, t: NotifyTimeouts): ScriptJob[] {
  const owner = type === 'INSTANCE' ? instanceOwner(name) : groupOwner(name);
  const label = type === 'INSTANCE' ? name : `group ${name}`;
  const timeoutMs = state === 'STOP' ? t.stopTimeoutMs : t.timeoutMs;
  const jobs: ScriptJob[] = [];
  const own = scripts[state];
  if (own) {
    jobs.push({ owner, kind: 'notify', name: `${KEYWORD[state]}(${label})`, command: own.command, user: userOf(own), timeoutMs });
  }
  if (scripts.generic) {
    jobs.push({
      owner, kind: 'notify', name: `notify(${label})`, command: scripts.generic.command,
      args: [type, name, state, String(priority)], user: userOf(scripts.generic), timeoutMs,
    });
  }
  return jobs;
}

/** notify_priority_changes: the instance's, else its sync group's, else the global one (vrrp.c:3246-3250). */
export function priorityChangesEnabled(config: Config, inst: VrrpInstance): boolean {
  if (inst.notifyPriorityChanges !== null) return inst.notifyPriorityChanges;
  const g = config.vrrpSyncGroups.find((sg) => sg.group.includes(inst.name));
  if (g?.notifyPriorityChanges !== undefined && g.notifyPriorityChanges !== null) return g.notifyPriorityChanges;
  return config.globalDefs.vrrpNotifyPriorityChanges;
}

export interface VrrpNotifierDeps {
  runner: ScriptRunnerLike;
  log: Logger;
  /** Default DEFAULT_NOTIFY_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Default DEFAULT_STOP_TIMEOUT_MS. */
  stopTimeoutMs?: number;
  /** Default DEFAULT_CLOSE_WAIT_MS. */
  closeWaitMs?: number;
  /**
   * Where FIFO lines go. Absent: start() opens notify_fifo and vrrp_notify_fifo from the config
   * and close() closes them. Given (e.g. a notify_fifo shared with the checker side): used as is,
   * never opened or closed here.
   */
  fifos?: FifoSink[];
  /** Options for the FIFOs start() opens (tests). */
  fifoOptions?: { maxQueue?: number; retryMs?: number; mkfifo?: (path: string) => Promise<void> };
}

interface Target {
  type: 'INSTANCE' | 'GROUP';
  name: string;
  owner: string;
  scripts: NotifyScripts;
  /** The state last notified; null = none yet. */
  state: NotifyState | null;
  priority: number;
  notifyDeleted: boolean;
  priorityChanges: boolean;
  rxLowerPriBusy: boolean;
}

export interface NotifyEventRecord {
  type: 'INSTANCE' | 'GROUP';
  name: string;
  event: FifoEvent;
  priority: number;
  /** Scripts submitted for it. */
  scripts: number;
  wall: string;
}

export interface NotifyResultRecord {
  owner: string;
  script: string;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  error: string | null;
  durationMs: number;
  wall: string;
}

export interface NotifierStatus {
  /** Notifications submitted and not finished, beyond the one running for each owner. */
  queued: number;
  /** Owners with a notification out (one runs at a time per owner, within the runner's global cap). */
  running: number;
  counters: {
    events: number;
    scripts: number;
    failed: number;
    timedOut: number;
    notRun: number;
    /** Repeats of an already-notified state, and rx_lower_pri events while one was out. */
    skipped: number;
  };
  last: NotifyEventRecord | null;
  lastResult: NotifyResultRecord | null;
  fifos: NotifyFifoStatus[];
}

export class VrrpNotifier {
  private readonly targets = new Map<string, Target>();
  private readonly instanceOrder: string[] = [];
  private readonly groupOrder: string[] = [];
  private readonly timeouts: NotifyTimeouts;
  private readonly outstanding = new Map<string, number>();
  private readonly inflight = new Set<Promise<void>>();
  private readonly backlogLimiter = new RateLimiter(60_000);
  private readonly ownFifos: NotifyFifo[] = [];
  private readonly sinks: FifoSink[];
  private readonly counters = { events: 0, scripts: 0, failed: 0, timedOut: 0, notRun: 0, skipped: 0 };
  private last: NotifyEventRecord | null = null;
  private lastResult: NotifyResultRecord | null = null;
  private stopping = false;
  private closed = false;

  constructor(private readonly config: Config, private readonly deps: VrrpNotifierDeps) {
    this.timeouts = {
      timeoutMs: deps.timeoutMs ?? DEFAULT_NOTIFY_TIMEOUT_MS,
      stopTimeoutMs: deps.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS,
    };
    for (const inst of config.vrrpInstances) {
      this.targets.set(instanceOwner(inst.name), {
        type: 'INSTANCE', name: inst.name, owner: instanceOwner(inst.name), scripts: instanceScripts(inst), state: null,
        priority: inst.priority, notifyDeleted: inst.notifyDeleted !== null, priorityChanges: priorityChangesEnabled(config, inst),
        rxLowerPriBusy: false,
      });
      this.instanceOrder.push(inst.name);
    }
    for (const g of config.vrrpSyncGroups) {
      this.targets.set(groupOwner(g.name), {
        type: 'GROUP', name: g.name, owner: groupOwner(g.name), scripts: groupScripts(g), state: null, priority: 0,
        notifyDeleted: false, priorityChanges: false, rxLowerPriBusy: false,
      });
      this.groupOrder.push(g.name);
    }
    if (deps.fifos) {
      this.sinks = deps.fifos;
    } else {
      const g = config.globalDefs;
      for (const [keyword, fifo, script] of [
        ['notify_fifo', g.notifyFifo, g.notifyFifoScript],
        ['vrrp_notify_fifo', g.vrrpNotifyFifo, g.vrrpNotifyFifoScript],
      ] as const) {
        if (!fifo) continue;
        // validate.ts drops a vrrp_notify_fifo that is notify_fifo's path; guard anyway.
        if (this.ownFifos.some((f) => f.path === fifo.path)) continue;
        this.ownFifos.push(new NotifyFifo({
          keyword, path: fifo.path, owner: fifo.user ? { user: fifo.user, ...(fifo.group ? { group: fifo.group } : {}) } : null,
          script, runner: deps.runner, log: deps.log, scriptUser: g.scriptUser, enableScriptSecurity: g.enableScriptSecurity,
          ...deps.fifoOptions,
        }));
      }
      this.sinks = this.ownFifos;
    }
  }

  /** Open the FIFOs (create, start their scripts). Lines written before it finishes are queued. */
  async start(): Promise<void> {
    await Promise.all(this.ownFifos.map((f) => f.open()));
  }

  /**
   * An instance's state change (InstanceDeps.onTransition: rec.to, rt.status().effectivePriority).
   * INIT is ignored: it only follows `shutdown`, and STOP comes from shutdown().
   */
  instanceTransition(instance: string, to: Exclude<NotifyState, 'DELETED'> | 'INIT', priority: number): void {
    if (to === 'INIT') return;
    this.transition(this.targets.get(instanceOwner(instance)), instance, to, priority);
  }

  /** A sync group's state change (SyncGroup.onState). keepalived passes 0 as a group's priority. */
  groupTransition(group: string, to: Exclude<NotifyState, 'DELETED'> | 'INIT', priority = 0): void {
    if (to === 'INIT') return;
    this.transition(this.targets.get(groupOwner(group)), group, to, priority);
  }

  /** As master, an advert from a lower-priority master arrived; `priority` is our effective priority. */
  masterRxLowerPri(instance: string, priority: number): void {
    const t = this.targets.get(instanceOwner(instance));
    if (!t || this.stopping || this.closed) return;
    t.priority = priority;
    let scripts = 0;
    const cmd = t.scripts.rxLowerPri;
    if (cmd) {
      if (t.rxLowerPriBusy) {
        // A lower-priority master adverts every second; one run at a time is enough.
        this.counters.skipped += 1;
      } else {
        t.rxLowerPriBusy = true;
        scripts = 1;
        this.submit(t, {
          owner: t.owner, kind: 'notify', name: `notify_master_rx_lower_pri(${instance})`, command: cmd.command,
          user: userOf(cmd), timeoutMs: this.timeouts.timeoutMs,
        }, () => { t.rxLowerPriBusy = false; });
      }
    }
    this.event(t, 'MASTER_RX_LOWER_PRI', priority, scripts);
  }

  /** The effective priority changed (trackers): a FIFO line when notify_priority_changes is on. */
  priorityChanged(instance: string, priority: number): void {
    const t = this.targets.get(instanceOwner(instance));
    if (!t || this.stopping || this.closed || t.priority === priority) return;
    t.priority = priority;
    if (!t.priorityChanges) return;
    this.event(t, t.state === 'MASTER' ? 'MASTER_PRIORITY' : 'BACKUP_PRIORITY', priority, 0);
  }

  /** A reload removed the instance: DELETED with notify_deleted, else FAULT unless it was in FAULT. */
  instanceDeleted(instance: string, priority?: number): void {
    const t = this.targets.get(instanceOwner(instance));
    if (!t || this.closed || t.state === 'DELETED' || t.state === 'STOP') return;
    const p = priority ?? t.priority;
    if (t.notifyDeleted) this.transition(t, instance, 'DELETED', p);
    else if (t.state !== 'FAULT') this.transition(t, instance, 'FAULT', p);
    t.state = 'DELETED';
  }

  /** From now on only STOP is notified: transitions caused by stopping the instances are not news. */
  beginShutdown(): void {
    this.stopping = true;
  }

  /**
   * STOP for every instance, then every sync group, as keepalived's notify_shutdown()
   * (vrrp_notify.c:354-369). Call after the instances have stopped (VIPs released), then close().
   */
  shutdown(priorityOf: (instance: string) => number | undefined = () => undefined): void {
    this.stopping = true;
    for (const name of this.instanceOrder) {
      const t = this.targets.get(instanceOwner(name))!;
      this.transition(t, name, 'STOP', priorityOf(name) ?? t.priority);
    }
    for (const name of this.groupOrder) this.transition(this.targets.get(groupOwner(name)), name, 'STOP', 0);
  }

  status(): NotifierStatus {
    let outstanding = 0;
    let running = 0;
    for (const n of this.outstanding.values()) {
      outstanding += n;
      if (n > 0) running += 1;
    }
    return {
      queued: outstanding - running, running, counters: { ...this.counters }, last: this.last, lastResult: this.lastResult,
      fifos: this.ownFifos.map((f) => f.status()),
    };
  }

  /**
   * Wait for the notifications already submitted (STOP included) up to closeWaitMs, then close
   * the FIFOs this notifier opened. Close the script runner after this: it kills what is left.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopping = true;
    const waitMs = this.deps.closeWaitMs ?? DEFAULT_CLOSE_WAIT_MS;
    let timer: NodeJS.Timeout | undefined;
    const all = Promise.allSettled([...this.inflight]).then(() => true);
    const late = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), waitMs); });
    const done = await Promise.race([all, late]);
    if (timer) clearTimeout(timer);
    if (!done) {
      const s = this.status();
      this.deps.log.warn({ queued: s.queued, running: s.running },
        `notify scripts still running ${waitMs} ms after shutdown began (${s.running + s.queued} left); they are killed with the script runner`);
    }
    await Promise.all(this.ownFifos.map((f) => f.close()));
  }

  private transition(t: Target | undefined, name: string, to: NotifyState, priority: number): void {
    if (!t) {
      this.deps.log.warn({ name, to }, `notify: no vrrp_instance or vrrp_sync_group named ${name} in the configuration; ${to} not notified`);
      return;
    }
    if (this.closed || (this.stopping && to !== 'STOP') || t.state === 'DELETED') return;
    t.priority = priority;
    if (t.state === to) {
      this.counters.skipped += 1;
      return;
    }
    t.state = to;
    const jobs = notifyJobs(t.type, name, t.scripts, to, priority, this.timeouts);
    for (const job of jobs) this.submit(t, job);
    this.event(t, to, priority, jobs.length);
  }

  private event(t: Target, event: FifoEvent, priority: number, scripts: number): void {
    this.counters.events += 1;
    this.last = { type: t.type, name: t.name, event, priority, scripts, wall: new Date().toISOString() };
    const line = fifoLine(t.type, t.name, event, priority);
    for (const sink of this.sinks) {
      try {
        sink.write(line);
      } catch (e) {
        this.deps.log.error({ err: (e as Error).message }, `notify FIFO write failed: ${(e as Error).message}`);
      }
    }
  }

  private submit(t: Target, job: ScriptJob, after?: () => void): void {
    const n = (this.outstanding.get(t.owner) ?? 0) + 1;
    this.outstanding.set(t.owner, n);
    this.counters.scripts += 1;
    if (n > BACKLOG_WARN) {
      const suppressed = this.backlogLimiter.admit(t.owner, performance.now());
      if (suppressed !== null) {
        this.deps.log.warn({ owner: t.owner, waiting: n - 1 },
          `${t.type === 'INSTANCE' ? `(${t.name})` : `VRRP_Group(${t.name})`} ${n - 1} notify scripts are waiting for the one running: it is slow (timeout ${this.timeouts.timeoutMs} ms)`);
      }
    }
    let result: Promise<ScriptResult>;
    try {
      result = this.deps.runner.run(job);
    } catch (e) {
      result = Promise.reject(e);
    }
    const p = result.then((r) => this.finished(t, job, r), (e: unknown) => this.finished(t, job, {
      exitCode: null, signal: null, timedOut: false, durationMs: 0, stdout: '', stderr: '',
      error: `script runner failed: ${(e as Error)?.message ?? String(e)}`,
    })).finally(() => {
      const left = (this.outstanding.get(t.owner) ?? 1) - 1;
      if (left > 0) this.outstanding.set(t.owner, left);
      else this.outstanding.delete(t.owner);
      this.inflight.delete(p);
      after?.();
    });
    this.inflight.add(p);
  }

  private finished(t: Target, job: ScriptJob, r: ScriptResult): void {
    const log = this.deps.log;
    this.lastResult = {
      owner: job.owner, script: job.name, exitCode: r.exitCode, signal: r.signal, timedOut: r.timedOut, error: r.error,
      durationMs: r.durationMs, wall: new Date().toISOString(),
    };
    const fields = { owner: job.owner, script: job.name, command: job.command, exitCode: r.exitCode, signal: r.signal };
    if (r.timedOut) {
      this.counters.timedOut += 1;
      log.warn(fields, `${job.name} '${job.command}' timed out after ${job.timeoutMs} ms and was killed (its process group); the next notification of ${t.name} runs now`);
    } else if (r.error !== null) {
      // The runner has logged why (not found, refused by script security, unknown user …).
      this.counters.notRun += 1;
    } else if (r.exitCode !== 0) {
      this.counters.failed += 1;
      log.info(fields, `${job.name} '${job.command}' ${r.signal ? `was killed by ${r.signal}` : `exited with status ${r.exitCode}`}`);
    }
  }
}
