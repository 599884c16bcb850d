// The shell around one vrrp_instance's state machine: it turns packets, timer expiries and fault
// reasons into FSM events and executes the actions the FSM returns (adverts on the wire, VIPs,
// GARP, logs). Adverts go out at once; VIP and GARP work is serialized on one queue so "add VIPs,
// then GARP" and "stop GARP, then remove VIPs" always happen in the order the FSM asked for.
//
// Failure rules: the next timer is armed before any action runs, and each action runs inside its
// own try/catch, so a throwing action can neither leave a master without adverts nor skip the
// actions after it. GARPs are sent only for VIPs that are on the interface; a VIP that could not
// be added is retried with backoff while master and listed in status.
import { constants as osConstants } from 'node:os';
import type { VirtualIp } from '../config/model.js';
import { describeRoute, describeRule, RTPROT_KEEPALIVED, type RouteSpec, type RuleSpec } from '../config/routes.js';
import type { Logger } from '../daemon/log.js';
import type { VipResult } from '../net/vip.js';
import type { GarpPolicy } from '../net/garp.js';
import { initialFsmState, step, type FsmAction, type FsmEvent, type FsmParams, type FsmState, type StepResult, type TransitionReason, type VrrpState } from './fsm.js';
import { DeadlineTimer, nodeTimers, type Clock, type LatenessStats, type TimerApi } from './deadline-timer.js';
import { FaultSet, type FaultReason, type FaultSource } from './fault-set.js';
import { encodeIpv4Header, IPPROTO_VRRP, VRRP_TOS } from './ipv4.js';
import { encodeAdvert, PRIORITY_STOP } from './packet.js';
import { RateLimiter } from './rate-limit.js';
import { checkAdvert, type ReceiveExpectation, type RejectReason } from './validate.js';
import type { ChannelMember } from './channel.js';
import type { AdvertPacer, PacedPacket } from './advert-pacer.js';

/** Everything about an instance that the wire and the FSM need, resolved from the config. */
export interface InstanceSpec {
  fsm: FsmParams;
  interface: string;
  vrid: number;
  /** Seconds, whole (VRRPv2). */
  advertIntSec: number;
  authType: number;
  authData: Buffer;
  /** Addresses carried in adverts (IPv4 virtual_ipaddress). */
  advertAddresses: string[];
  /** Everything added on MASTER: virtual_ipaddress + virtual_ipaddress_excluded. */
  vips: VirtualIp[];
  excludedCount: number;
  /** Advert source address; null until the interface has one (the instance is in FAULT then). */
  srcIp: string | null;
  /** True when srcIp comes from mcast_src_ip/unicast_src_ip rather than the interface. */
  srcConfigured: boolean;
  /** virtual_routes / virtual_rules: set after the VIPs on MASTER, removed before them. Absent = none. */
  routes?: RouteSpec[];
  rules?: RuleSpec[];
  /** Multicast group or the unicast peers. */
  destinations: string[];
  unicast: boolean;
  ttl: number;
  /** check_unicast_src: accept unicast adverts only from the peers. */
  checkUnicastSrc: boolean;
  /** unicast_peer min_ttl/max_ttl, checked with checkUnicastSrc; null = no peer narrows 0-255. */
  peerTtl: ReadonlyMap<string, { min: number; max: number }> | null;
  skipCheckAdvAddr: boolean;
  /** dont_track_primary: the instance's own interface going down is not a fault. */
  dontTrackPrimary: boolean;
}

export interface InstanceDeps {
  log: Logger;
  clock: Clock;
  timers?: TimerApi;
  send(packet: Buffer, dst: string): Promise<void>;
  /** Sends a master's next periodic advert on time from a thread of its own (advert-pacer.ts);
   * absent = every advert goes from this loop. The instance closes it when it stops. */
  pacer?: AdvertPacer;
  applyVips(op: 'add' | 'del', vips: VirtualIp[]): Promise<Pick<VipResult, 'ok' | 'failures'>>;
  /** Synchronous removal for the last-resort path (uncaught exception); absent = not possible. */
  removeVipsNow?(vips: VirtualIp[]): void;
  /** virtual_routes/virtual_rules to the kernel (src/net/routes.ts); synchronous work, failures logged and returned. */
  applyRoutes?(op: 'add' | 'del', routes: RouteSpec[], rules: RuleSpec[]): void | { failures: Array<{ what: string; error: string }> };
  garp: { setVips(vips: VirtualIp[]): void; start(): void; stop(): void; burst(repeat: number): void; setPolicy?(policy: GarpPolicy): void };
  /** Read packets already queued on the socket now (before a late takeover decision). */
  drain?(): void;
  /** Backoff for re-adding a VIP the kernel refused (ms). */
  vipRetry?: { firstMs: number; maxMs: number };
  /** Every state change, after its actions ran (notify hooks, sync groups, status). */
  onTransition?(rt: VrrpInstanceRuntime, rec: TransitionRecord): void;
  /** Sync group gate: may this backup, whose down timer ran out, become master now? */
  mayTakeOver?(rt: VrrpInstanceRuntime): boolean;
  /** A fault reason was added or removed (sync groups mirror own faults onto the others). */
  onFaultsChanged?(rt: VrrpInstanceRuntime): void;
  /** As master, an advert from a lower-priority master arrived (notify_master_rx_lower_pri). */
  onLowerPriorityMaster?(rt: VrrpInstanceRuntime, from: string, priority: number): void;
  /** The effective priority changed (trackers; notify_priority_changes). */
  onPriorityChange?(rt: VrrpInstanceRuntime, priority: number): void;
}

