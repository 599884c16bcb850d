// The shell around one vrrp_instance's state machine: it turns packets and timer expiries into
// FSM events and executes the actions the FSM returns (adverts on the wire, VIPs, GARP, logs).
// Adverts go out at once; VIP and GARP work is serialized on one queue so "add VIPs, then GARP"
// and "stop GARP, then remove VIPs" always happen in the order the FSM asked for.
import type { VirtualIp } from '../config/model.js';
import type { Logger } from '../daemon/log.js';
import { initialFsmState, step, type FsmAction, type FsmEvent, type FsmParams, type FsmState, type StepResult, type TransitionReason, type VrrpState } from './fsm.js';
import { DeadlineTimer, type Clock, type LatenessStats, type TimerApi } from './deadline-timer.js';
import { encodeIpv4Header, IPPROTO_VRRP, VRRP_TOS } from './ipv4.js';
import { encodeAdvert, PRIORITY_STOP } from './packet.js';
import { RateLimiter } from './rate-limit.js';
import { checkAdvert, type ReceiveExpectation, type RejectReason } from './validate.js';
import type { ChannelMember } from './channel.js';

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
  /** Advert source address. */
  srcIp: string;
  /** Multicast group or the unicast peers. */
  destinations: string[];
  unicast: boolean;
  ttl: number;
  /** check_unicast_src: accept unicast adverts only from the peers. */
  checkUnicastSrc: boolean;
  skipCheckAdvAddr: boolean;
}

export interface InstanceDeps {
  log: Logger;
  clock: Clock;
  timers?: TimerApi;
  send(packet: Buffer, dst: string): Promise<void>;
  applyVips(op: 'add' | 'del', vips: VirtualIp[]): Promise<{ ok: boolean }>;
  garp: { start(): void; stop(): void; burst(repeat: number): void };
}

export interface TransitionRecord {
  from: VrrpState;
  to: VrrpState;
  reason: TransitionReason;
  /** Monotonic ms. */
  at: number;
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
  vips: string[];
  /** True while hakeep believes the VIPs are configured (after `ip` reported success). */
  vipsConfigured: boolean;
  counters: {
    advertsSent: number;
    advertsReceived: number;
    priorityZeroReceived: number;
    sendErrors: number;
    rejected: Partial<Record<RejectReason, number>>;
  };
  transitions: number;
  lastTransition: TransitionRecord | null;
  timer: LatenessStats;
}

export class VrrpInstanceRuntime implements ChannelMember {
  readonly vrid: number;
  private fsm: FsmState;
  private readonly timer: DeadlineTimer;
  private queue: Promise<void> = Promise.resolve();
  private readonly pendingSends = new Set<Promise<void>>();
  private readonly limiter = new RateLimiter();
  private readonly rejected: Partial<Record<RejectReason, number>> = {};
  private readonly counters = { advertsSent: 0, advertsReceived: 0, priorityZeroReceived: 0, sendErrors: 0 };
  private transitions = 0;
  private lastTransition: TransitionRecord | null = null;
  private vipsConfigured = false;
  private stopped = false;
  private readonly name: string;

  constructor(private readonly spec: InstanceSpec, private readonly deps: InstanceDeps) {
    this.vrid = spec.vrid;
    this.name = spec.fsm.name;
    this.fsm = initialFsmState(spec.fsm);
    this.timer = new DeadlineTimer(deps.clock, (now) => this.feed({ type: 'timer' }, now), deps.timers);
  }

  /** Clear VIPs a previous run may have left (kill -9), then enter BACKUP (init). */
  start(): void {
    this.enqueue(async () => {
      await this.deps.applyVips('del', this.spec.vips);
    });
    this.feed({ type: 'start' }, this.deps.clock());
  }

