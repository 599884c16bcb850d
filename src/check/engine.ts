// The checker side in one object: per-real-server TCP checks on a shared timer heap, the pool state
// of every virtual server, notify scripts, and the IPVS reconciler. Its dependencies (clock, probe,
// ipvsadm backend, script runner, log sink) are injected, so unit tests drive it with fakes and
// the worker thread runs it with the real ones.
import type { Checker, Config, NotifyCmd, RealServer, VirtualServer } from '../config/model.js';
import { desiredServices } from '../ipvs/desired.js';
import { formatRs, formatVs } from '../ipvs/format.js';
import type { IpvsBackend } from '../ipvs/ipvsadm.js';
import type { IpvsService } from '../ipvs/model.js';
import { confirmInitialDown, liveWeight, reevaluateQuorum, setRealServerAlive, startPool, stopPool } from '../ipvs/pool.js';
import type { PoolEvent, PoolState } from '../ipvs/pool.js';
import { Reconciler } from '../ipvs/reconciler.js';
import type { ReconcilerStatus, StopMode } from '../ipvs/reconciler.js';
import type { OwnedStore } from '../ipvs/owned.js';
import { realServerDestKeys } from '../ipvs/desired.js';
import { destKey, type IpvsTable } from '../ipvs/model.js';
import type { DrainKey } from '../daemon/drain.js';
import type { Clock } from './clock.js';
import type { ScriptRunner } from './notify.js';
import type { Probe } from './tcp-probe.js';
import type { CheckerRuntime, CheckStep, Outcome } from './checker.js';
import { createChecker, realCheckerIo, type CheckerIo } from './factory.js';
import { TimerHeap } from './timer-heap.js';
import { formatCheckerPlan, ipvsReloadOps, planCheckerReload, removedRealServerEvents, removedVirtualServerEvents } from '../ipvs/reload-plan.js';
import { serviceKey, toTable } from '../ipvs/model.js';
import type { TimerEntry } from './timer-heap.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Longest wait for the kernel table read that adoption needs before starting without it. */
const ADOPT_READ_WAIT_MS = 5000;
/** Longest wait for the first IPVS sync before the checks start anyway. */
const FIRST_SYNC_WAIT_MS = 30_000;
export type LogSink = (level: LogLevel, msg: string, fields: Record<string, unknown>) => void;

export interface EngineDeps {
  clock: Clock;
  probe: Probe;
  backend: IpvsBackend;
  runScript: ScriptRunner;
  log: LogSink;
  /** Called when the status snapshot may have changed (health or IPVS). */
  onChange?: () => void;
  resyncMs?: number;
  coalesceMs?: number;
  /** Checks due within this many ms share one wake-up (0 = exact timers). */
  timerSlackMs?: number;
  /**
   * Known health by real server (key: rsKey(vs, rs) with the names status() prints), e.g. the
   * last snapshot of a checker side that died: those servers start in that state, as if already
   * checked (no alpha wait, no retries used, no up/down notifiers, quorum set silently).
   */
  initialHealth?: ReadonlyMap<string, boolean>;
  /** What stop() leaves in the kernel: 'remove' (keepalived's default), 'keep' (-I), 'flush'. */
  stopMode?: StopMode;
  /** The record of services hakeep created (removed from the config → removed at start). */
  owned?: OwnedStore | null;
  /** The other checkers' I/O (HTTP, scripts, UDP, DNS, SMTP, ICMP, files); absent parts use the real ones. */
  io?: Partial<CheckerIo>;
  /** The facts keepalived's e-mail alerts are made of (src/alert/hooks.ts turns them into mail). */
  onAlert?: (e: EngineAlert) => void;
}

/** The parts of a virtual / real server an e-mail alert needs (self-contained: valid across reloads). */
export type AlertVs = Pick<VirtualServer, 'address' | 'protocol' | 'smtpAlert' | 'omega' | 'quorum' | 'hysteresis'>;
export type AlertRs = Pick<RealServer, 'ip' | 'port' | 'smtpAlert'>;

/**
 * What the checker side reports for e-mail alerts. `rs`: a checker changed (keepalived's
 * check_*.c alert points); `pool`: the pool's quorum log events; `stop`: hakeep is stopping, with
 * the real servers alive at that moment.
 */
