// The VRRP half of the daemon: one runtime per vrrp_instance, one raw socket per interface.
// stop() makes every master send priority 0 and remove its VIPs before the sockets close.
import type { Config, GlobalDefs, VrrpInstance } from '../config/model.js';
import type { Logger } from '../daemon/log.js';
import type { RunningService, StartService } from '../daemon/service.js';
import { applyVips } from '../net/vip.js';
import { GarpScheduler, garpPolicyOf } from '../net/garp.js';
import { primaryIpv4 } from '../net/iface.js';
import { InterfaceChannel } from './channel.js';
import { monotonicClock, type Clock } from './deadline-timer.js';
import { VrrpInstanceRuntime, type InstanceSpec, type InstanceStatus } from './instance.js';
import { isMulticastIpv4 } from './ipv4.js';
import { AUTH_NONE, AUTH_PASS, passwordBytes } from './packet.js';
import { openRawVrrpSocket, type SocketOpener } from './raw-transport.js';
import { v2AdvertIntSeconds } from './timing.js';

export interface VrrpServiceStatus {
  /** Each instance's `timer` block says how late its timers fired: the event-loop lag that
   * matters for VRRP, measured where it hurts, without a sampling timer of its own. */
  instances: InstanceStatus[];
}

/** Resolve a configured instance into what the wire and the FSM need. Throws with the reason. */
export function resolveInstance(inst: VrrpInstance, g: GlobalDefs, log: Logger, primary: (ifname: string, exclude: string[]) => string | null): InstanceSpec {
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
  const ifaceIp = primary(inst.interface, vips.map((v) => v.address));
  const srcIp = configuredSrc ?? ifaceIp;
  if (!srcIp) {
    throw new Error(`${where}: interface ${inst.interface} has no IPv4 address (or does not exist): VRRPv2 adverts need a source; configure an address on it or set ${unicast ? 'unicast_src_ip' : 'mcast_src_ip'}`);
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
      garpLowerPrioRepeat: inst.garpLowerPrioRepeat ?? 0,
      ownIp: srcIp,
    },
    interface: inst.interface,
    vrid: inst.virtualRouterId,
    advertIntSec,
    authType: inst.authType === 'PASS' ? AUTH_PASS : AUTH_NONE,
    authData: inst.authType === 'PASS' ? passwordBytes(inst.authPass) : Buffer.alloc(8),
    advertAddresses: inst.virtualIpaddress.map((v) => v.address),
    vips,
    excludedCount: inst.virtualIpaddressExcluded.length,
    srcIp,
    destinations: unicast ? inst.unicastPeers.map((p) => p.address) : [group],
    unicast,
    ttl: unicast ? inst.unicastTtl : 255,
    checkUnicastSrc: g.vrrpCheckUnicastSrc,
    skipCheckAdvAddr: inst.skipCheckAdvAddr,
  };
}

export interface VrrpServiceOptions {
  openSocket?: SocketOpener;
  clock?: Clock;
}

export async function startVrrp(config: Config, log: Logger, opts: VrrpServiceOptions = {}): Promise<RunningService> {
  const clock = opts.clock ?? monotonicClock;
  const open = opts.openSocket ?? openRawVrrpSocket;
  const g = config.globalDefs;
  const specs = config.vrrpInstances.map((inst) => ({ inst, spec: resolveInstance(inst, g, log, primaryIpv4) }));

  const channels = new Map<string, InterfaceChannel>();
  const runtimes: VrrpInstanceRuntime[] = [];
  try {
    for (const { inst, spec } of specs) {
      let ch = channels.get(spec.interface);
      if (!ch) {
        ch = new InterfaceChannel(spec.interface, primaryIpv4(spec.interface, spec.vips.map((v) => v.address)) ?? spec.srcIp, open);
        channels.set(spec.interface, ch);
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
        garp,
      });
      channel.add(rt);
      runtimes.push(rt);
    }
  } catch (e) {
    for (const ch of channels.values()) ch.close();
    throw e;
  }
  for (const rt of runtimes) rt.start();

  let stopping: Promise<void> | null = null;
  return {
    name: 'vrrp',
    stop() {
      stopping ??= (async () => {
        await Promise.all(runtimes.map((rt) => rt.stop()));
        for (const ch of channels.values()) ch.close();
        for (const rt of runtimes) {
          const s = rt.status();
          log.info({ instance: s.name, counters: s.counters, transitions: s.transitions, timer: s.timer },
            `(${s.name}) stopped: adverts sent ${s.counters.advertsSent}, received ${s.counters.advertsReceived}, rejected ${Object.values(s.counters.rejected).reduce((a, b) => a + (b ?? 0), 0)}`);
        }
      })();
      return stopping;
    },
    status(): VrrpServiceStatus {
      return { instances: runtimes.map((rt) => rt.status()) };
    },
  };
}

export const startVrrpService: StartService = (config, ctx) => startVrrp(config, ctx.log);
