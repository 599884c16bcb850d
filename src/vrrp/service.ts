// The VRRP half of the daemon: one runtime per vrrp_instance, one raw socket per interface.
// stop() makes every master send priority 0 and remove its VIPs before the sockets close.
import type { Config, GlobalDefs, VirtualIp, VrrpInstance } from '../config/model.js';
import type { Logger } from '../daemon/log.js';
import type { RunningService, StartService } from '../daemon/service.js';
import { applyVips, applyVipsNetlink } from '../net/vip.js';
import { GarpScheduler, garpPolicyOf } from '../net/garp.js';
import { KernelEventFeed } from '../net/kernel-events.js';
import { tryNative } from '../net/native.js';
import { applyRoutes, StaticNetwork, staticSetOf } from '../net/routes.js';
import { VmacManager } from '../net/vmac.js';
import { vmacDefaultName } from '../net/vmac-plan.js';
import { frontingInstances } from './fronting.js';
import { InterfaceWatch, type KernelView } from './iface-watch.js';
import { InterfaceChannel } from './channel.js';
import { monotonicClock, type Clock } from './deadline-timer.js';
import { VrrpInstanceRuntime, type InstanceSpec, type InstanceStatus } from './instance.js';
import { SyncGroup } from './sync-group.js';
import { ScriptRunner } from '../script/runner.js';
import { Alerter } from '../alert/alerts.js';
import { SyncDaemon } from '../ipvs/sync-daemon.js';
import { groupScripts, instanceScripts, VrrpNotifier } from './notify.js';
import { planTrackers, SCRIPT_INIT_DETAIL, startTrackers, type Trackers, type TrackerStatus } from './trackers/index.js';
import { formatVrrpPlan, planVrrpReload } from '../daemon/reload-plan.js';
import { isMulticastIpv4 } from './ipv4.js';
import { AUTH_NONE, AUTH_PASS, passwordBytes } from './packet.js';
import { openRawVrrpSocket, type SocketOpener } from './raw-transport.js';
import { openAdvertPacer, pacerInfo, setPacerPriority, type AdvertPacer, type PacerOpenResult } from './advert-pacer.js';
import type { PacerInfo } from '../net/native.js';
import { v2AdvertIntSeconds } from './timing.js';
import { peerTtlMap } from './validate.js';

export interface VrrpServiceStatus {
  /** Each instance's `timer` block says how late its timers fired: the event-loop lag that
   * matters for VRRP, measured where it hurts, without a sampling timer of its own. */
  instances: InstanceStatus[];
  syncGroups: Array<{ name: string; state: string; members: string[] }>;
  trackers: TrackerStatus | null;
  notify: ReturnType<VrrpNotifier['status']> | null;
  alerts: ReturnType<Alerter['status']>;
  scripts: ReturnType<ScriptRunner['stats']> | null;
  /** lvs_sync_daemon, when configured. */
  lvsSyncDaemon?: ReturnType<SyncDaemon['status']>;
  /** The advert pacer's thread (advert-pacer.ts): real-time or not, sends, how late it woke. Absent when off. */
  advertPacer?: PacerInfo;
}

/**
 * Resolve a configured instance into what the wire and the FSM need. Throws with the reason for
 * what the config checker should already have refused. The advert source is only known here when
 * configured (mcast_src_ip/unicast_src_ip); otherwise it comes from the interface at run time,
 * and an interface without an IPv4 address puts the instance in FAULT instead of stopping hakeep.
 */
