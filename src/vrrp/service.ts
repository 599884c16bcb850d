// The VRRP half of the daemon: one runtime per vrrp_instance, one raw socket per interface.
// stop() makes every master send priority 0 and remove its VIPs before the sockets close.
import type { Config, GlobalDefs, VirtualIp, VrrpInstance } from '../config/model.js';
import type { Logger } from '../daemon/log.js';
import type { RunningService, StartService } from '../daemon/service.js';
import { applyVips, applyVipsNetlink } from '../net/vip.js';
import { GarpScheduler, garpPolicyOf } from '../net/garp.js';
import { KernelEventFeed } from '../net/kernel-events.js';
import { tryNative } from '../net/native.js';
import { frontingInstances } from './fronting.js';
import { InterfaceWatch, type KernelView } from './iface-watch.js';
import { InterfaceChannel } from './channel.js';
import { monotonicClock, type Clock } from './deadline-timer.js';
import { VrrpInstanceRuntime, type InstanceDeps, type InstanceSpec, type InstanceStatus } from './instance.js';
import { SyncGroup } from './sync-group.js';
import { ScriptRunner } from '../script/runner.js';
import { Alerter } from '../alert/alerts.js';
import { groupScripts, instanceScripts, VrrpNotifier } from './notify.js';
import { planTrackers, SCRIPT_INIT_DETAIL, startTrackers, type Trackers, type TrackerStatus } from './trackers/index.js';
import { isMulticastIpv4 } from './ipv4.js';
import { AUTH_NONE, AUTH_PASS, passwordBytes } from './packet.js';
import { openRawVrrpSocket, type SocketOpener } from './raw-transport.js';
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
  const vips = [...inst.virtualIpaddress, ...inst.virtualIpaddressExcluded];
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
    interface: inst.interface,
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
  };
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
}

/** The VRRP side as the daemon sees it: RunningService plus the last-resort path. */
export interface VrrpService extends RunningService {
  /** Synchronously: priority 0 from every master, VIPs removed. For fatal errors only. */
  emergencyStop(): void;
  clearStats(): void;
  status(): VrrpServiceStatus;
  /** The checker side's fitness: not ok puts the fronting instances in FAULT (reason `checker`). */
  setCheckerHealth(h: { ok: boolean; detail: string }): void;
}

/** What the service needs of the feed: the view the interface watch reads, and closing it. */
export type KernelFeed = KernelView & { close(): void };