export type EngineAlert =
  | { kind: 'rs'; vs: AlertVs; rs: AlertRs; type: Checker['type']; checkerUp: boolean; rsAlive: boolean; rsChanged: boolean; detail?: string }
  | { kind: 'pool'; vs: AlertVs; events: PoolEvent[] }
  | { kind: 'stop'; vs: AlertVs; alive: AlertRs[] };

function alertVs(vs: VirtualServer): AlertVs {
  return { address: vs.address, protocol: vs.protocol, smtpAlert: vs.smtpAlert ?? false, omega: vs.omega, quorum: vs.quorum, hysteresis: vs.hysteresis };
}
function alertRs(rs: RealServer): AlertRs {
  return { ip: rs.ip, port: rs.port, smtpAlert: rs.smtpAlert ?? true };
}

/** The key of a real server in initialHealth: the VS and RS names as status() prints them. */
export function rsKey(vsName: string, rsName: string): string {
  return `${vsName} ${rsName}`;
}

interface CheckerRt {
  rt: CheckerRuntime;
  /** Its virtual and real server now (a reload moves a kept checker into the new ones). */
  v: VsRt;
  r: RsRt;
  /** The next check and the running attempt's inactivity timeout: one heap entry each, for life. */
  next: TimerEntry;
  tmo: TimerEntry;
  abort: (() => void) | null;
  /** Bound once: the attempt's done callback (no closure per check). */
  done: (outcome: Outcome, detail: string) => void;
  unwatch: (() => void) | null;
  lastOutcome: Outcome | null;
  lastDetail: string | null;
  lastCheckAt: number | null;
  checks: number;
  failures: number;
}

interface RsRt {
  rs: RealServer;
  index: number;
  name: string;
  checkers: CheckerRt[];
}

interface VsRt {
  vs: VirtualServer;
  /** Index in config.virtualServers. */
  index: number;
  /** `vs` with each real server's effective weight (configured + the checkers' dynamic weights). */
  eff: VirtualServer;
  name: string;
  pool: PoolState;
  rs: RsRt[];
}

export interface CheckStatus {
  virtualServers: {
    vs: string;
    quorumUp: boolean;
    sorryServerActive: boolean;
    liveWeight: number;
    realServers: {
      rs: string;
      weight: number;
      alive: boolean;
      inhibitOnFailure: boolean;
      checkers: {
        type: Checker['type'];
        target: string;
        up: boolean;
        /** Added to the configured weight (misc_dynamic, FILE_CHECK). */
        weight: number;
        lastOutcome: Outcome | null;
        lastDetail: string | null;
        lastCheckAt: number | null;
        checks: number;
        failures: number;
      }[];
    }[];
  }[];
  checks: { total: number; failures: number };
  ipvs: ReconcilerStatus;
}

/** keepalived's real_weight (check_data.h:265-272): what IPVS gets from an effective weight. */
function realWeight(w: number): number {
  return w < 0 ? 0 : Math.min(w, 2147483647);
}

export class CheckEngine {
  private vss: VsRt[];
  private readonly heap: TimerHeap;
  private readonly reconciler: Reconciler;
  private stopped = false;
  private started = false;
  /** serviceDestKey()s of the destinations drained by hand (`hakeep rs drain`). */
  private drained: ReadonlySet<string> = new Set();
  /** The drains as given (`hakeep rs drain`), kept for a reload. */
  private drainKeys: readonly DrainKey[] = [];
  private totalChecks = 0;
  private totalFailures = 0;

  private readonly io: CheckerIo;

  constructor(private config: Config, private readonly deps: EngineDeps) {
    this.heap = new TimerHeap(deps.clock, deps.timerSlackMs ?? 0);
    this.io = { ...realCheckerIo(), tcpProbe: deps.probe, ...deps.io };
    this.vss = config.virtualServers.map((vs, i) => this.buildVs(vs, i));
    this.reconciler = new Reconciler({
      backend: deps.backend,
      timers: deps.clock,
      log: deps.log,
      ...(deps.resyncMs !== undefined ? { resyncMs: deps.resyncMs } : {}),
      ...(deps.coalesceMs !== undefined ? { coalesceMs: deps.coalesceMs } : {}),
      onSynced: () => deps.onChange?.(),
      ...(deps.stopMode !== undefined ? { stopMode: deps.stopMode } : {}),
      ...(deps.owned !== undefined ? { owned: deps.owned } : {}),
    });
  }