export function resolveInstance(inst: VrrpInstance, g: GlobalDefs, log: Logger): InstanceSpec {
  const where = `${inst.loc.file}:${inst.loc.line}: vrrp_instance ${inst.name}`;
  if (inst.version !== 2) {
    throw new Error(`${where}: VRRP version ${inst.version} is not supported yet; set "version 2" (or vrrp_version 2 in global_defs)`);
  }
  if (inst.authType === 'AH') {
    throw new Error(`${where}: auth_type AH is not supported; use auth_type PASS or remove the authentication block`);
  }
  const v6 = inst.virtualIpaddress.filter((v) => v.family === 6);
  if (v6.length > 0) {
    throw new Error(`${where}: IPv6 address ${v6[0]!.address} in virtual_ipaddress: VRRPv2 adverts carry IPv4 only; move it to virtual_ipaddress_excluded`);
  }
  const advertIntSec = v2AdvertIntSeconds(inst.advertInt);
  if (advertIntSec !== inst.advertInt) {
    log.warn({ instance: inst.name }, `(${inst.name}) advert_int ${inst.advertInt} rounded to ${advertIntSec} s: VRRPv2 carries whole seconds`);
  }
  // use_vmac: VIPs without their own dev go on the VMAC; adverts leave from it unless
  // vmac_xmit_base (then from the base interface, where they are received too).
  const vmac = vmacNameOf(inst);
  const vips = [...inst.virtualIpaddress, ...inst.virtualIpaddressExcluded].map((v) => (vmac !== null && v.dev === null ? { ...v, dev: vmac } : v));
  const unicast = inst.unicastPeers.length > 0;
  const configuredSrc = unicast ? inst.unicastSrcIp : inst.mcastSrcIp;
  // The config loader drops addresses of the wrong family with a warning; never send from one.
  for (const a of [configuredSrc, ...inst.unicastPeers.map((p) => p.address)]) {
    if (a !== null && !isIpv4(a)) throw new Error(`${where}: ${a} is not an IPv4 address; a VRRPv2 instance sends and receives IPv4 only`);
  }
  const group = inst.mcastDstIp ?? g.vrrpMcastGroup4;
  if (!unicast && !isMulticastIpv4(group)) {
    throw new Error(`${where}: multicast group ${group} is not an IPv4 multicast address`);
  }
  return {
    fsm: {
      name: inst.name,
      priority: inst.priority,
      advertIntMs: advertIntSec * 1000,
      initialState: inst.initialState,
      nopreempt: inst.nopreempt,
      preemptDelayMs: inst.preemptDelay * 1000,
      downTimerAdverts: inst.downTimerAdverts,
      lowerPrioNoAdvert: inst.lowerPrioNoAdvert,
      higherPrioSendAdvert: inst.higherPrioSendAdvert,
      // Resolved by the config loader to keepalived's values (global vrrp_garp_lower_prio_*,
      // which follow vrrp_garp_master_*; 0 under strict mode).
      garpLowerPrioRepeat: inst.garpLowerPrioRepeat,
      garpLowerPrioDelayMs: inst.garpLowerPrioDelay * 1000,
      ownIp: configuredSrc ?? '0.0.0.0',
    },
    interface: vmac !== null && !inst.vmacXmitBase ? vmac : inst.interface,
    vrid: inst.virtualRouterId,
    advertIntSec,
    authType: inst.authType === 'PASS' ? AUTH_PASS : AUTH_NONE,
    authData: inst.authType === 'PASS' ? passwordBytes(inst.authPass) : Buffer.alloc(8),
    advertAddresses: inst.virtualIpaddress.map((v) => v.address),
    vips,
    excludedCount: inst.virtualIpaddressExcluded.length,
    srcIp: configuredSrc,
    srcConfigured: configuredSrc !== null,
    destinations: unicast ? inst.unicastPeers.map((p) => p.address) : [group],
    unicast,
    ttl: unicast ? inst.unicastTtl : 255,
    checkUnicastSrc: inst.checkUnicastSrc,
    peerTtl: unicast ? peerTtlMap(inst.unicastPeers) : null,
    skipCheckAdvAddr: inst.skipCheckAdvAddr,
    dontTrackPrimary: inst.dontTrackPrimary,
    routes: inst.virtualRoutes,
    rules: inst.virtualRules,
  };
}

/** The VMAC's name when the instance uses one (use_vmac NAME, else vrrp.VRID), else null. */
export function vmacNameOf(inst: VrrpInstance): string | null {
  if (inst.useVmac === null) return null;
  return inst.useVmac || vmacDefaultName(inst.virtualRouterId);
}

const isIpv4 = (a: string): boolean => /^\d{1,3}(\.\d{1,3}){3}$/.test(a);

