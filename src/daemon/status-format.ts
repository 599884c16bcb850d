// The status document as people and programs read it: `hakeep status --json`, the table
// `hakeep status` prints, the metrics and the tests all start from this one versioned document.
// The runtimes keep monotonic milliseconds (right for arithmetic, meaningless to a person); this
// layer adds a wall-clock ISO string next to each of them (`X` → `XWall`), a health verdict with
// the exit code, and a few derived fields, without touching the runtimes. Pure: the caller passes
// the clock.
//
// Where it runs: in the client (`hakeep status`), not in the daemon. The daemon answers the raw
// status with its clock pair (`daemonClock`, see withDaemonClock) and nothing else: with 10,000
// real servers, building this document costs tens of milliseconds, which must not be spent on
// the VRRP event loop (measured with bench/observe/scrape-cost.mjs).
//
// Schema history (bump STATUS_SCHEMA_VERSION on any change that is not a new optional field):
//   1: first version.
import type { DrainKey } from './drain.js';
import type { FaultReason } from '../vrrp/fault-set.js';
import type { InstanceStatus, TransitionRecord, VipFailureStatus } from '../vrrp/instance.js';
import type { VrrpServiceStatus } from '../vrrp/service.js';
import type { FailingService, ReconcilerStatus } from '../ipvs/reconciler.js';

export const STATUS_SCHEMA_VERSION = 1;

/**
 * `hakeep status` exit codes, the monitoring-plugin convention (Nagios, Icinga, Sensu), so the
 * command works as a check as it is: 0 healthy, 1 degraded (part of the configuration is not in
 * force), 2 critical (an instance cannot hold its VIPs, or the checker side is unfit), 3 unknown
 * (no daemon answered, or its answer could not be read).
 */
export const STATUS_EXIT = { ok: 0, warning: 1, critical: 2, unknown: 3 } as const;

/** A monotonic and a wall-clock reading taken together: `performance.now()`, `Date.now()`. */
export interface ClockPair {
  mono: number;
  wall: number;
}

export type Severity = 'critical' | 'warning' | 'info';

export type ProblemKind =
  | 'instance_fault' // critical: the instance is in FAULT
  | 'checker_unhealthy' // critical: the checker side is unfit (its fronting instances are in FAULT)
  | 'vip_failure' // warning: a master could not add a VIP (retried with backoff)
  | 'ipvs_failing_service' // warning: the kernel refused a configured virtual service
  | 'quorum_lost' // info: a virtual server is below its quorum (the sorry server stands in, if any)
  | 'real_server_down' // info: health checking at work, not a fault of hakeep
  | 'status_error'; // critical: the daemon could not build its status

export interface HealthProblem {
  severity: Severity;
  kind: ProblemKind;
  /** An instance name, a virtual server (`[10.0.0.1]:tcp:80`) or `checker`. */
  subject: string;
  detail: string;
}

export interface HealthSummary {
  status: 'ok' | 'warning' | 'critical';
  /** What `hakeep status` exits with (STATUS_EXIT). */
  exitCode: 0 | 1 | 2;
  /** Most severe first. */
  problems: HealthProblem[];
}

export type InstanceView = Omit<InstanceStatus, 'lastTransition' | 'faults' | 'vipFailures'> & {
  lastTransition: (TransitionRecord & { atWall: string }) | null;
  faults: Array<FaultReason & { sinceWall: string | null }>;
  vipFailures: Array<VipFailureStatus & { nextRetryAtWall: string | null }>;
};

export type VrrpView = Omit<VrrpServiceStatus, 'instances'> & { instances: InstanceView[] };

/** One checker of a real server. The engine owns the shape; the fields read here are optional. */
export interface CheckerView {
  type: string;
  target?: string;
  up?: boolean;
  weight?: number;
  lastOutcome?: string | null;
  lastDetail?: string | null;
  /** Monotonic ms in the checker child's clock. */
  lastCheckAt?: number | null;
  /** null when unknown, or when the snapshot carries no clock (see CheckView.clock). */
  lastCheckAtWall: string | null;
  checks?: number;
  failures?: number;
  [extra: string]: unknown;
}