  private buildVs(vs: VirtualServer, index: number): VsRt {
    const name = formatVs(vs);
    const v: VsRt = { vs, index, eff: { ...vs, realServers: vs.realServers.map((r) => ({ ...r })) }, name, pool: { alive: [], quorumUp: false, sorryActive: false }, rs: [] };
    const logAll = this.config.globalDefs.checkerLogAllFailures;
    v.rs = vs.realServers.map((r, index): RsRt => {
      const rsName = formatRs(r, vs);
      const rr: RsRt = { rs: r, index, name: rsName, checkers: [] };
      const known = this.deps.initialHealth?.get(rsKey(name, rsName));
      for (const c of r.checkers) {
        rr.checkers.push(this.newChecker(v, rr, c, this.config, logAll, this.deps.log, known));
      }
      this.applyWeight(v, rr, false);
      return rr;
    });
    if (vs.haSuspend) this.deps.log('warn', `ha_suspend of VS ${name} is not supported; checks always run`, { vs: name });
    // The pool proper starts in start(), once the kernel table has been read (adoption); until
    // then status shows the checkers' initial states.
    v.pool = { alive: v.rs.map((r) => r.checkers.every((c) => c.rt.up)), quorumUp: false, sorryActive: false };
    return v;
  }

  /**
   * A real server's effective weight: its configured weight plus its checkers' dynamic weights
   * (keepalived's effective_weight = iweight + Σ cur_weight, update_svr_wgt ipwrapper.c:700-730).
   * Returns whether the IPVS weight changed; with `log`, says so in keepalived's words.
   */
  private applyWeight(v: VsRt, r: RsRt, log: boolean): boolean {
    let w = r.rs.weight;
    for (const c of r.checkers) w += c.rt.curWeight;
    const eff = v.eff.realServers[r.index]!;
    const before = realWeight(eff.weight);
    const after = realWeight(w);
    eff.weight = after;
    if (before === after) return false;
    if (log) {
      this.deps.log('info', `Changing weight from ${before} to ${after} for ${v.pool.alive[r.index] ? '' : 'in'}active service ${r.name} of VS ${v.name}`, { vs: v.name, rs: r.name, weight: after });
    }
    return true;
  }

  /**
   * Adoption after a restart over an existing table (-I, SIGKILL): an alpha real server whose
   * destinations are all in the kernel with a weight starts alive, as if already checked, so it
   * is neither removed nor re-added before its first check. (Non-alpha servers start alive
   * anyway, as in keepalived; a known health from a restarted checker side wins over both.)
   */
  private adopt(kernel: IpvsTable): void {
    for (const v of this.vss) {
      for (const r of v.rs) {
        if (r.checkers.every((c) => c.rt.up) || this.deps.initialHealth?.has(rsKey(v.name, r.name))) continue;
        const keys = realServerDestKeys(v.vs, this.config.virtualServerGroups, r.rs);
        const present = keys.length > 0 && keys.every((k) => {
          const [svc, dest] = k.split(' -r ');
          const s = kernel.get(svc!);
          return s?.dests.some((d) => destKey(d) === dest && d.weight > 0) ?? false;
        });
        if (!present) continue;
        for (const c of r.checkers) c.rt.resume(true);
        this.deps.log('info', `Adopting service ${r.name} of VS ${v.name}: in the IPVS table already, kept until its first check`, { vs: v.name, rs: r.name });
      }
    }
  }

  /** Real servers drained by hand: their IPVS weight is pinned at 0 until enabled again. */
  setDrained(keys: readonly DrainKey[]): void {
    this.drainKeys = keys;
    const next = new Set<string>();
    for (const v of this.vss) {
      for (const r of v.rs) {
        if (keys.some((k) => k.vs === v.name && k.rs === r.name)) {
          for (const dk of realServerDestKeys(v.vs, this.config.virtualServerGroups, r.rs)) next.add(dk);
        }
      }
    }
    const before = this.drained;
    this.drained = next;
    if (!this.started) return;
    for (const v of this.vss) {
      const keysOf = v.rs.flatMap((r) => realServerDestKeys(v.vs, this.config.virtualServerGroups, r.rs));
      if (keysOf.some((k) => before.has(k) !== next.has(k))) {
        this.reconciler.update(desiredServices(v.eff, this.config.virtualServerGroups, v.pool, this.drained));
      }
    }
    this.deps.onChange?.();
  }