export interface VrrpServiceOptions {
  openSocket?: SocketOpener;
  clock?: Clock;
  /** The kernel's links and addresses (the shared rtnetlink feed); opened here when absent. */
  kernel?: KernelFeed;
  /** The script runner (tests); created here when the config has scripts. */
  runner?: ScriptRunner;
  /** How long a notify script may run (ms; default the notifier's). */
  notifyTimeoutMs?: number;
  /**
   * The checker side will run: the instances fronting the virtual servers start with this
   * checker fault (e.g. "IPVS table not programmed yet") until setCheckerHealth says ok, so no
   * VIP comes up before its IPVS pool.
   */
  checkerGate?: string;
  /** The advert pacer (advert-pacer.ts) per instance; default: on with the real raw sockets and
   * clock, off when a test injects either, and off with HAKEEP_ADVERT_PACER=0 (A/B measurements). */
  advertPacer?: (ifname: string) => PacerOpenResult;
}

/** The VRRP side as the daemon sees it: RunningService plus the last-resort path. */
export interface VrrpService extends RunningService {
  /** Synchronously: priority 0 from every master, VIPs removed. For fatal errors only. */
  emergencyStop(): void;
  clearStats(): void;
  status(): VrrpServiceStatus;
  /** The checker side's fitness: not ok puts the fronting instances in FAULT (reason `checker`). */
  setCheckerHealth(h: { ok: boolean; detail: string }): void;
  /** Apply a new configuration without disruption (SIGHUP). */
  reload(next: Config): Promise<ReloadOutcome>;
}

/** What the service needs of the feed: the view the interface watch reads, and closing it. */
export type KernelFeed = KernelView & { close(): void };

export async function startVrrp(config: Config, log: Logger, opts: VrrpServiceOptions = {}): Promise<VrrpService> {
  const side = new VrrpSide(config, log, opts);
  await side.start();
  return side;
}

/** What a reload did, line by line (the plan, then what could not be done). */
export interface ReloadOutcome {
  lines: string[];
}

/**
 * The VRRP side: the instances, their sockets (one per interface), the interface watch, sync
 * groups, trackers, notify hooks and alerts. Everything that can change on a reload is held in
 * replaceable fields; the instance runtimes reach their observers through the side (not through
 * references captured at construction), so a reload can swap a sync group or the notifier under
 * a running instance.
 */
class VrrpSide implements VrrpService {
  readonly name = 'vrrp' as const;
  private config: Config;
  private readonly clock: Clock;
  private readonly open: SocketOpener;
  private readonly ownsKernel: boolean;
  private readonly kernel: KernelFeed;
  private runner: ScriptRunner | null;
  private readonly ownsRunner: boolean;
  private readonly alerter: Alerter;
  /** lvs_sync_daemon: the kernel's IPVS sync daemon following one instance (src/ipvs/sync-daemon.ts). */
  private readonly syncd: SyncDaemon;
  private notifier: VrrpNotifier | null = null;
  /** static_ipaddress/static_routes/static_rules (src/net/routes.ts); null before start. */
  private statics: StaticNetwork | null = null;
  /** use_vmac: the macvlans this side created or adopted (src/net/vmac.ts). */
  private readonly vmacs: VmacManager;
  /** Instances whose advert source is read from another interface than their socket's (a VMAC's base). */
  private readonly sourceIfaces = new Map<string, string>();
  private readonly channels = new Map<string, InterfaceChannel>();
  private runtimes: VrrpInstanceRuntime[] = [];
  private readonly byName = new Map<string, VrrpInstanceRuntime>();
  private readonly specs = new Map<string, InstanceSpec>();
  private groups: SyncGroup[] = [];
  private groupOf = new Map<string, SyncGroup>();
  private trackers: Trackers | null = null;
  private watch: InterfaceWatch | null = null;
  /** The checker side's last health: new instances that front virtual servers inherit it. */
  private checker: { ok: boolean; detail: string } | null;
  private stopping: Promise<void> | null = null;
  private reloading: Promise<ReloadOutcome> | null = null;
  private readonly openPacer: ((ifname: string) => PacerOpenResult) | null;
  private pacerLogged = false;