export interface RealServerView {
  rs: string;
  weight: number;
  alive: boolean;
  inhibitOnFailure?: boolean;
  /** Derived: drained by hand (`hakeep rs drain`, the document's `drained` list). */
  drained: boolean;
  checkers: CheckerView[];
  [extra: string]: unknown;
}

export interface VirtualServerView {
  vs: string;
  quorumUp: boolean;
  sorryServerActive: boolean;
  liveWeight: number;
  /** Derived: real servers alive, and configured. */
  realServersUp: number;
  realServersTotal: number;
  realServers: RealServerView[];
  [extra: string]: unknown;
}

type AtWall<T> = T extends { at: number } ? T & { atWall: string | null } : never;

export type IpvsView = Omit<ReconcilerStatus, 'lastError' | 'lastRead' | 'lastBatch' | 'failingServices'> & {
  lastSyncAtWall: string | null;
  lastError: AtWall<NonNullable<ReconcilerStatus['lastError']>> | null;
  lastRead: AtWall<NonNullable<ReconcilerStatus['lastRead']>> | null;
  lastBatch: AtWall<NonNullable<ReconcilerStatus['lastBatch']>> | null;
  failingServices: Array<FailingService & { sinceWall: string | null }>;
};

export interface CheckView {
  name: 'check';
  health: { ok: boolean; detail: string };
  child: { pid: number | null; generation: number; restarts: number; lastExit: string | null; probe: string | null; [extra: string]: unknown };
  virtualServers: VirtualServerView[];
  checks: { total: number; failures: number } | null;
  ipvs: IpvsView | null;
  /** The checker child's clock when it took the snapshot. Its times are in its own monotonic
   * clock: without this pair they get no wall time (null). */
  clock: ClockPair | null;
  [extra: string]: unknown;
}