  /** Every configured service as it should be in the kernel now. */
  desired(): IpvsService[] {
    return this.vss.flatMap((v) => desiredServices(v.eff, this.config.virtualServerGroups, v.pool, this.drained));
  }

  /**
   * Program IPVS first, then start the checks (as keepalived does): the initial table does not
   * compete with thousands of first checks, and a slow or failing ipvsadm delays them by at most
   * FIRST_SYNC_WAIT_MS.
   */
  async start(): Promise<void> {
    // Read what the kernel holds first: entries a previous run left are adopted, not re-added.
    // A hung or failing ipvsadm must not hold the start: adopt nothing after ADOPT_READ_WAIT_MS
    // (IPVS unavailable: the reconciler reports it and retries).
    let timer: unknown = null;
    const kernel = await Promise.race([
      this.reconciler.readKernel().catch(() => null),
      new Promise<null>((r) => { timer = this.deps.clock.setTimeout(() => r(null), ADOPT_READ_WAIT_MS); }),
    ]);
    this.deps.clock.clearTimeout(timer);
    if (this.stopped) return;
    if (kernel) this.adopt(kernel);
    for (const v of this.vss) {
      const step = startPool(v.eff, v.rs.map((r) => r.checkers.every((c) => c.rt.up)));
      v.pool = step.state;
      this.emit(step.events, v);
    }
    this.started = true;
    this.reconciler.setDesired(this.desired());
    this.reconciler.start();
    let started = false;
    let fallback: unknown = null;
    const startChecks = (): void => {
      if (fallback !== null) this.deps.clock.clearTimeout(fallback);
      if (started || this.stopped) return;
      started = true;
      for (const v of this.vss) {
        for (const r of v.rs) {
          for (const c of r.checkers) {
            if (c.rt.watch) {
              c.unwatch = c.rt.watch((step) => { if (!this.stopped) this.applyStep(c.v, c.r, c, step); });
              continue;
            }
            // warmup: the first check comes at a random point within warmup (default delay_loop),
            // so thousands of checks do not all fire at once.
            this.scheduleFirst(c);
          }
        }
      }
    };
    fallback = this.deps.clock.setTimeout(startChecks, FIRST_SYNC_WAIT_MS);
    void this.reconciler.firstSync.then(startChecks);
  }

  /** One attempt, with its inactivity timeout on the shared heap. */
  private runCheck(v: VsRt, r: RsRt, c: CheckerRt): void {
    if (this.stopped) return;
    const rt = c.rt;
    const now = this.heap.now();
    rt.lastActivity = now;
    if (rt.timeoutMs !== null) this.heap.schedule(c.tmo, now + rt.timeoutMs);
    c.abort = rt.start(c.done);
  }

  private attemptDone(v: VsRt, r: RsRt, c: CheckerRt, outcome: Outcome, detail: string): void {
    this.heap.cancel(c.tmo);
    c.abort = null;
    if (!this.stopped) this.onResult(v, r, c, outcome, detail);
  }

  /** No progress for timeoutMs: abort and count a timeout; progress meanwhile re-arms it. */
  private attemptTimeout(v: VsRt, r: RsRt, c: CheckerRt): void {
    if (this.stopped) return;
    const rt = c.rt;
    const now = this.heap.now();
    const idle = now - rt.lastActivity;
    if (rt.timeoutMs !== null && idle < rt.timeoutMs) {
      this.heap.schedule(c.tmo, now + rt.timeoutMs - idle);
      return;
    }
    const abort = c.abort;
    c.abort = null;
    const detail = rt.timeoutDetail();
    abort?.();
    this.onResult(v, r, c, rt.timeoutOutcome ?? 'timeout', detail);
  }