  /** Graceful stop: a master sends priority 0 and removes its VIPs. Resolves when done. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.feed({ type: 'shutdown' }, this.deps.clock());
    this.stopped = true;
    this.timer.cancel();
    await this.queue;
    await Promise.allSettled([...this.pendingSends]);
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
    if (v.src !== this.fsm.masterIp) this.limiter.reset(); // new master: log its problems afresh
    this.feed({ type: 'advert', from: v.src, priority: v.advert.priority }, this.deps.clock());
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
    this.deps.log.error({ instance: this.name, err: err.message }, `(${this.name}) VRRP socket error on ${this.spec.interface}: ${err.message}`);
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
      vips: this.spec.vips.map((v) => `${v.address}/${v.prefixLen}`),
      vipsConfigured: this.vipsConfigured,
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
    const r = step(this.spec.fsm, this.fsm, ev, now);
    this.apply(r, now);
  }

  private apply(r: StepResult, now: number): void {
    this.fsm = r.state;
    if (r.reason !== null) {
      this.transitions += 1;
      this.lastTransition = { from: r.from, to: r.state.state, reason: r.reason, at: now };
    }
    for (const a of r.actions) this.execute(a);
    // A backup's deadline is a takeover: worth sub-millisecond precision. Adverts are not.
    this.timer.arm(r.deadline, r.state.state === 'BACKUP');
  }

  private execute(a: FsmAction): void {
    const log = this.deps.log;
    const n = `(${this.name})`;
    switch (a.type) {
      case 'log':
        log[a.level](a.fields, a.msg);
        break;
      case 'send_advert':
        this.sendAdvert(a.priority);
        break;
      case 'add_vips':
        this.enqueue(async () => {
          log.info({ instance: this.name }, `${n} setting VIPs.`);
          if (this.spec.excludedCount > 0) log.info({ instance: this.name }, `${n} setting E-VIPs.`);
          const r = await this.deps.applyVips('add', this.spec.vips);
          this.vipsConfigured = r.ok;
        });
        break;
      case 'remove_vips':
        this.enqueue(async () => {
          log.info({ instance: this.name }, `${n} removing VIPs.`);
          if (this.spec.excludedCount > 0) log.info({ instance: this.name }, `${n} removing E-VIPs.`);
          await this.deps.applyVips('del', this.spec.vips);
          this.vipsConfigured = false;
        });
        break;
      case 'start_garp':
        this.enqueue(() => this.deps.garp.start());
        break;
      case 'stop_garp':
        this.enqueue(() => this.deps.garp.stop());
        break;
      case 'send_garp':
        this.enqueue(() => this.deps.garp.burst(a.repeat));
        break;
    }
  }

  private enqueue(work: () => Promise<void> | void): void {
    this.queue = this.queue.then(work).catch((e: unknown) => {
      this.deps.log.error({ instance: this.name, err: (e as Error).message }, `(${this.name}) ${(e as Error).message}`);
    });
  }

  private sendAdvert(priority: number): void {
    const s = this.spec;
    const vrrp = encodeAdvert({
      vrid: s.vrid, priority, authType: s.authType, advertInt: s.advertIntSec,
      addresses: s.advertAddresses, authData: s.authData,
    });
    for (const dst of s.destinations) {
      const ip = encodeIpv4Header({ src: s.srcIp, dst, ttl: s.ttl, tos: VRRP_TOS, protocol: IPPROTO_VRRP, payloadLength: vrrp.length });
      const p = this.deps.send(Buffer.concat([ip, vrrp]), dst).then(
        () => { this.counters.advertsSent += 1; },
        (e: unknown) => {
          this.counters.sendErrors += 1;
          if (this.limiter.admit(`send ${dst}`, this.deps.clock()) !== null) {
            this.deps.log.error({ instance: this.name, to: dst, err: (e as Error).message }, `(${this.name}) Cant send advert to ${dst} (${(e as Error).message})`);
          }
        },
      );
      this.pendingSends.add(p);
      void p.finally(() => this.pendingSends.delete(p));
    }
  }
}