export interface StatusDocument {
  schemaVersion: typeof STATUS_SCHEMA_VERSION;
  /** When the daemon built this document. */
  generatedAt: string;
  /** The daemon's monotonic ms at that moment: the reference for every monotonic field of the
   * VRRP side. */
  monoNow: number;
  version: string | null;
  pid: number | null;
  startedAt: string | null;
  configFile: string | null;
  health: HealthSummary;
  /** null: that side does not run in this hakeep (-P, -C, nothing configured). */
  services: { vrrp: VrrpView | null; check: CheckView | null };
  drained: DrainKey[];
  /** Fields the daemon adds that this version does not describe pass through unchanged. */
  [extra: string]: unknown;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** Monotonic ms → ISO wall time, given a clock pair read at one moment in the same clock. */
export function wallOf(clock: ClockPair | null, mono: number | null | undefined): string | null {
  if (clock === null || mono === null || mono === undefined || !Number.isFinite(mono)) return null;
  return new Date(clock.wall - (clock.mono - mono)).toISOString();
}

/** The daemon's clock now. */
export function clockNow(): ClockPair {
  return { mono: performance.now(), wall: Date.now() };
}

/** What the daemon answers on its status socket: the raw status and its clock, read now. */
export function withDaemonClock(raw: unknown): Record<string, unknown> {
  return { ...(isObj(raw) ? raw : { error: `status is not an object: ${JSON.stringify(raw)}` }), daemonClock: clockNow() };
}

function clockOf(v: unknown): ClockPair | null {
  return isObj(v) && num(v.mono) !== null && num(v.wall) !== null ? { mono: v.mono as number, wall: v.wall as number } : null;
}

/**
 * Build the document from what the daemon's status source returns (src/daemon/run.ts statusDoc:
 * version, pid, startedAt, configFile, services: { vrrp?, check? }, drained). `clock` is the
 * daemon's, read now; null for a document that left the daemon without one (the client then has
 * no way to place monotonic times). Idempotent: a document that is already normalised is
 * returned with its health re-assessed.
 */
export function normaliseStatus(raw: unknown, clockIn: ClockPair | null): StatusDocument {
  const withClock: Obj = isObj(raw) ? raw : { error: `status is not an object: ${JSON.stringify(raw)}` };
  if (withClock.schemaVersion === STATUS_SCHEMA_VERSION && isObj(withClock.services)) {
    const doc = withClock as StatusDocument;
    return { ...doc, health: assessHealth(doc) };
  }
  // The daemon's answer carries its clock (withDaemonClock); it is not part of the document.
  const { daemonClock, ...r } = withClock;
  const clock = clockIn ?? clockOf(daemonClock);
  const services = isObj(r.services) ? r.services : {};
  const drained = Array.isArray(r.drained) ? (r.drained as DrainKey[]) : [];
  const drainedSet = new Set(drained.map((k) => `${k.vs} ${k.rs}`));
  const at = clock ?? { mono: num(r.monoNow) ?? 0, wall: Date.parse(str(r.generatedAt) ?? '') || Date.now() };
  const doc: StatusDocument = {
    ...r,
    schemaVersion: STATUS_SCHEMA_VERSION,
    generatedAt: new Date(at.wall).toISOString(),
    monoNow: at.mono,
    version: str(r.version),
    pid: num(r.pid),
    startedAt: str(r.startedAt),
    configFile: str(r.configFile),
    health: { status: 'ok', exitCode: 0, problems: [] },
    services: {
      ...services,
      vrrp: isObj(services.vrrp) && Array.isArray(services.vrrp.instances) ? vrrpView(services.vrrp as unknown as VrrpServiceStatus, clock) : null,
      check: isObj(services.check) ? checkView(services.check, drainedSet) : null,
    },
    drained,
  };
  doc.health = assessHealth(doc);
  // The version and the time first, for a person reading the JSON (the values are unchanged).
  return Object.assign({ schemaVersion: doc.schemaVersion, generatedAt: doc.generatedAt, health: doc.health }, doc);
}

function vrrpView(v: VrrpServiceStatus, clock: ClockPair | null): VrrpView {
  const instances = v.instances.map((i): InstanceView => ({
    ...i,
    // The runtime records the wall time of a transition itself: the exact one.
    lastTransition: i.lastTransition ? { ...i.lastTransition, atWall: i.lastTransition.wall } : null,
    faults: i.faults.map((f) => ({ ...f, sinceWall: wallOf(clock, f.since) })),
    vipFailures: i.vipFailures.map((f) => ({ ...f, nextRetryAtWall: wallOf(clock, f.nextRetryAt) })),
  }));
  const trackers = v.trackers ? {
    ...v.trackers,
    scripts: v.trackers.scripts.map((s) => ({ ...s, lastRunAtWall: wallOf(clock, s.lastRunAt) })),
  } : null;
  return { ...v, instances, trackers };
}

function checkView(c: Obj, drained: ReadonlySet<string>): CheckView {
  const clock = clockOf(c.clock);
  const health = isObj(c.health) ? { ok: c.health.ok === true, detail: str(c.health.detail) ?? '' } : { ok: false, detail: 'no health reported' };
  const child = isObj(c.child) ? c.child : {};
  const vss = Array.isArray(c.virtualServers) ? c.virtualServers.filter(isObj) : [];
  const virtualServers = vss.map((v): VirtualServerView => {
    const vs = str(v.vs) ?? '?';
    const rss = Array.isArray(v.realServers) ? v.realServers.filter(isObj) : [];
    const realServers = rss.map((r): RealServerView => {
      const rs = str(r.rs) ?? '?';
      const checkers = (Array.isArray(r.checkers) ? r.checkers.filter(isObj) : []).map((k): CheckerView => ({
        ...k,
        type: str(k.type) ?? '?',
        lastCheckAtWall: wallOf(clock, num(k.lastCheckAt)),
      }));
      return { ...r, rs, weight: num(r.weight) ?? 0, alive: r.alive === true, drained: drained.has(`${vs} ${rs}`), checkers };
    });
    return {
      ...v,
      vs,
      quorumUp: v.quorumUp !== false,
      sorryServerActive: v.sorryServerActive === true,
      liveWeight: num(v.liveWeight) ?? 0,
      realServersUp: realServers.filter((r) => r.alive).length,
      realServersTotal: realServers.length,
      realServers,
    };
  });
  const checks = isObj(c.checks) ? { total: num(c.checks.total) ?? 0, failures: num(c.checks.failures) ?? 0 } : null;
  return {
    ...c,
    name: 'check',
    health,
    child: {
      ...child,
      pid: num(child.pid),
      generation: num(child.generation) ?? 0,
      restarts: num(child.restarts) ?? 0,
      lastExit: str(child.lastExit),
      probe: str(child.probe),
    },
    virtualServers,
    checks,
    ipvs: isObj(c.ipvs) ? ipvsView(c.ipvs as unknown as ReconcilerStatus, clock) : null,
    clock,
  };
}

function ipvsView(p: ReconcilerStatus, clock: ClockPair | null): IpvsView {
  const at = <T extends { at: number }>(x: T | null): AtWall<T> | null => (x ? { ...x, atWall: wallOf(clock, x.at) } as AtWall<T> : null);
  return {
    ...p,
    lastSyncAtWall: wallOf(clock, p.lastSyncAt),
    lastError: at(p.lastError),
    lastRead: at(p.lastRead),
    lastBatch: at(p.lastBatch),
    failingServices: (p.failingServices ?? []).map((f) => ({ ...f, sinceWall: wallOf(clock, f.since) })),
  };
}

const RANK: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

/** The health verdict: every problem, and the exit code of the most severe (info does not count). */
export function assessHealth(doc: Pick<StatusDocument, 'services'> & { error?: unknown }): HealthSummary {
  const problems: HealthProblem[] = [];
  if (doc.error !== undefined) problems.push({ severity: 'critical', kind: 'status_error', subject: 'daemon', detail: String(doc.error) });
  for (const i of doc.services.vrrp?.instances ?? []) {
    if (i.state === 'FAULT') {
      const why = i.faults.map((f) => `${f.source.replace('_', ' ')} ${f.subject} ${f.detail}`).join('; ') || 'no reason recorded';
      problems.push({ severity: 'critical', kind: 'instance_fault', subject: i.name, detail: `in FAULT: ${why}` });
    }
    for (const f of i.vipFailures) {
      problems.push({ severity: 'warning', kind: 'vip_failure', subject: i.name, detail: `VIP ${f.vip} not added after ${f.attempts} attempt(s): ${f.error}` });
    }
  }
  const check = doc.services.check;
  if (check) {
    if (!check.health.ok) problems.push({ severity: 'critical', kind: 'checker_unhealthy', subject: 'checker', detail: check.health.detail });
    for (const f of check.ipvs?.failingServices ?? []) {
      problems.push({ severity: 'warning', kind: 'ipvs_failing_service', subject: f.name ?? f.service, detail: `${f.command}: ${f.error}` });
    }
    for (const v of check.virtualServers) {
      if (!v.quorumUp) {
        problems.push({ severity: 'info', kind: 'quorum_lost', subject: v.vs, detail: `quorum lost (${v.realServersUp}/${v.realServersTotal} real servers up)${v.sorryServerActive ? ', the sorry server stands in' : ''}` });
      }
      for (const r of v.realServers) {
        if (!r.alive) problems.push({ severity: 'info', kind: 'real_server_down', subject: v.vs, detail: `real server ${r.rs} down${lastFailure(r)}` });
      }
    }
  }
  problems.sort((a, b) => RANK[a.severity] - RANK[b.severity]);
  const worst = problems.find((p) => p.severity !== 'info')?.severity;
  return worst === 'critical' ? { status: 'critical', exitCode: 2, problems }
    : worst === 'warning' ? { status: 'warning', exitCode: 1, problems }
    : { status: 'ok', exitCode: 0, problems };
}

function lastFailure(r: RealServerView): string {
  const c = r.checkers.find((k) => k.up === false && k.lastDetail) ?? r.checkers.find((k) => k.lastOutcome && k.lastOutcome !== 'success');
  return c ? ` (${c.type}: ${c.lastDetail ?? c.lastOutcome})` : '';
}