  private onResult(v: VsRt, r: RsRt, c: CheckerRt, outcome: Outcome, detail: string): void {
    const now = this.heap.now();
    this.totalChecks++;
    c.checks++;
    c.lastOutcome = outcome;
    c.lastDetail = detail;
    c.lastCheckAt = now;
    if (outcome !== 'success') {
      this.totalFailures++;
      c.failures++;
    }
    const step = c.rt.result(outcome, detail);
    this.applyStep(v, r, c, step, outcome, detail);
    if (!this.stopped) this.heap.schedule(c.next, now + step.delay * 1000);
  }

  /** A checker's step: its log lines, then the real server's health, weight and the pool. */
  private applyStep(v: VsRt, r: RsRt, c: CheckerRt, step: CheckStep, outcome?: Outcome, detail?: string): void {
    for (const msg of step.logs) {
      this.deps.log('info', msg, { vs: v.name, rs: r.name, target: c.rt.target, ...(outcome ? { outcome, detail } : {}) });
    }
    let changed = false;
    if (step.weightChanged && this.applyWeight(v, r, true)) {
      changed = true;
      if (this.started) {
        const q = reevaluateQuorum(v.eff, v.pool);
        v.pool = q.state;
        this.emit(q.events, v);
      }
    }
    const wasAlive = v.pool.alive[r.index] === true;
    if (step.change === 'initial-down') this.emit(confirmInitialDown(v.eff, v.pool, r.index), v);
    let p: ReturnType<typeof setRealServerAlive> | null = null;
    if (step.change === 'up' || step.change === 'down') {
      const alive = r.checkers.every((x) => x.rt.up);
      p = setRealServerAlive(v.eff, v.pool, r.index, alive);
      v.pool = p.state;
      if (p.events.length > 0) changed = true;
    }
    // keepalived mails from the checker (check_tcp.c:104-131 …) before the pool's quorum mail;
    // MISC_CHECK also mails a first failure of a checker that started down (check_misc.c:483-491).
    if (this.deps.onAlert && this.started && (p !== null || (step.change === 'initial-down' && c.rt.type === 'MISC_CHECK'))) {
      const rsAlive = v.pool.alive[r.index] === true;
      const det = c.rt.type === 'MISC_CHECK' ? (outcome === 'timeout' ? 'timed out' : undefined)
        : c.rt.type === 'SMTP_CHECK' && step.change !== 'up' ? detail : undefined;
      this.deps.onAlert({
        kind: 'rs', vs: alertVs(v.vs), rs: alertRs(r.rs), type: c.rt.type, checkerUp: step.change === 'up', rsAlive, rsChanged: rsAlive !== wasAlive,
        ...(det ? { detail: det } : {}),
      });
    }
    if (p) this.emit(p.events, v);
    if (changed && this.started) {
      this.reconciler.update(desiredServices(v.eff, this.config.virtualServerGroups, v.pool, this.drained));
      this.deps.onChange?.();
    } else if (step.change !== null) {
      this.deps.onChange?.();
    }
  }

  private emit(events: PoolEvent[], v?: VsRt): void {
    if (v && this.deps.onAlert && events.some((e) => e.kind === 'log' && (e.fields.event === 'quorum_up' || e.fields.event === 'quorum_down'))) {
      this.deps.onAlert({ kind: 'pool', vs: alertVs(v.vs), events: events.filter((e) => e.kind === 'log') });
    }
    for (const e of events) {
      if (e.kind === 'log') this.deps.log('info', e.msg, e.fields);
      else this.notify(e.command, e.what, e.rs ?? e.vs);
    }
  }

  private notify(cmd: NotifyCmd, what: string, target: string): void {
    this.deps.log('debug', `Running ${what} script for ${target}: ${cmd.command}`, { script: cmd.command, what });
    this.deps.runScript(cmd, what, (level, msg, fields) => this.deps.log(level, msg, fields), target);
  }

  /** Run `deliver` (a batch of probe completions) with one clock read for all of it. */
  inBatch(deliver: () => void): void {
    this.heap.batch(deliver);
  }