  constructor(config: Config, private readonly log: Logger, private readonly opts: VrrpServiceOptions) {
    this.config = config;
    this.clock = opts.clock ?? monotonicClock;
    this.open = opts.openSocket ?? openRawVrrpSocket;
    const realWire = opts.openSocket === undefined && opts.clock === undefined && process.env.HAKEEP_ADVERT_PACER !== '0';
    this.openPacer = opts.advertPacer ?? (realWire ? (ifname) => openAdvertPacer(ifname) : null);
    this.applyPacerPriority();
    this.ownsKernel = opts.kernel === undefined;
    // use_vmac: the VMACs exist before the kernel feed takes its first view, so the watch finds
    // them at once (no "does not exist (yet)" FAULT at start).
    this.vmacs = new VmacManager(log);
    try {
      for (const inst of config.vrrpInstances) {
        const vmac = vmacNameOf(inst);
        if (vmac !== null) this.vmacs.ensure({ instance: inst.name, name: vmac, base: inst.interface, vrid: inst.virtualRouterId });
      }
    } catch (e) {
      this.vmacs.removeAll();
      throw e;
    }
    this.kernel = opts.kernel ?? openKernelFeed(log);
    this.ownsRunner = opts.runner === undefined;
    this.runner = opts.runner ?? null;
    // SMTP alerts (smtp_alert): queued and sent in the background, never on the timing path.
    this.alerter = new Alerter(config, { log });
    this.syncd = new SyncDaemon({ ipvsadmPath: process.env.HAKEEP_IPVSADM || 'ipvsadm', log });
    this.checker = opts.checkerGate !== undefined ? { ok: false, detail: opts.checkerGate } : null;
  }

  async start(): Promise<void> {
    const config = this.config;
    const g = config.globalDefs;
    const specs = config.vrrpInstances.map((inst) => ({ inst, spec: resolveInstance(inst, g, this.log) }));
    try {
      await this.ensureNotifier(config);
      this.buildGroups(config);
      for (const { inst, spec } of specs) this.addInstance(inst, spec);
      this.applyCheckerGate();
      this.restartWatch();
      // Trackers publish what they know synchronously, so an instance that must start in FAULT
      // (a weight-0 script without a result yet, a tracked interface down) does.
      this.trackers = this.startTrackers(config, null);
    } catch (e) {
      await this.shutdownParts();
      throw e;
    }
    // vrrp_startup_delay (first start only, as keepalived): instances start in BACKUP and process
    // adverts at once, but none takes over before the delay ends plus its down timer.
    const delayMs = Math.round(g.vrrpStartupDelay * 1000);
    if (delayMs > 0) {
      this.log.info({ delayMs }, `Delaying startup for ${g.vrrpStartupDelay} seconds`);
      const holdUntil = this.clock() + delayMs;
      for (const { spec } of specs) spec.fsm.startupHoldUntil = holdUntil;
    }
    // static_ipaddress/static_routes/static_rules: set before any instance runs, for the daemon's life.
    this.statics = new StaticNetwork(this.log);
    await this.statics.start(staticSetOf(config));
    // The sync daemon starts as BACKUP before any instance can become master (keepalived's order).
    this.syncd.start(g.lvsSyncDaemon ?? null);
    for (const rt of this.runtimes) rt.start();
  }

  /** The script runner and the notifier for `config` (created when it needs them). */
  private async ensureNotifier(config: Config): Promise<void> {
    if (!this.runner && needsScripts(config)) {
      // One script runner for everything the VRRP side runs: a small spawner process forks.
      this.runner = new ScriptRunner({
        log: (level, msg, fields) => this.log[level](fields, msg),
        scriptUser: config.globalDefs.scriptUser,
        enableScriptSecurity: config.globalDefs.enableScriptSecurity,
      });
    }
    this.notifier = this.runner
      ? new VrrpNotifier(config, { runner: this.runner, log: this.log, ...(this.opts.notifyTimeoutMs ? { timeoutMs: this.opts.notifyTimeoutMs } : {}) })
      : null;
    if (this.notifier) await this.notifier.start();
  }