export async function startVrrp(config: Config, log: Logger, opts: VrrpServiceOptions = {}): Promise<VrrpService> {
  const clock = opts.clock ?? monotonicClock;
  const open = opts.openSocket ?? openRawVrrpSocket;
  const g = config.globalDefs;
  const specs = config.vrrpInstances.map((inst) => ({ inst, spec: resolveInstance(inst, g, log) }));
  const ownsKernel = opts.kernel === undefined;
  const kernel = opts.kernel ?? openKernelFeed(log);

  // One script runner for everything the VRRP side runs (vrrp_script checks, notify scripts,
  // the notify FIFO script): a small spawner process does the forking, off the advert timers.
  // Started only when the config has scripts: it is one more process.
  const runner = opts.runner ?? (needsScripts(config) ? new ScriptRunner({
    log: (level, msg, fields) => log[level](fields, msg),
    scriptUser: g.scriptUser,
    enableScriptSecurity: g.enableScriptSecurity,
  }) : null);
  // SMTP alerts (smtp_alert): queued and sent in the background, never on the timing path.
  const alerter = new Alerter(config, { log });
  const notifier = runner ? new VrrpNotifier(config, { runner, log, ...(opts.notifyTimeoutMs ? { timeoutMs: opts.notifyTimeoutMs } : {}) }) : null;
  if (notifier) await notifier.start();

  const channels = new Map<string, InterfaceChannel>();
  const runtimes: VrrpInstanceRuntime[] = [];
  const byName = new Map<string, VrrpInstanceRuntime>();
  let trackers: Trackers | null = null;
  // vrrp_sync_group: one coordinator per group, wired into its members' runtimes.
  const groupOf = new Map<string, SyncGroup>();
  const groups = config.vrrpSyncGroups.filter((g) => g.group.length > 0).map((g) => {
    const sg = new SyncGroup(g.name, log);
    for (const m of g.group) groupOf.set(m, sg);
    sg.onState((group, state) => {
      if (state === 'INIT') return;
      notifier?.groupTransition(group.name, state);
      alerter.groupTransition(group.name, state);
    });
    return sg;
  });
  let watch: InterfaceWatch | null = null;
  try {
    for (const { inst, spec } of specs) {
      let ch = channels.get(spec.interface);
      if (!ch) {
        const ifname = spec.interface;
        ch = new InterfaceChannel(ifname, open, { onState: (problem) => watch?.onSocketState(ifname, problem) });
        channels.set(ifname, ch);
      }
      if (!spec.unicast) ch.join(spec.destinations[0]!);
      const channel = ch;
      const garp = new GarpScheduler({
        instance: inst.name,
        interface: inst.interface,
        vips: spec.vips,
        policy: garpPolicyOf(inst, g.vrrpMinGarp),
        log,
      });
      const rt = new VrrpInstanceRuntime(spec, {
        log,
        clock,
        send: (packet, dst) => channel.send(packet, dst),
        applyVips: (op, vips) => applyVips(op, vips, inst.interface, log),
        removeVipsNow: (vips) => removeVipsNow(vips, inst.interface),
        garp,
        drain: () => { channel.drain(); },
        ...instanceHooks(groupOf.get(inst.name), notifier, alerter),
      });
      channel.add(rt);
      runtimes.push(rt);
      byName.set(inst.name, rt);
      groupOf.get(inst.name)?.add(rt);
    }
    if (opts.checkerGate !== undefined) {
      const fronting = frontingInstances(config);
      for (const rt of runtimes) if (fronting.has(rt.name)) rt.setFault('checker', 'ipvs', opts.checkerGate);
    }
    watch = new InterfaceWatch(kernel, channels, runtimes, log);
    // Faults (missing interface, no address) are known before the instances start: they start
    // in FAULT (init) instead of making hakeep exit.
    watch.start();
    // Trackers publish what they know synchronously, so an instance that must start in FAULT
    // (a weight-0 script without a result yet, a tracked interface down) does.
    if (hasTrackers(config)) {
      trackers = startTrackers(config, {
        sink: {
          setWeight: (instance, key, weight) => byName.get(instance)?.setTrackWeight(key, weight),
          setFault: (instance, source, subject, detail) => byName.get(instance)?.setFault(source, subject, detail),
          clearFault: (instance, source, subject) => byName.get(instance)?.clearFault(source, subject),
        },
        log,
        runner: runner ?? unavailableRunner,
        kernel,
      });
    }
  } catch (e) {
    watch?.stop();
    await trackers?.stop();
    for (const ch of channels.values()) ch.close();
    if (ownsKernel) kernel.close();
    await notifier?.close();
    if (!opts.runner) await runner?.close();
    throw e;
  }

  // vrrp_startup_delay (first start only, as keepalived): instances start in BACKUP and process
  // adverts at once, but none takes over before the delay ends plus its down timer.
  const delayMs = Math.round(g.vrrpStartupDelay * 1000);
  if (delayMs > 0) {
    log.info({ delayMs }, `Delaying startup for ${g.vrrpStartupDelay} seconds`);
    const holdUntil = clock() + delayMs;
    for (const { spec } of specs) spec.fsm.startupHoldUntil = holdUntil;
  }
  for (const rt of runtimes) rt.start();

  let stopping: Promise<void> | null = null;
  const closeAll = (): void => {
    watch?.stop();
    for (const ch of channels.values()) ch.close();
    if (ownsKernel) kernel.close();
  };
  return {
    name: 'vrrp',
    stop() {
      // Synchronous up to the first await: every master's priority-0 advert is on the wire
      // before this returns (the caller does this before anything else on SIGTERM).
      stopping ??= (async () => {
        notifier?.beginShutdown();
        await Promise.all(runtimes.map((rt) => rt.stop()));
        await trackers?.stop();
        closeAll();
        // keepalived's order: STOP notifications once the VIPs are released, then the runner.
        notifier?.shutdown((name) => byName.get(name)?.effectivePriority);
        alerter.vrrpShutdown();
        await notifier?.close();
        await alerter.close();
        if (!opts.runner) await runner?.close();
        for (const rt of runtimes) {
          const s = rt.status();
          log.info({ instance: s.name, counters: s.counters, transitions: s.transitions, timer: s.timer },
            `(${s.name}) stopped: adverts sent ${s.counters.advertsSent}, received ${s.counters.advertsReceived}, rejected ${Object.values(s.counters.rejected).reduce((a, b) => a + (b ?? 0), 0)}`);
        }
      })();
      return stopping;
    },
    emergencyStop() {
      for (const rt of runtimes) rt.emergencyStop();
      try { closeAll(); } catch { /* exiting anyway */ }
    },
    clearStats() {
      for (const rt of runtimes) rt.clearCounters();
    },
    setCheckerHealth(h) {
      const fronting = frontingInstances(config);
      for (const rt of runtimes) {
        if (!fronting.has(rt.name)) continue;
        if (h.ok) rt.clearFault('checker', 'ipvs');
        else rt.setFault('checker', 'ipvs', h.detail);
      }
    },
    status(): VrrpServiceStatus {
      return {
        instances: runtimes.map((rt) => rt.status()),
        syncGroups: groups.map((g) => ({ name: g.name, state: g.groupState, members: g.memberNames })),
        trackers: trackers?.status() ?? null,
        notify: notifier?.status() ?? null,
        alerts: alerter.status(),
        scripts: runner?.stats() ?? null,
      };
    },
  };
}

type Hooks = Pick<InstanceDeps, 'onTransition' | 'mayTakeOver' | 'onFaultsChanged' | 'onLowerPriorityMaster' | 'onPriorityChange'>;

/** An instance's observers: its sync group and the notify hooks. The member's own notification
 * is submitted before the group moves (keepalived: members notify first, then the group). */
function instanceHooks(group: SyncGroup | undefined, notifier: VrrpNotifier | null, alerter: Alerter): Hooks {
  const hooks: Hooks = {
    onTransition: (rt, rec) => {
      if (!(rec.to === 'FAULT' && onlyScriptInit(rt))) {
        notifier?.instanceTransition(rt.name, rec.to, rt.effectivePriority);
        if (rec.to !== 'INIT') alerter.vrrpTransition(rt.name, rec.to);
      }
      group?.onTransition(rt, rec);
    },
  };
  if (group) {
    hooks.mayTakeOver = (rt) => group.mayTakeOver(rt);
    hooks.onFaultsChanged = () => group.faultsChanged();
  }
  if (notifier) {
    hooks.onLowerPriorityMaster = (rt) => notifier.masterRxLowerPri(rt.name, rt.effectivePriority);
    hooks.onPriorityChange = (rt, priority) => notifier.priorityChanged(rt.name, priority);
  }
  return hooks;
}

/** keepalived sends no notify_fault while a weight-0 vrrp_script has no result yet
 * (vrrp_scheduler.c:289-292). */
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