  /** Stop checking, run the stop notifiers (omega) and remove the services hakeep created. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.heap.clear();
    for (const v of this.vss) {
      for (const r of v.rs) {
        for (const c of r.checkers) this.retire(c);
      }
    }
    for (const v of this.vss) {
      this.deps.onAlert?.({ kind: 'stop', vs: alertVs(v.vs), alive: v.rs.filter((r) => v.pool.alive[r.index]).map((r) => alertRs(r.rs)) });
      this.emit(stopPool(v.eff, v.pool));
    }
    // Stopped before start() handed the table over (its first read of the kernel still running):
    // what the stop removes is still every configured service, as keepalived's stop does.
    if (!this.started) this.reconciler.setDesired(this.desired());
    await this.reconciler.stop();
  }

  /** One checker's runtime with its two heap entries, bound to its (current) servers. */
  private newChecker(v: VsRt, r: RsRt, c: Checker, config: Config, logAll: boolean, log: LogSink, known: boolean | undefined): CheckerRt {
    const rt = createChecker(c, { vs: v.vs, rs: r.rs, vsName: v.name, rsName: r.name, config, logAll: c.logAllFailures || logAll, clock: this.heap, log }, this.io);
    if (known !== undefined) rt.resume(known);
    const cr: CheckerRt = {
      rt, v, r, abort: null, unwatch: null,
      next: this.heap.entry(() => this.runCheck(cr.v, cr.r, cr)),
      tmo: this.heap.entry(() => this.attemptTimeout(cr.v, cr.r, cr)),
      done: (o, d) => this.attemptDone(cr.v, cr.r, cr, o, d),
      lastOutcome: null, lastDetail: null, lastCheckAt: null, checks: 0, failures: 0,
    };
    return cr;
  }

  /** The first check at a random point within warmup (default delay_loop), or the file watch. */
  private scheduleFirst(c: CheckerRt): void {
    if (c.rt.watch) {
      c.unwatch = c.rt.watch((step) => { if (!this.stopped) this.applyStep(c.v, c.r, c, step); });
      return;
    }
    const spread = c.rt.check.warmup ?? c.rt.check.delayLoop;
    this.heap.schedule(c.next, this.heap.now() + this.deps.clock.random() * spread * 1000);
  }

  /** A checker leaves: no more attempts, its running one aborted, its watch closed. */
  private retire(c: CheckerRt): void {
    this.heap.cancel(c.next);
    this.heap.cancel(c.tmo);
    c.abort?.();
    c.abort = null;
    c.unwatch?.();
    c.unwatch = null;
    c.rt.dispose?.();
  }

  /** What a reload to `next` would do (`hakeep plan`): the same lines reload() logs; nothing changes. */
  planReload(next: Config): string[] {
    const plan = this.prepareReload(next, true);
    // The plan built the new checkers to compare them; they never run.
    for (const c of plan.fresh) c.rt.dispose?.();
    return plan.lines;
  }

  /**
   * Reload (SIGHUP) without disruption (src/ipvs/reload-plan.ts): unchanged virtual servers keep
   * their IPVS entries, health and running checks; added and removed real servers change exactly
   * their destinations; a changed checker restarts from its real server's current health; removed
   * virtual servers are deleted (only services hakeep manages: the owned record). Returns the
   * plan's lines, which are also what planReload(next) said.
   */
  reload(next: Config): string[] {
    if (this.stopped) return ['not reloaded: the checker side is stopping'];
    const r = this.prepareReload(next, false);
    for (const c of r.retired) this.retire(c);
    this.config = next;
    this.vss = r.vss;
    this.drained = r.drained;
    for (const { v, events } of r.events) this.emit(events, v);
    if (this.started) {
      this.reconciler.setDesired(this.desired());
      for (const c of r.fresh) this.scheduleFirst(c);
    }
    this.deps.onChange?.();
    return r.lines;
  }