  private buildGroups(config: Config): void {
    this.groupOf = new Map();
    this.groups = config.vrrpSyncGroups.filter((sg) => sg.group.length > 0).map((def) => {
      const sg = new SyncGroup(def.name, this.log);
      for (const m of def.group) this.groupOf.set(m, sg);
      sg.onState((group, state) => {
        if (state === 'INIT') return;
        this.notifier?.groupTransition(group.name, state);
        this.alerter.groupTransition(group.name, state);
      });
      return sg;
    });
    for (const rt of this.runtimes) this.groupOf.get(rt.name)?.add(rt);
  }

  private channelFor(ifname: string): InterfaceChannel {
    let ch = this.channels.get(ifname);
    if (!ch) {
      ch = new InterfaceChannel(ifname, this.open, { onState: (problem) => this.watch?.onSocketState(ifname, problem) });
      this.channels.set(ifname, ch);
    }
    return ch;
  }

  /** vrrp_rt_priority (default 1) to the pacer thread, at start and when a reload changes it. */
  private applyPacerPriority(): void {
    if (this.openPacer === null) return;
    const want = this.config.globalDefs.vrrpRtPriority ?? 1;
    const info = pacerInfo();
    if (info === null || info.priority === want) return;
    setPacerPriority(want);
    if (this.pacerLogged) this.logPacer();
  }

  private logPacer(): void {
    const info = pacerInfo();
    if (info?.realtime) this.log.info({ priority: info.priority }, `Advert pacer: a real-time thread (SCHED_FIFO ${info.priority}) sends each master's periodic adverts on time`);
    else this.log.warn({ why: info?.schedError ?? null }, `Advert pacer: real-time scheduling refused (${info?.schedError ?? 'unknown'}): its thread runs at normal priority, so a busy CPU can still delay adverts`);
  }

  /** An advert pacer for one instance; without one (logged once) its adverts go from the loop. */
  private pacerFor(instance: string, ifname: string): AdvertPacer | undefined {
    if (this.openPacer === null) return undefined;
    const r = this.openPacer(ifname);
    if (r.pacer === null) {
      this.log.warn({ instance, interface: ifname }, `(${instance}) no advert pacer (${r.error}): its adverts go from the event loop, and a busy loop can delay them`);
      return undefined;
    }
    if (!this.pacerLogged) {
      this.pacerLogged = true;
      this.logPacer();
    }
    return r.pacer;
  }

  private addInstance(inst: VrrpInstance, spec: InstanceSpec): VrrpInstanceRuntime {
    const vmac = vmacNameOf(inst);
    if (vmac !== null) {
      // Synchronous netlink, before the socket opens on it and before the watch looks at it.
      this.vmacs.ensure({ instance: inst.name, name: vmac, base: inst.interface, vrid: inst.virtualRouterId });
      // The VMAC carries only VIPs: adverts take their source from the base, as keepalived's.
      if (spec.interface !== inst.interface) this.sourceIfaces.set(inst.name, inst.interface);
    }
    const channel = this.channelFor(spec.interface);
    if (!spec.unicast) channel.join(spec.destinations[0]!);
    const garp = new GarpScheduler({
      instance: inst.name,
      interface: inst.interface,
      vips: spec.vips,
      policy: garpPolicyOf(inst, this.config.globalDefs.vrrpMinGarp),
      log: this.log,
    });
    const name = inst.name;
    const rt = new VrrpInstanceRuntime(spec, {
      log: this.log,
      clock: this.clock,
      send: (packet, dst) => channel.send(packet, dst),
      pacer: this.pacerFor(inst.name, spec.interface),
      applyVips: (op, vips) => applyVips(op, vips, inst.interface, this.log),
      removeVipsNow: (vips) => removeVipsNow(vips, inst.interface),
      applyRoutes: (op, routes, rules) => applyRoutes(op, routes, rules, this.log, `(${name})`),
      garp,
      drain: () => { channel.drain(); },
      // Observers are looked up at each call: a reload may replace them.
      onTransition: (r, rec) => {
        if (!(rec.to === 'FAULT' && onlyScriptInit(r))) {
          this.notifier?.instanceTransition(r.name, rec.to, r.effectivePriority);
          if (rec.to !== 'INIT') this.alerter.vrrpTransition(r.name, rec.to);
        }
        this.syncd.transition(r.name, rec.to);
        this.groupOf.get(name)?.onTransition(r, rec);
      },
      mayTakeOver: (r) => this.groupOf.get(name)?.mayTakeOver(r) ?? true,
      onFaultsChanged: () => this.groupOf.get(name)?.faultsChanged(),
      onLowerPriorityMaster: (r) => this.notifier?.masterRxLowerPri(r.name, r.effectivePriority),
      onPriorityChange: (r, priority) => this.notifier?.priorityChanged(r.name, priority),
    });
    channel.add(rt);
    this.runtimes.push(rt);
    this.byName.set(name, rt);
    this.specs.set(name, spec);
    this.groupOf.get(name)?.add(rt);
    return rt;
  }