export interface TransitionRecord {
  from: VrrpState;
  to: VrrpState;
  reason: TransitionReason;
  /** Monotonic ms. */
  at: number;
  /** Wall clock, ISO 8601. */
  wall: string;
  /** The fault reasons behind a transition to FAULT. */
  faults?: string;
}

export interface VipFailureStatus {
  vip: string;
  error: string;
  attempts: number;
  /** Monotonic ms of the next attempt; null when not master (no retry pending). */
  nextRetryAt: number | null;
}

export interface InstanceStatus {
  name: string;
  interface: string;
  vrid: number;
  state: VrrpState;
  priority: number;
  effectivePriority: number;
  masterIp: string | null;
  masterPriority: number | null;
  sourceIp: string | null;
  vips: string[];
  /** True while every VIP is configured (the kernel accepted each add). */
  vipsConfigured: boolean;
  /** The VIPs hakeep has on the interface right now. */
  vipsPresent: string[];
  vipFailures: VipFailureStatus[];
  /** virtual_routes/virtual_rules the kernel refused when this master set them (`route … : reason`); absent = none configured. */
  routeFailures?: string[];
  faults: FaultReason[];
  /** Tracker weights in force now (key → signed weight); effectivePriority = priority + their sum. */
  trackWeights: Record<string, number>;
  counters: {
    advertsSent: number;
    /** Of advertsSent, the ones the advert pacer's thread sent on time (the loop was late or busy). */
    advertsPaced: number;
    advertsReceived: number;
    priorityZeroReceived: number;
    priorityZeroSent: number;
    sendErrors: number;
    becameMaster: number;
    releasedMaster: number;
    faults: number;
    vipsReadded: number;
    rejected: Partial<Record<RejectReason, number>>;
  };
  transitions: number;
  lastTransition: TransitionRecord | null;
  timer: LatenessStats;
}

/** A backup deadline this late means the loop stalled: adverts may be waiting on the socket. */
const LATE_TAKEOVER_MS = 50;

const vipKey = (v: VirtualIp): string => `${v.address}/${v.prefixLen}`;

/** What a reload changes in virtual_routes/virtual_rules, by their `ip`-style text. */
function diffRoutes(old: InstanceSpec, next: InstanceSpec): { changed: boolean; addRoutes: RouteSpec[]; delRoutes: RouteSpec[]; addRules: RuleSpec[]; delRules: RuleSpec[] } {
  const diff = <T>(a: T[], b: T[], key: (x: T) => string): T[] => {
    const keys = new Set(b.map(key));
    return a.filter((x) => !keys.has(key(x)));
  };
  const or = old.routes ?? [], nr = next.routes ?? [], ol = old.rules ?? [], nl = next.rules ?? [];
  const addRoutes = diff(nr, or, describeRoute), delRoutes = diff(or, nr, describeRoute);
  const addRules = diff(nl, ol, describeRule), delRules = diff(ol, nl, describeRule);
  return { changed: addRoutes.length + delRoutes.length + addRules.length + delRules.length > 0, addRoutes, delRoutes, addRules, delRules };
}

export class VrrpInstanceRuntime implements ChannelMember {
  readonly vrid: number;
  private fsm: FsmState;
  private readonly timer: DeadlineTimer;
  private readonly timers: TimerApi;
  private queue: Promise<void> = Promise.resolve();
  private readonly pendingSends = new Set<Promise<void>>();
  private readonly limiter = new RateLimiter();
  private readonly rejected: Partial<Record<RejectReason, number>> = {};
  private counters: Omit<InstanceStatus['counters'], 'rejected'> = newCounters();
  private transitions = 0;
  private lastTransition: TransitionRecord | null = null;
  private readonly faults = new FaultSet();
  /** VIPs (by addr/len) that are on the interface because we added them. */
  private readonly present = new Set<string>();
  /** The virtual routes/rules were sent to the kernel as MASTER and not removed since (keepalived's ->set). */
  private routesSet = false;
  /** What the kernel refused of them at the last add (status). */
  private routeFailures: string[] = [];
  private readonly vipFailures = new Map<string, VipFailureStatus>();
  private vipRetryTimer: unknown = null;
  private lowerPrioGarpTimer: unknown = null;
  private started = false;
  private stopped = false;
  /** The cadence slot (advertAt) whose timer is being handled: its advert may already be out. */
  private pacedSlot: number | null = null;
  /** Tracker total set before start, applied right after the start event. */
  private pendingTotal: number | null = null;
  /** Sync groups: the down timer ran out but the group held it back (keepalived's wantstate). */
  private heldForGroup = false;
  /** Tracker weights by key (track_script / track_interface / track_file …), summed in one place. */
  private readonly weights = new Map<string, number>();
  private readonly instanceName: string;

  constructor(private readonly spec: InstanceSpec, private readonly deps: InstanceDeps) {
    this.vrid = spec.vrid;
    this.instanceName = spec.fsm.name;
    this.fsm = initialFsmState(spec.fsm);
    this.timers = deps.timers ?? nodeTimers;
    this.timer = new DeadlineTimer(deps.clock, (now) => this.onTimer(now), this.timers);
  }