  /**
   * The state after a reload to `next`, built beside the running one. `dry`: for a plan, nothing
   * running is touched (kept checkers are only read; new runtimes are built silently and dropped).
   */
  private prepareReload(next: Config, dry: boolean): {
    vss: VsRt[]; retired: CheckerRt[]; fresh: CheckerRt[]; events: { v: VsRt | undefined; events: PoolEvent[] }[]; drained: ReadonlySet<string>; lines: string[];
  } {
    const plan = planCheckerReload(this.config, next);
    const log: LogSink = dry ? () => {} : this.deps.log;
    const logAll = next.globalDefs.checkerLogAllFailures;
    const retired: CheckerRt[] = [];
    const fresh: CheckerRt[] = [];
    const events: { v: VsRt | undefined; events: PoolEvent[] }[] = [];
    const vss: VsRt[] = new Array<VsRt>(next.virtualServers.length);
    const inPool = (v: VsRt, i: number): boolean => (v.pool.alive[i] === true && !v.pool.sorryActive) || v.rs[i]!.rs.inhibitOnFailure;
    for (const vc of plan.virtualServers) {
      if (vc.kind === 'removed') {
        const old = this.vss[vc.oldIndex!]!;
        for (const r of old.rs) retired.push(...r.checkers);
        events.push({ v: old, events: removedVirtualServerEvents(old.eff, old.pool.alive, old.rs.map((_, i) => this.started && inPool(old, i)), old.pool.quorumUp) });
        continue;
      }
      const vs = next.virtualServers[vc.newIndex!]!;
      const old = vc.oldIndex === null ? null : this.vss[vc.oldIndex]!;
      // (index: its place in the new config; an assertion, so the shape holds with or without it)
      const v = {
        vs, index: vc.newIndex!, eff: { ...vs, realServers: vs.realServers.map((r) => ({ ...r })) }, name: formatVs(vs),
        pool: { alive: [], quorumUp: false, sorryActive: false }, rs: [] as RsRt[],
      } as VsRt;
      const vsEvents: PoolEvent[] = [];
      v.rs = vs.realServers.map((rs, index): RsRt => ({ rs, index, name: formatRs(rs, vs), checkers: [] }));
      for (const rc of vc.realServers) {
        if (rc.kind === 'removed') {
          const or = old!.rs[rc.oldIndex!]!;
          retired.push(...or.checkers);
          vsEvents.push(...removedRealServerEvents(old!.name, or.name, or.rs, old!.pool.alive[or.index] === true, this.started && inPool(old!, or.index)));
          continue;
        }
        const rr = v.rs[rc.newIndex!]!;
        const or = old && rc.oldIndex !== null ? old.rs[rc.oldIndex]! : null;
        for (const cc of rc.checkers) {
          if (cc.kind === 'removed') {
            retired.push(or!.checkers[cc.oldIndex!]!);
            continue;
          }
          const c = rr.rs.checkers[cc.newIndex!]!;
          if (cc.kind === 'kept') {
            const kept = or!.checkers[cc.oldIndex!]!;
            if (!dry) {
              kept.v = v;
              kept.r = rr;
            }
            rr.checkers[cc.newIndex!] = kept;
            continue;
          }
          // restarted: from the real server's current health (as if checked, no retry used); the
          // old runtime stops.
          const known = cc.kind === 'restarted' ? or!.checkers[cc.oldIndex!]!.rt.up : undefined;
          if (cc.kind === 'restarted') retired.push(or!.checkers[cc.oldIndex!]!);
          const cr = this.newChecker(v, rr, c, next, logAll, log, known);
          rr.checkers[cc.newIndex!] = cr;
          fresh.push(cr);
        }
        this.applyWeight(v, rr, false);
      }
      const alive = v.rs.map((r) => r.checkers.every((c) => c.rt.up));
      if (old === null || !this.started) {
        // A new virtual server (or a reload before the first sync): its pool starts as at start.
        const step = startPool(v.eff, alive);
        v.pool = old === null && this.started ? step.state : { alive, quorumUp: false, sorryActive: false };
        if (old === null && this.started) vsEvents.push(...step.events);
      } else {
        // Kept or changed: the quorum state carries over and is evaluated again with the new
        // pool (real servers added or removed, weights, quorum settings).
        const sorryActive = old.pool.sorryActive && vs.sorryServer !== null;
        const q = reevaluateQuorum(v.eff, { alive, quorumUp: old.pool.quorumUp, sorryActive });
        v.pool = q.state;
        for (const rc of vc.realServers) {
          if (rc.kind === 'added' && alive[rc.newIndex!]) vsEvents.push({ kind: 'log', msg: `Adding service ${v.rs[rc.newIndex!]!.name} to VS ${v.name}`, fields: { vs: v.name, rs: v.rs[rc.newIndex!]!.name, alive: true } });
        }
        vsEvents.push(...q.events);
      }
      if (vsEvents.length > 0) events.push({ v, events: vsEvents });
      vss[vc.newIndex!] = v;
    }
    const drained = this.drainedKeys(vss, next, this.drainKeys);
    const desired = vss.flatMap((v) => desiredServices(v.eff, next.virtualServerGroups, v.pool, drained));
    const before = this.desired().map((s) => serviceKey(s.addr));
    const ops = this.started ? ipvsReloadOps(this.reconciler.observed() ?? toTable(this.desired()), desired, before) : [];
    const lines = formatCheckerPlan(plan, ops, (vsName, rsName) => {
      const v = vss.find((x) => x.name === vsName);
      const i = v?.rs.findIndex((r) => r.name === rsName) ?? -1;
      return v && i >= 0 ? v.pool.alive[i] === true : undefined;
    });
    if (!this.started) lines.push('IPVS: the first sync has not run yet; it programs the new table');
    return { vss, retired, fresh, events, drained, lines };
  }