  /** Stop one instance (priority 0 if master, VIPs removed) and forget it. */
  private async removeInstance(name: string, deleted: boolean): Promise<void> {
    const rt = this.byName.get(name);
    if (!rt) return;
    if (deleted) this.notifier?.instanceDeleted(name);
    await rt.stop();
    this.channels.get(rt.interfaceName)?.remove(rt.vrid);
    this.runtimes = this.runtimes.filter((x) => x !== rt);
    this.byName.delete(name);
    this.specs.delete(name);
    this.sourceIfaces.delete(name);
    const inst = this.config.vrrpInstances.find((i) => i.name === name);
    const vmac = rt.interfaceName !== inst?.interface ? rt.interfaceName : null;
    // The VMAC this instance ran on (its name is the channel's, or, with xmit_base, its VIPs' dev).
    for (const v of [vmac, ...rt.vips.map((x) => x.dev)]) if (v && this.vmacs.names.includes(v)) this.vmacs.remove(v);
  }

  private applyCheckerGate(): void {
    if (this.checker === null) return;
    const fronting = frontingInstances(this.config);
    for (const rt of this.runtimes) {
      if (fronting.has(rt.name) && !this.checker.ok) rt.setFault('checker', 'ipvs', this.checker.detail);
      else rt.clearFault('checker', 'ipvs');
    }
  }

  private restartWatch(): void {
    this.watch?.stop();
    this.watch = new InterfaceWatch(this.kernel, this.channels, this.runtimes, this.log, this.sourceIfaces);
    // Faults (missing interface, no address) are known before new instances start: they start in
    // FAULT (init) instead of making hakeep exit.
    this.watch.start();
  }

  private startTrackers(config: Config, previous: TrackerStatus | null): Trackers | null {
    if (!hasTrackers(config)) return null;
    return startTrackers(config, {
      sink: {
        setWeight: (instance, key, weight) => this.byName.get(instance)?.setTrackWeight(key, weight),
        setFault: (instance, source, subject, detail) => this.byName.get(instance)?.setFault(source, subject, detail),
        clearFault: (instance, source, subject) => this.byName.get(instance)?.clearFault(source, subject),
      },
      log: this.log,
      runner: this.runner ?? unavailableRunner,
      kernel: this.kernel,
      ...(previous ? { reload: true, previous } : {}),
    });
  }