  get name(): string {
    return this.instanceName;
  }

  get effectivePriority(): number {
    return this.fsm.effectivePriority;
  }

  /** The fault reasons now (for notifications: keepalived skips notify_fault for some). */
  get faultReasons(): FaultReason[] {
    return this.faults.list();
  }

  get state(): VrrpState {
    return this.fsm.state;
  }

  get interfaceName(): string {
    return this.spec.interface;
  }

  get vips(): readonly VirtualIp[] {
    return this.spec.vips;
  }

  get sourceConfigured(): boolean {
    return this.spec.srcConfigured;
  }

  get sourceIp(): string | null {
    return this.spec.srcIp;
  }

  get tracksPrimary(): boolean {
    return !this.spec.dontTrackPrimary;
  }

  /** Clear VIPs a previous run may have left (kill -9), then enter BACKUP (init), or FAULT
   * (init) when a fault reason is already set (interface missing or down, no address). */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.enqueue(async () => {
      await this.deps.applyVips('del', this.spec.vips);
      // Leftovers of a previous run (kill -9): only entries marked protocol keepalived (18), so an
      // operator's identical route of another protocol is never taken away.
      const own = <T extends { protocol: number }>(xs: T[] | undefined): T[] => (xs ?? []).filter((x) => x.protocol === RTPROT_KEEPALIVED);
      if ((this.spec.routes?.length ?? 0) + (this.spec.rules?.length ?? 0) > 0) this.deps.applyRoutes?.('del', own(this.spec.routes), own(this.spec.rules));
    });
    if (this.faults.active) this.logFaults('info');
    this.feed({ type: 'start', fault: this.faults.active }, this.deps.clock());
    if (this.pendingTotal !== null) {
      const total = this.pendingTotal;
      this.pendingTotal = null;
      this.feed({ type: 'priority', total }, this.deps.clock());
    }
  }

  /** Graceful stop: a master sends priority 0 and removes its VIPs. Resolves when done. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.feed({ type: 'shutdown' }, this.deps.clock());
    this.halt();
    await this.queue;
    await Promise.allSettled([...this.pendingSends]);
  }

  /**
   * The last resort (uncaught exception, fatal error): synchronously resign if master (priority
   * 0 on the wire), drop the VIPs, and stop reacting. Never throws. Returns true if it was master.
   */
  emergencyStop(): boolean {
    if (this.stopped) return false;
    const wasMaster = this.fsm.state === 'MASTER';
    try { this.deps.pacer?.cancel(); } catch { /* keep going */ }
    if (wasMaster) {
      try { this.sendAdvert(PRIORITY_STOP); } catch { /* keep going: the VIPs matter more */ }
      try { this.deps.garp.stop(); } catch { /* ignore */ }
    }
    try { if (this.routesSet) this.deps.applyRoutes?.('del', this.spec.routes ?? [], this.spec.rules ?? []); } catch { /* ignore */ }
    this.routesSet = false;
    try { this.deps.removeVipsNow?.(this.spec.vips); } catch { /* ignore */ }
    this.present.clear();
    this.halt();
    return wasMaster;
  }

  /** True while this instance is MASTER, or would be if its sync group let it (keepalived's
   * wantstate MASTER). */
  get wantsMaster(): boolean {
    return this.fsm.state === 'MASTER' || (this.fsm.state === 'BACKUP' && this.heldForGroup);
  }

  /** Own fault reasons, not the ones its sync group propagated. */
  get hasOwnFault(): boolean {
    return this.faults.list().some((f) => f.source !== 'sync_group');
  }

  /** Sync group: another member became MASTER; follow it. */
  syncMaster(): void {
    this.feed({ type: 'sync_master' }, this.deps.clock());
  }

  /** Sync group: another member left MASTER for BACKUP; follow it (no priority 0). */
  syncBackup(): void {
    this.feed({ type: 'sync_backup' }, this.deps.clock());
  }

  /**
   * A tracker's weight (already signed and multiplied: +10 while up, -20 while failing, 0 when
   * it does not count now). The effective priority is the base plus the sum of all of them.
   */
  setTrackWeight(key: string, weight: number): void {
    if ((this.weights.get(key) ?? 0) === weight) {
      if (weight === 0) this.weights.delete(key);
      return;
    }
    if (weight === 0) this.weights.delete(key);
    else this.weights.set(key, weight);
    let total = this.spec.fsm.priority;
    for (const w of this.weights.values()) total += w;
    if (this.started) this.feed({ type: 'priority', total }, this.deps.clock());
    else this.pendingTotal = total;
  }

  /**
   * Reload in place (src/daemon/reload-plan.ts says when that is possible): take the new
   * settings without a transition. A master adds the VIPs that are new (and announces them) and
   * removes those that went; a changed priority is carried by the next advert, and the election
   * decides as it always does. The identity on the wire (interface, VRID) must not change here.
   */
  update(next: InstanceSpec, garpPolicy?: GarpPolicy): void {
    if (this.stopped) return;
    const s = this.spec;
    const routeDiff = diffRoutes(s, next);
    const oldVips = new Map(s.vips.map((v) => [vipKey(v), v]));
    const newVips = new Map(next.vips.map((v) => [vipKey(v), v]));
    const added = [...newVips.values()].filter((v) => !oldVips.has(vipKey(v)));
    const removed = [...oldVips.values()].filter((v) => !newVips.has(vipKey(v)));
    const baseChanged = next.fsm.priority !== s.fsm.priority;
    // The advert source found on the interface, and the start-up hold, stay the runtime's own.
    const keepSrc = !next.srcConfigured ? { srcIp: s.srcIp, ownIp: s.fsm.ownIp } : null;
    const hold = s.fsm.startupHoldUntil;
    Object.assign(s.fsm, next.fsm);
    if (hold !== undefined) s.fsm.startupHoldUntil = hold;
    const fsm = s.fsm;
    Object.assign(s, next, { fsm });
    if (keepSrc) {
      s.srcIp = keepSrc.srcIp;
      s.fsm.ownIp = keepSrc.ownIp;
    }
    this.armPacer(); // the armed advert carries the new VIP list / priority
    if (garpPolicy) this.deps.garp.setPolicy?.(garpPolicy);
    this.deps.log.info({ instance: this.name, added: added.map(vipKey), removed: removed.map(vipKey) },
      `(${this.name}) configuration reloaded in place${added.length || removed.length ? `: VIPs +${added.length} -${removed.length}` : ''}`);
    if (this.fsm.state === 'MASTER') {
      if (removed.length > 0) {
        this.enqueue(async () => {
          for (const v of removed) this.present.delete(vipKey(v));
          for (const v of removed) this.vipFailures.delete(vipKey(v));
          await this.deps.applyVips('del', removed);
          this.deps.garp.setVips(this.presentVips());
        });
      }
      if (added.length > 0) this.enqueue(() => this.addVips(added, true));
      // Exactly the difference: removed entries go (rules first), new ones are added.
      if (routeDiff.changed) {
        this.enqueue(() => {
          if (this.stopped) return;
          this.deps.log.info({ instance: this.name }, `(${this.name}) virtual routes/rules reloaded: routes +${routeDiff.addRoutes.length} -${routeDiff.delRoutes.length}, rules +${routeDiff.addRules.length} -${routeDiff.delRules.length}`);
          if (this.routesSet) this.deps.applyRoutes?.('del', routeDiff.delRoutes, routeDiff.delRules);
          if (this.fsm.state === 'MASTER') {
            // Earlier failures of entries still configured stay listed (they are not re-sent).
            const still = new Set([...(next.routes ?? []).map((x) => `route ${describeRoute(x)}`), ...(next.rules ?? []).map((x) => `rule ${describeRule(x)}`)]);
            const kept = this.routeFailures.filter((f) => still.has(f.slice(0, f.indexOf(': '))));
            this.noteRouteFailures(this.deps.applyRoutes?.('add', routeDiff.addRoutes, routeDiff.addRules));
            this.routeFailures = [...kept, ...this.routeFailures];
            this.routesSet = this.hasRoutes();
          }
        });
      }
    }
    if (baseChanged && this.started) {
      let total = s.fsm.priority;
      for (const w of this.weights.values()) total += w;
      this.feed({ type: 'priority', total }, this.deps.clock());
    }
  }

  /** Add or update a fault reason; the first one moves the instance to FAULT. */
  setFault(source: FaultSource, subject: string, detail: string): void {
    if (this.stopped) return;
    const isNew = !this.faults.has(source, subject);
    const edge = this.faults.set(source, subject, detail, this.deps.clock());
    if (isNew) {
      this.deps.log.info({ instance: this.name, fault: `${source}:${subject}`, detail, faults: this.faults.describe() },
        `(${this.name}) fault: ${source.replace('_', ' ')} ${subject} ${detail}`);
    }
    if (edge === 'fault' && this.started) this.feed({ type: 'fault' }, this.deps.clock());
    if (isNew) this.deps.onFaultsChanged?.(this);
  }

  /** Remove a fault reason; when none is left the instance returns to BACKUP and the election. */
  clearFault(source: FaultSource, subject: string): void {
    if (this.stopped || !this.faults.has(source, subject)) return;
    const edge = this.faults.clear(source, subject);
    this.deps.log.info({ instance: this.name, fault: `${source}:${subject}`, faults: this.faults.describe() },
      `(${this.name}) fault cleared: ${source.replace('_', ' ')} ${subject}${this.faults.active ? ` (still: ${this.faults.describe()})` : ''}`);
    if (edge === 'fault_cleared' && this.started) this.feed({ type: 'fault_cleared' }, this.deps.clock());
    this.deps.onFaultsChanged?.(this);
  }

  hasFault(source: FaultSource, subject: string): boolean {
    return this.faults.has(source, subject);
  }

  /** The interface address adverts come from changed (null: none left → FAULT). */
  setSourceAddress(ip: string | null): void {
    if (ip === this.spec.srcIp && (ip !== null) === !this.faults.has('address', this.spec.interface)) return;
    if (ip !== null) {
      if (ip !== this.spec.srcIp && this.spec.srcIp !== null) {
        this.deps.log.info({ instance: this.name, from: this.spec.srcIp, to: ip }, `(${this.name}) advert source address changed from ${this.spec.srcIp} to ${ip}`);
      }
      this.spec.srcIp = ip;
      this.spec.fsm.ownIp = ip;
      this.armPacer();
      this.clearFault('address', this.spec.interface);
    } else {
      const what = this.spec.srcConfigured ? `source address ${this.spec.srcIp} not configured` : 'no IPv4 address';
      this.setFault('address', this.spec.interface, what);
    }
  }

  /**
   * An address was deleted from an interface by someone else (ip addr flush, a network manager).
   * A master puts its VIP back and re-announces it, without leaving MASTER (keepalived instead
   * drops to BACKUP and retakes the VIPs after Skew_Time: a needless outage).
   */
  onAddressDeleted(ifname: string, address: string): void {
    if (this.stopped || this.fsm.state !== 'MASTER') return;
    const vip = this.spec.vips.find((v) => v.address === address && (v.dev ?? this.spec.interface) === ifname);
    if (!vip || !this.present.has(vipKey(vip))) return;
    this.present.delete(vipKey(vip));
    this.counters.vipsReadded += 1;
    this.deps.log.warn({ instance: this.name, vip: vipKey(vip), dev: ifname },
      `(${this.name}) VIP ${vipKey(vip)} was deleted from ${ifname} outside hakeep; re-adding it and re-sending gratuitous ARPs`);
    this.enqueue(() => this.addVips([vip], true));
  }

  onPacket(packet: Buffer, _atMs: number): void {
    if (this.stopped) return;
    const exp = this.expectation(packet);
    const v = checkAdvert(packet, exp);
    if (!v.ok) {
      this.reject(v.reason, v.message, v.src, 'info');
      return;
    }
    this.counters.advertsReceived += 1;
    if (v.advert.priority === PRIORITY_STOP) this.counters.priorityZeroReceived += 1;
    // A backup hearing a new master logs that master's problems afresh (keepalived resets too).
    if (this.fsm.state === 'BACKUP' && v.src !== this.fsm.masterIp) this.limiter.reset();
    this.feed({ type: 'advert', from: v.src, priority: v.advert.priority }, this.deps.clock());
    // A backup that accepted a master no longer wants to take over (sync groups).
    if (this.fsm.state === 'BACKUP' && this.fsm.masterIp === v.src && v.advert.priority !== PRIORITY_STOP && this.fsm.downCause === 'master_down_timer') {
      this.heldForGroup = false;
    }
  }

  onUnclaimed(packet: Buffer, vrid: number | null, _atMs: number): void {
    if (this.stopped) return;
    if (vrid !== null) {
      // Other VRRP routers on the same LAN are normal: count them, log only at debug.
      const src = packet.length >= 16 ? `${packet[12]}.${packet[13]}.${packet[14]}.${packet[15]}` : null;
      this.reject('wrong_vrid', `(${this.name}) received an advert for VRID ${vrid}, expected ${this.vrid}`, src, 'debug');
      return;
    }
    const v = checkAdvert(packet, this.expectation(packet));
    if (!v.ok) this.reject(v.reason, v.message, v.src, 'info');
  }

  onSocketError(err: Error): void {
    if (this.limiter.admit('socket error', this.deps.clock()) === null) return;
    this.deps.log.error({ instance: this.name, err: err.message }, `(${this.name}) VRRP socket error on ${this.spec.interface}: ${err.message}`);
  }

  /** keepalived's STATS_CLEAR signal: zero the counters. */
  clearCounters(): void {
    this.counters = newCounters();
    for (const k of Object.keys(this.rejected)) delete this.rejected[k as RejectReason];
  }

  status(): InstanceStatus {
    return {
      name: this.name,
      interface: this.spec.interface,
      vrid: this.vrid,
      state: this.fsm.state,
      priority: this.spec.fsm.priority,
      effectivePriority: this.fsm.effectivePriority,
      masterIp: this.fsm.masterIp,
      masterPriority: this.fsm.masterPriority,
      sourceIp: this.spec.srcIp,
      vips: this.spec.vips.map(vipKey),
      vipsConfigured: this.spec.vips.length > 0 && this.spec.vips.every((v) => this.present.has(vipKey(v))),
      vipsPresent: this.spec.vips.map(vipKey).filter((k) => this.present.has(k)),
      vipFailures: [...this.vipFailures.values()].map((f) => ({ ...f })),
      ...(this.hasRoutes() ? { routeFailures: [...this.routeFailures] } : {}),
      faults: this.faults.list(),
      trackWeights: Object.fromEntries(this.weights),
      counters: { ...this.counters, rejected: { ...this.rejected } },
      transitions: this.transitions,
      lastTransition: this.lastTransition,
      timer: this.timer.lateness(),
    };
  }

  /** Resolves when queued VIP/GARP work has finished (tests and shutdown). */
  idle(): Promise<void> {
    return this.queue;
  }

  private halt(): void {
    this.stopped = true;
    this.pacedSlot = null;
    this.deps.pacer?.close();
    this.timer.cancel();
    this.cancelVipRetry();
    if (this.lowerPrioGarpTimer !== null) this.timers.clearTimeout(this.lowerPrioGarpTimer);
    this.lowerPrioGarpTimer = null;
  }

  private onTimer(now: number): void {
    // A backup whose loop stalled past its down timer may have adverts queued on the socket
    // (timers run before the poll phase): read them before deciding to take over.
    if (this.fsm.state === 'BACKUP' && this.deps.drain && this.timer.lateness().lastMs > LATE_TAKEOVER_MS) {
      try {
        this.deps.drain();
      } catch (e) {
        this.deps.log.warn({ instance: this.name, err: (e as Error).message }, `(${this.name}) could not read queued adverts: ${(e as Error).message}`);
      }
      if (this.stopped) return;
      now = this.deps.clock();
    }
    const expired = this.fsm.state === 'BACKUP' && this.fsm.downAt !== null && now >= this.fsm.downAt;
    if (expired && this.deps.mayTakeOver) {
      this.heldForGroup = true; // wants MASTER from now on, until it hears a master again
      if (!this.deps.mayTakeOver(this)) {
        this.feed({ type: 'hold' }, now);
        return;
      }
    }
    this.feed({ type: 'timer' }, now);
  }

  private expectation(packet: Buffer): ReceiveExpectation {
    const s = this.spec;
    // skip_check_adv_addr: only skip the address list for the master we already know.
    const src = packet.length >= 16 ? `${packet[12]}.${packet[13]}.${packet[14]}.${packet[15]}` : null;
    const checkVips = !s.skipCheckAdvAddr || this.fsm.state !== 'BACKUP' || src !== this.fsm.masterIp;
    return {
      instance: this.name,
      vrid: s.vrid,
      authType: s.authType,
      authData: s.authData,
      advertInt: s.advertIntSec,
      vips: s.advertAddresses,
      unicast: s.unicast,
      checkVipAddresses: checkVips,
      allowedSources: s.unicast && s.checkUnicastSrc ? s.destinations : null,
      peerTtl: s.peerTtl,
    };
  }

  private reject(reason: RejectReason, message: string, src: string | null, level: 'info' | 'debug'): void {
    const n = (this.rejected[reason] ?? 0) + 1;
    this.rejected[reason] = n;
    const suppressed = this.limiter.admit(reason, this.deps.clock());
    if (suppressed === null) return;
    this.deps.log[level]({ instance: this.name, reason, from: src, rejected: n, suppressed }, message);
  }

  private feed(ev: FsmEvent, now: number): void {
    if (this.stopped) return;
    let r: StepResult;
    try {
      r = step(this.spec.fsm, this.fsm, ev, now);
    } catch (e) {
      // The FSM is pure and total; if it ever throws, keep the old state and its timer.
      this.deps.log.error({ instance: this.name, event: ev.type, err: (e as Error).stack }, `(${this.name}) internal error handling ${ev.type}: ${(e as Error).message}`);
      return;
    }
    // A master's periodic advert: the pacer may have sent this slot already.
    const f = this.fsm;
    this.pacedSlot = ev.type === 'timer' && f.state === 'MASTER' && f.advertAt !== null && now >= f.advertAt ? f.advertAt : null;
    try {
      this.apply(r, now);
    } finally {
      this.pacedSlot = null;
    }
    this.armPacer();
  }

  /** Hand the next slot of a master's cadence to the pacer (its packets as they are now). */
  private armPacer(): void {
    const pacer = this.deps.pacer;
    const f = this.fsm;
    if (pacer === undefined || this.stopped || f.state !== 'MASTER' || f.advertAt === null) return;
    if (this.spec.destinations.length > PACER_MAX_PACKETS) return; // the loop sends to that many peers
    try {
      pacer.arm(f.advertAt, this.buildAdverts(f.effectivePriority));
    } catch (e) {
      // The loop's own timer still sends it.
      if (this.limiter.admit('pacer', this.deps.clock()) !== null) {
        this.deps.log.warn({ instance: this.name, err: (e as Error).message }, `(${this.name}) advert pacer: ${(e as Error).message}; adverts go from the event loop`);
      }
    }
  }

  private apply(r: StepResult, now: number): void {
    const prevPriority = this.fsm.effectivePriority;
    this.fsm = r.state;
    // Before any action (a priority-0 advert, VIP removal): nothing armed may follow them.
    if (r.state.state !== 'MASTER') this.deps.pacer?.cancel();
    // Arm first: whatever an action does, a master keeps advertising and a backup keeps watching.
    // A backup's deadline is a takeover: worth sub-millisecond precision. Adverts are not.
    this.timer.arm(r.deadline, r.state.state === 'BACKUP');
    if (r.reason !== null) {
      this.transitions += 1;
      this.lastTransition = { from: r.from, to: r.state.state, reason: r.reason, at: now, wall: new Date().toISOString() };
      if (r.state.state === 'FAULT') {
        this.lastTransition.faults = this.faults.describe();
        this.counters.faults += 1;
      }
      if (r.state.state === 'MASTER') this.counters.becameMaster += 1;
      if (r.from === 'MASTER') {
        this.counters.releasedMaster += 1;
        this.cancelVipRetry();
      }
    }
    for (const a of r.actions) {
      try {
        this.execute(a);
      } catch (e) {
        this.deps.log.error({ instance: this.name, action: a.type, err: (e as Error).stack }, `(${this.name}) ${a.type} failed: ${(e as Error).message}`);
      }
    }
    if (r.state.effectivePriority !== prevPriority) {
      try {
        this.deps.onPriorityChange?.(this, r.state.effectivePriority);
      } catch (e) {
        this.deps.log.error({ instance: this.name, err: (e as Error).stack }, `(${this.name}) priority observer failed: ${(e as Error).message}`);
      }
    }
    if (r.reason !== null && this.lastTransition !== null) {
      if (r.state.state !== 'BACKUP') this.heldForGroup = false;
      try {
        this.deps.onTransition?.(this, this.lastTransition);
      } catch (e) {
        this.deps.log.error({ instance: this.name, err: (e as Error).stack }, `(${this.name}) transition observer failed: ${(e as Error).message}`);
      }
    }
  }

  private logFaults(level: 'info' | 'warn'): void {
    this.deps.log[level]({ instance: this.name, faults: this.faults.describe() }, `(${this.name}) starting with faults: ${this.faults.describe()}`);
  }

  private execute(a: FsmAction): void {
    const log = this.deps.log;
    const n = `(${this.name})`;
    switch (a.type) {
      case 'log': {
        if (a.rateKey !== undefined) {
          const suppressed = this.limiter.admit(a.rateKey, this.deps.clock());
          if (suppressed === null) break;
          log[a.level]({ ...a.fields, suppressed }, a.msg);
          break;
        }
        const fields = this.fsm.state === 'FAULT' && /FAULT STATE/.test(a.msg) ? { ...a.fields, faults: this.faults.describe() } : a.fields;
        log[a.level](fields, a.msg);
        break;
      }
      case 'send_advert': {
        const slot = this.pacedSlot;
        this.pacedSlot = null; // only the first advert of the step is the periodic one
        if (slot !== null && this.deps.pacer !== undefined && a.priority === this.fsm.effectivePriority && this.pacedOut(slot)) break;
        this.sendAdvert(a.priority);
        break;
      }
      case 'add_vips':
        this.enqueue(async () => {
          log.info({ instance: this.name }, `${n} setting VIPs.`);
          if (this.spec.excludedCount > 0) log.info({ instance: this.name }, `${n} setting E-VIPs.`);
          await this.addVips(this.spec.vips, false);
          // keepalived (vrrp.c:1676-1682): routes, then rules, after the VIPs.
          if (this.fsm.state === 'MASTER' && !this.stopped && this.hasRoutes()) {
            this.noteRouteFailures(this.deps.applyRoutes?.('add', this.spec.routes ?? [], this.spec.rules ?? []));
            this.routesSet = true;
          }
        });
        break;
      case 'remove_vips':
        this.enqueue(async () => {
          log.info({ instance: this.name }, `${n} removing VIPs.`);
          if (this.spec.excludedCount > 0) log.info({ instance: this.name }, `${n} removing E-VIPs.`);
          // keepalived (vrrp.c:1746-1752): rules, then routes, before the VIPs.
          if (this.routesSet) {
            this.routesSet = false;
            this.routeFailures = [];
            this.deps.applyRoutes?.('del', this.spec.routes ?? [], this.spec.rules ?? []);
          }
          this.present.clear();
          this.vipFailures.clear();
          await this.deps.applyVips('del', this.spec.vips);
        });
        break;
      case 'start_garp':
        this.enqueue(() => {
          if (this.fsm.state !== 'MASTER') return;
          this.deps.garp.setVips(this.presentVips());
          this.deps.garp.start();
        });
        break;
      case 'stop_garp':
        if (this.lowerPrioGarpTimer !== null) this.timers.clearTimeout(this.lowerPrioGarpTimer);
        this.lowerPrioGarpTimer = null;
        this.enqueue(() => this.deps.garp.stop());
        break;
      case 'rx_lower_pri':
        this.deps.onLowerPriorityMaster?.(this, a.from, a.priority);
        break;
      case 'send_garp':
        this.enqueue(() => this.lowerPrioGarp(a.repeat));
        if (a.delayMs > 0 && this.lowerPrioGarpTimer === null) {
          this.lowerPrioGarpTimer = this.timers.setTimeout(() => {
            this.lowerPrioGarpTimer = null;
            this.enqueue(() => this.lowerPrioGarp(a.repeat));
          }, a.delayMs);
        }
        break;
    }
  }

  private lowerPrioGarp(repeat: number): void {
    if (this.stopped || this.fsm.state !== 'MASTER') return;
    this.deps.garp.setVips(this.presentVips());
    this.deps.garp.burst(repeat);
  }

  private noteRouteFailures(r: void | { failures: Array<{ what: string; error: string }> }): void {
    this.routeFailures = r ? r.failures.map((f) => `${f.what}: ${f.error}`) : [];
  }

  private hasRoutes(): boolean {
    return (this.spec.routes?.length ?? 0) + (this.spec.rules?.length ?? 0) > 0;
  }

  private presentVips(): VirtualIp[] {
    return this.spec.vips.filter((v) => this.present.has(vipKey(v)));
  }

  /**
   * Add `vips`; record which are on the interface; schedule a retry for the others. `announce`:
   * GARP the ones just added (a re-add or retry; the start_garp action covers the first add).
   */
  private async addVips(vips: VirtualIp[], announce: boolean): Promise<void> {
    if (this.fsm.state !== 'MASTER' || this.stopped) return;
    const r = await this.deps.applyVips('add', vips);
    if (this.fsm.state !== 'MASTER' || this.stopped) return; // lost mastership meanwhile: remove_vips follows
    const failed = new Map(r.failures.map((f) => [f.vip, f.error]));
    const added: VirtualIp[] = [];
    for (const v of vips) {
      const k = vipKey(v);
      const err = failed.get(k);
      if (err === undefined) {
        this.present.add(k);
        if (this.vipFailures.has(k)) {
          this.deps.log.info({ instance: this.name, vip: k }, `(${this.name}) VIP ${k} added after ${this.vipFailures.get(k)!.attempts} failed attempt(s)`);
          this.vipFailures.delete(k);
          announce = true;
        }
        added.push(v);
      } else {
        const prev = this.vipFailures.get(k);
        this.vipFailures.set(k, { vip: k, error: err, attempts: (prev?.attempts ?? 0) + 1, nextRetryAt: null });
      }
    }
    if (announce && added.length > 0) {
      // Re-announce everything present: restarting the GARP policy is harmless and simple.
      this.deps.garp.setVips(this.presentVips());
      this.deps.garp.start();
    }
    if (this.vipFailures.size > 0) this.scheduleVipRetry();
  }

  private scheduleVipRetry(): void {
    if (this.vipRetryTimer !== null) return;
    const policy = this.deps.vipRetry ?? { firstMs: 1000, maxMs: 30_000 };
    const attempts = Math.max(...[...this.vipFailures.values()].map((f) => f.attempts));
    const delay = Math.min(policy.maxMs, policy.firstMs * 2 ** Math.max(0, attempts - 1));
    const at = this.deps.clock() + delay;
    for (const f of this.vipFailures.values()) f.nextRetryAt = at;
    this.vipRetryTimer = this.timers.setTimeout(() => {
      this.vipRetryTimer = null;
      const retry = this.spec.vips.filter((v) => this.vipFailures.has(vipKey(v)));
      if (retry.length > 0) this.enqueue(() => this.addVips(retry, false));
    }, delay);
  }

  private cancelVipRetry(): void {
    if (this.vipRetryTimer !== null) this.timers.clearTimeout(this.vipRetryTimer);
    this.vipRetryTimer = null;
    for (const f of this.vipFailures.values()) f.nextRetryAt = null;
  }

  private enqueue(work: () => Promise<void> | void): void {
    this.queue = this.queue.then(work).catch((e: unknown) => {
      this.deps.log.error({ instance: this.name, err: (e as Error).stack }, `(${this.name}) ${(e as Error).message}`);
    });
  }

  /** The advert with `priority`, one IPv4 packet per destination; none without a source address. */
  private buildAdverts(priority: number): PacedPacket[] {
    const s = this.spec;
    if (s.srcIp === null) return []; // no source address: the instance is in FAULT
    const vrrp = encodeAdvert({
      vrid: s.vrid, priority, authType: s.authType, advertInt: s.advertIntSec,
      addresses: s.advertAddresses, authData: s.authData,
    });
    return s.destinations.map((dst) => {
      const ip = encodeIpv4Header({ src: s.srcIp!, dst, ttl: s.ttl, tos: VRRP_TOS, protocol: IPPROTO_VRRP, payloadLength: vrrp.length });
      return { packet: Buffer.concat([ip, vrrp]), dst };
    });
  }

  /** True when the pacer's thread already sent this slot's advert (counted here, errors logged). */
  private pacedOut(slot: number): boolean {
    let r: number;
    try {
      r = this.deps.pacer!.claim(slot);
    } catch {
      return false;
    }
    if (r < 0) return false;
    const n = this.spec.destinations.length;
    if (r === 0) {
      this.counters.advertsSent += n;
      this.counters.advertsPaced += n;
    } else {
      this.sendFailed(this.spec.destinations.join(','), errnoText(r));
    }
    return true;
  }

  private sendAdvert(priority: number): void {
    const packets = this.buildAdverts(priority);
    if (packets.length === 0) return;
    if (priority === PRIORITY_STOP) this.counters.priorityZeroSent += 1;
    for (const { packet, dst } of packets) {
      const p = this.deps.send(packet, dst).then(
        () => { this.counters.advertsSent += 1; },
        (e: unknown) => this.sendFailed(dst, (e as Error).message),
      );
      this.pendingSends.add(p);
      void p.finally(() => this.pendingSends.delete(p));
    }
  }

  private sendFailed(dst: string, message: string): void {
    this.counters.sendErrors += 1;
    if (this.fsm.state === 'FAULT') {
      // Resigning because the link went away: the kernel refusing the send is expected.
      this.deps.log.info({ instance: this.name, to: dst, err: message }, `(${this.name}) priority-0 advert to ${dst} not sent (${message}): the interface is down`);
      return;
    }
    if (this.limiter.admit(`send ${dst}`, this.deps.clock()) !== null) {
      this.deps.log.error({ instance: this.name, to: dst, err: message }, `(${this.name}) Cant send advert to ${dst} (${message})`);
    }
  }
}

/** 'ENETDOWN (errno 100)': what the pacer thread's sendto(2) failed with. */
function errnoText(n: number): string {
  const name = Object.entries(osConstants.errno).find(([, v]) => v === n)?.[0];
  return name ? `${name} (errno ${n})` : `errno ${n}`;
}

/** native/src/advert-pacer.c: packets per armed advert (one per unicast peer). */
const PACER_MAX_PACKETS = 64;

function newCounters(): Omit<InstanceStatus['counters'], 'rejected'> {
  return {
    advertsSent: 0, advertsPaced: 0, advertsReceived: 0, priorityZeroReceived: 0, priorityZeroSent: 0, sendErrors: 0,
    becameMaster: 0, releasedMaster: 0, faults: 0, vipsReadded: 0,
  };
}