  /** serviceDestKey()s of the drained real servers of these virtual servers. */
  private drainedKeys(vss: readonly VsRt[], config: Config, keys: readonly DrainKey[]): ReadonlySet<string> {
    const out = new Set<string>();
    for (const v of vss) {
      for (const r of v.rs) {
        if (keys.some((k) => k.vs === v.name && k.rs === r.name)) {
          for (const dk of realServerDestKeys(v.vs, config.virtualServerGroups, r.rs)) out.add(dk);
        }
      }
    }
    return out;
  }

  /** Apply pending IPVS changes now (tests). */
  flush(): Promise<void> {
    return this.reconciler.flush();
  }

  status(): CheckStatus {
    return {
      virtualServers: this.virtualServerStatus(0, this.vss.length),
      checks: { total: this.totalChecks, failures: this.totalFailures },
      ipvs: this.reconciler.status(),
    };
  }

  /** How many virtual servers status() lists (for virtualServerStatus slices). */
  get virtualServerCount(): number {
    return this.vss.length;
  }

  /** The checks made and failed so far (status().checks without the rest). */
  checkCounts(): CheckStatus['checks'] {
    return { total: this.totalChecks, failures: this.totalFailures };
  }

  /**
   * status().virtualServers[from, to): the checker child builds its snapshot a slice per event-loop
   * turn, so that at 10,000 real servers no single turn holds the loop (and its heartbeat) for
   * the whole snapshot.
   */
  virtualServerStatus(from: number, to: number): CheckStatus['virtualServers'] {
    return this.vss.slice(from, to).map((v) => ({
      vs: v.name,
      quorumUp: v.pool.quorumUp,
      sorryServerActive: v.pool.sorryActive,
      liveWeight: liveWeight(v.eff, v.pool),
      realServers: v.rs.map((r) => ({
        rs: r.name,
        weight: v.eff.realServers[r.index]!.weight,
        alive: v.pool.alive[r.index] === true,
        inhibitOnFailure: r.rs.inhibitOnFailure,
        checkers: r.checkers.map((c) => ({
          type: c.rt.type,
          target: c.rt.target,
          up: c.rt.up,
          weight: c.rt.curWeight,
          lastOutcome: c.lastOutcome,
          lastDetail: c.lastDetail,
          lastCheckAt: c.lastCheckAt,
          checks: c.checks,
          failures: c.failures,
        })),
      })),
    }));
  }

  /**
   * Each virtual server's real servers and alive flags as the engine holds them, without building
   * status() (≈30 ms at 10,000 real servers): the checker child compares them after every change.
   * A pool's `alive` array is replaced, never changed in place, when a real server changes.
   */
  aliveView(): readonly AliveView[] {
    return this.vss;
  }

  /** The reconciler's status alone (status().ipvs without the rest). */
  ipvsStatus(): ReconcilerStatus {
    return this.reconciler.status();
  }
}

/** Read-only view of a virtual server's health (CheckEngine.aliveView). */
export interface AliveView {
  readonly name: string;
  readonly rs: readonly { readonly name: string }[];
  readonly pool: { readonly alive: readonly boolean[] };
}