  /**
   * Apply a new configuration without disruption (src/daemon/reload-plan.ts): unchanged instances
   * are not touched; changed ones take the new settings in place; those whose identity on the wire
   * changed, and removed ones, stop (priority 0 if master); new ones start. Reloads never overlap.
   */
  reload(next: Config): Promise<ReloadOutcome> {
    const run = async (): Promise<ReloadOutcome> => {
      if (this.stopping) return { lines: ['not reloaded: the VRRP side is stopping'] };
      const prev = this.config;
      const plan = planVrrpReload(prev, next);
      const lines = formatVrrpPlan(plan);
      const g = next.globalDefs;
      // Resolve everything first: a config that cannot run leaves the running one untouched.
      const specs = new Map(next.vrrpInstances.map((inst) => [inst.name, resolveInstance(inst, g, this.log)]));
      this.config = next;
      this.applyPacerPriority();
      // 1. Instances that go, or come back as another router: stop them first (priority 0).
      for (const c of plan.instances) {
        if (c.kind === 'stopped' || c.kind === 'restarted') await this.removeInstance(c.name, c.kind === 'stopped');
      }
      // 2. Observers: sync groups, notify hooks (when their config changed), then instances.
      this.buildGroups(next);
      if (canonOf(notifyConfig(prev)) !== canonOf(notifyConfig(next))) {
        const old = this.notifier;
        await this.ensureNotifier(next);
        await old?.close();
      }
      const fresh: VrrpInstanceRuntime[] = [];
      for (const inst of next.vrrpInstances) {
        const spec = specs.get(inst.name)!;
        const rt = this.byName.get(inst.name);
        if (!rt) {
          fresh.push(this.addInstance(inst, spec));
          continue;
        }
        const change = plan.instances.find((x) => x.name === inst.name);
        if (change?.kind === 'changed') {
          rt.update(spec, garpPolicyOf(inst, g.vrrpMinGarp));
          this.specs.set(inst.name, spec);
        }
      }
      for (const [ifname, ch] of this.channels) {
        if (!this.runtimes.some((rt) => rt.interfaceName === ifname)) {
          ch.close();
          this.channels.delete(ifname);
        }
      }
      this.applyCheckerGate();
      this.restartWatch();
      // 3. Trackers: kept when their configuration did not change; else replaced, each script
      // starting from its previous result (keepalived's INIT_RELOAD: no fall back to init).
      if (canonOf(planTrackers(prev)) !== canonOf(planTrackers(next))) {
        const previous = this.trackers?.status() ?? null;
        await this.trackers?.stop();
        this.trackers = this.startTrackers(next, previous);
      }
      const followed = g.lvsSyncDaemon?.instance;
      lines.push(...this.syncd.reload(g.lvsSyncDaemon ?? null, followed ? this.byName.get(followed)?.state === 'MASTER' : false));
      await this.statics?.reload(staticSetOf(next));
      for (const rt of fresh) rt.start();
      return { lines };
    };
    const p = (this.reloading ?? Promise.resolve()).then(run, run);
    this.reloading = p.then(() => ({ lines: [] }), () => ({ lines: [] }));
    return p;
  }

  /** What reload(next) would do to the instances (`hakeep plan`); changes nothing. */
  plan(next: Config): Promise<ReloadOutcome> {
    return Promise.resolve({ lines: formatVrrpPlan(planVrrpReload(this.config, next)) });
  }

  stop(): Promise<void> {
    // Synchronous up to the first await: every master's priority-0 advert is on the wire
    // before this returns (the caller does this before anything else on SIGTERM).
    this.stopping ??= (async () => {
      this.notifier?.beginShutdown();
      await Promise.all(this.runtimes.map((rt) => rt.stop()));
      await this.trackers?.stop();
      this.closeSockets();
      // After the priority-0 adverts and the VIPs: the VMACs go (keepalived removes them on stop).
      this.vmacs.removeAll();
      await this.syncd.stop();
      // keepalived removes its static rules, routes and addresses at stop (vrrp_daemon.c:435-437).
      await this.statics?.stop();
      // keepalived's order: STOP notifications once the VIPs are released, then the runner.
      this.notifier?.shutdown((name) => this.byName.get(name)?.effectivePriority);
      this.alerter.vrrpShutdown();
      await this.notifier?.close();
      await this.alerter.close();
      if (this.ownsRunner) await this.runner?.close();
      for (const rt of this.runtimes) {
        const s = rt.status();
        this.log.info({ instance: s.name, counters: s.counters, transitions: s.transitions, timer: s.timer },
          `(${s.name}) stopped: adverts sent ${s.counters.advertsSent}, received ${s.counters.advertsReceived}, rejected ${Object.values(s.counters.rejected).reduce((a, b) => a + (b ?? 0), 0)}`);
      }
    })();
    return this.stopping;
  }

  private closeSockets(): void {
    this.watch?.stop();
    for (const ch of this.channels.values()) ch.close();
    if (this.ownsKernel) this.kernel.close();
  }

  private async shutdownParts(): Promise<void> {
    this.watch?.stop();
    this.vmacs.removeAll();
    await this.trackers?.stop();
    for (const ch of this.channels.values()) ch.close();
    if (this.ownsKernel) this.kernel.close();
    await this.notifier?.close();
    if (this.ownsRunner) await this.runner?.close();
  }

  emergencyStop(): void {
    for (const rt of this.runtimes) rt.emergencyStop();
    try { this.closeSockets(); } catch { /* exiting anyway */ }
    try { this.vmacs.removeAll(); } catch { /* exiting anyway */ }
  }

  clearStats(): void {
    for (const rt of this.runtimes) rt.clearCounters();
  }

  setCheckerHealth(h: { ok: boolean; detail: string }): void {
    this.checker = h;
    this.applyCheckerGate();
  }

  status(): VrrpServiceStatus {
    return {
      instances: this.runtimes.map((rt) => rt.status()),
      syncGroups: this.groups.map((sg) => ({ name: sg.name, state: sg.groupState, members: sg.memberNames })),
      trackers: this.trackers?.status() ?? null,
      notify: this.notifier?.status() ?? null,
      alerts: this.alerter.status(),
      scripts: this.runner?.stats() ?? null,
      ...(this.config.globalDefs.lvsSyncDaemon ? { lvsSyncDaemon: this.syncd.status() } : {}),
      ...(this.pacerLogged ? { advertPacer: pacerInfo() ?? undefined } : {}),
    };
  }
}

/** A comparable rendering without source locations. */
function canonOf(x: unknown): string {
  return JSON.stringify(x, (k, v: unknown) => (k === 'loc' ? undefined : v));
}

/** What the notifier is built from: a change means a new notifier on reload. */
function notifyConfig(c: Config): unknown {
  const g = c.globalDefs;
  return {
    fifos: [g.notifyFifo, g.notifyFifoScript, g.vrrpNotifyFifo, g.vrrpNotifyFifoScript, g.scriptUser, g.enableScriptSecurity],
    instances: c.vrrpInstances.map((i) => [i.name, instanceScripts(i)]),
    groups: c.vrrpSyncGroups.map((sg) => [sg.name, groupScripts(sg)]),
  };
}

function onlyScriptInit(rt: VrrpInstanceRuntime): boolean {
  const f = rt.faultReasons;
  return f.length > 0 && f.every((x) => x.source === 'script' && x.detail === SCRIPT_INIT_DETAIL);
}

function needsScripts(config: Config): boolean {
  const g = config.globalDefs;
  return config.vrrpScripts.length > 0 || g.notifyFifo !== null || g.vrrpNotifyFifo !== null
    || config.vrrpInstances.some((i) => Object.values(instanceScripts(i)).some((c) => c !== null))
    || config.vrrpSyncGroups.some((sg) => Object.values(groupScripts(sg)).some((c) => c !== null));
}

function hasTrackers(config: Config): boolean {
  const p = planTrackers(config);
  return [p.scripts, p.interfaces, p.files, p.processes].some((list) => list.some((t) => t.bindings.length > 0));
}

/** For trackers without a runner (no vrrp_script configured): never asked to run anything. */
const unavailableRunner = {
  run: () => Promise.resolve({ exitCode: null, signal: null, timedOut: false, durationMs: 0, stdout: '', stderr: '', error: 'no script runner' }),
};

/** Remove VIPs in this call (netlink, synchronous); used only on the way out of a dying process. */
function removeVipsNow(vips: VirtualIp[], dev: string): void {
  const addon = tryNative();
  if (addon) applyVipsNetlink(addon, 'del', vips, dev);
}

function openKernelFeed(log: Logger): KernelFeed {
  try {
    const feed = KernelEventFeed.open({
      onError: (err, source) => log.error({ source, err: err.stack }, `kernel event feed (${source}): ${err.message}`),
    });
    return {
      link: (name) => feed.link(name),
      addresses: (ifname, family) => feed.addresses(ifname, family),
      isLocal: (address) => feed.isLocal(address),
      subscribe: (fn) => feed.subscribe(fn),
      close: () => feed.close(),
    };
  } catch (e) {
    throw new Error(`cannot watch interfaces and addresses over rtnetlink: ${(e as Error).message}`, { cause: e });
  }
}

export const startVrrpService: StartService = (config, ctx) => startVrrp(config, ctx.log, {
  ...(ctx.checkerGate !== undefined ? { checkerGate: ctx.checkerGate } : {}),
  ...(ctx.notifyTimeoutMs !== undefined ? { notifyTimeoutMs: ctx.notifyTimeoutMs } : {}),
});
