// From a virtual server's config and its pool state to the IPVS services it should have.
// Pure: the reconciler compares the result with what the kernel holds.
import type { LbKind, RealServer, TunnelOptions, VirtualServer, VirtualServerGroup } from '../config/model.js';
import { canonicalIp, formatVs } from './format.js';
import { serviceDestKey } from './model.js';
import type { IpvsDest, IpvsForward, IpvsService, IpvsServiceAddr, IpvsTunnel } from './model.js';
import type { PoolState } from './pool.js';

export function forwardOf(kind: LbKind): IpvsForward {
  return kind === 'NAT' ? 'masq' : kind === 'DR' ? 'route' : 'tunnel';
}

/**
 * The IPVS service addresses of a virtual server; a group expands to one per member. A group's
 * fwmark member without a family takes the virtual server's, else IPv4 (ipvswrapper.c:469-474).
 */
export function serviceAddrs(vs: Pick<VirtualServer, 'address' | 'protocol' | 'family'>, groups: readonly VirtualServerGroup[]): IpvsServiceAddr[] {
  const protocol = vs.protocol.toLowerCase() as 'tcp' | 'udp' | 'sctp';
  const a = vs.address;
  if (a.kind === 'ip') return [{ kind: 'ip', protocol, ip: canonicalIp(a.ip, a.family), port: a.port, family: a.family }];
  if (a.kind === 'fwmark') return [{ kind: 'fwmark', fwmark: a.fwmark, family: a.family }];
  const group = groups.find((g) => g.name === a.group);
  if (!group) return [];
  return group.entries.map((e): IpvsServiceAddr =>
    e.kind === 'ip'
      ? { kind: 'ip', protocol, ip: canonicalIp(e.ip, e.family), port: e.port, family: e.family }
      : { kind: 'fwmark', fwmark: e.fwmark, family: groupFwmarkFamily(e, vs) });
}

/** A group's fwmark member: its own family when written, else the virtual server's, else IPv4. */
export function groupFwmarkFamily(e: { family: 4 | 6; familySet?: boolean }, vs: Pick<VirtualServer, 'family'>): 4 | 6 {
  return e.familySet || e.family === 6 ? e.family : vs.family ?? 4;
}

/**
 * The destination port as keepalived sends it and the kernel stores it: DR and TUN destinations
 * take the service's port on an address service and port 0 on a fwmark service (ipvswrapper.c:
 * 457-460, 613-621); a missing port (0) on an address service means the service's port.
 */
export function destPort(svc: IpvsServiceAddr, port: number, forward: IpvsForward): number {
  if (svc.kind === 'ip') return forward !== 'masq' || port === 0 ? svc.port : port;
  return forward === 'masq' ? port : 0;
}

/** Only one-packet scheduling on UDP (or fwmark) makes sense; ipvsadm refuses it elsewhere. */
export function opsApplies(vs: Pick<VirtualServer, 'ops' | 'protocol'>, svc: IpvsServiceAddr): boolean {
  return vs.ops && (svc.kind === 'fwmark' || svc.protocol === 'udp');
}

/** Scheduler flags in ipvsadm's generic spelling (sh-port and mh-port are flag-2, …). */
export function canonicalSchedFlag(flag: string): string {
  switch (flag) {
    case 'sh-fallback':
    case 'mh-fallback':
      return 'flag-1';
    case 'sh-port':
    case 'mh-port':
      return 'flag-2';
    default:
      return flag;
  }
}

/**
 * The flags `ipvsadm -S` can show for a scheduler: for sh and mh only their own two (flag-1 and
 * flag-2), so a flag-3 set on them is invisible and must not be compared (ipvsadm.c print_sched_flags).
 */
export function visibleSchedFlags(scheduler: string, flags: readonly string[]): string[] {
  const canon = [...new Set(flags.map(canonicalSchedFlag))].sort();
  return scheduler === 'sh' || scheduler === 'mh' ? canon.filter((f) => f !== 'flag-3') : canon;
}

function hostMask(netmask: string | null, family: 4 | 6): string | null {
  if (netmask === null) return null;
  if (family === 4 && netmask === '255.255.255.255') return null;
  if (family === 6 && netmask === '128') return null;
  return netmask;
}

function tunnelOf(t: TunnelOptions | null | undefined): IpvsTunnel | undefined {
  if (!t || t.type === 'ipip') return undefined;
  return { type: t.type, port: t.type === 'gue' ? t.port : 0, csum: t.csum };
}

/** How one service of a virtual server is named in logs and status. */
function serviceName(vs: VirtualServer, addr: IpvsServiceAddr): string {
  const where = `${vs.loc.file}:${vs.loc.line}`;
  if (vs.address.kind !== 'group') return `VS ${formatVs(vs)} (${where})`;
  const member = addr.kind === 'fwmark' ? `FWM ${addr.fwmark}` : `[${addr.ip}]:${addr.protocol}:${addr.port}`;
  return `VS ${formatVs(vs)} member ${member} (${where})`;
}

/**
 * The destination keys (serviceDestKey) a configured real server has, one per service of its
 * virtual server: what a drain of that real server names.
 */
export function realServerDestKeys(vs: VirtualServer, groups: readonly VirtualServerGroup[], rs: Pick<RealServer, 'ip' | 'family' | 'port' | 'lbKind'>): string[] {
  const forward = forwardOf(rs.lbKind ?? vs.lbKind);
  return serviceAddrs(vs, groups).map((addr) => serviceDestKey(addr, { ip: canonicalIp(rs.ip, rs.family), family: rs.family, port: destPort(addr, rs.port, forward) }));
}

/**
 * The services of one virtual server as they should be now. `drained` holds serviceDestKey()s of
 * destinations an operator drained: they keep weight 0 whatever the pool says (a destination the
 * pool removed stays removed).
 */
export function desiredServices(
  vs: VirtualServer,
  groups: readonly VirtualServerGroup[],
  state: PoolState,
  drained?: ReadonlySet<string>,
): IpvsService[] {
  return serviceAddrs(vs, groups).map((addr) => {
    const dests = new Map<string, IpvsDest>();
    const put = (ip: string, family: 4 | 6, port: number, kind: LbKind, tunnel: TunnelOptions | null | undefined, weight: number, ut = 0, lt = 0): void => {
      const forward = forwardOf(kind);
      const d: IpvsDest = {
        ip: canonicalIp(ip, family), family, port: destPort(addr, port, forward), forward, weight,
        upperThreshold: ut, lowerThreshold: lt,
      };
      const t = forward === 'tunnel' ? tunnelOf(tunnel) : undefined;
      if (t) d.tunnel = t;
      if (drained?.has(serviceDestKey(addr, d))) d.weight = 0;
      dests.set(`${d.ip}|${d.port}`, d);
    };
    vs.realServers.forEach((rs, i) => {
      const kind = rs.lbKind ?? vs.lbKind;
      const tunnel = rs.lbKind ? rs.tunnel : vs.tunnel;
      const alive = state.alive[i] === true;
      // With the sorry server standing in, alive servers leave the pool too (inhibited ones stay at 0).
      if (alive && !state.sorryActive) put(rs.ip, rs.family, rs.port, kind, tunnel, rs.weight, rs.uthreshold, rs.lthreshold);
      else if (rs.inhibitOnFailure) put(rs.ip, rs.family, rs.port, kind, tunnel, 0, rs.uthreshold, rs.lthreshold);
    });
    const s = vs.sorryServer;
    // A sorry server that is also a real server is not put in at weight 0 while it is not needed:
    // the real server's entry stands (ipvswrapper.c init_service_vs, s_svr_duplicates_rs).
    const twin = s !== null && vs.realServers.some((rs) => rs.ip === s.ip && rs.port === s.port);
    if (s && (state.sorryActive || (vs.sorryServerInhibit && !twin))) {
      const kind = vs.sorryServerLbKind ?? vs.lbKind;
      const tunnel = vs.sorryServerLbKind ? vs.sorryServerTunnel : vs.tunnel;
      put(s.ip, s.family, s.port, kind, tunnel, state.sorryActive ? 1 : 0);
    }
    const persistent = vs.persistenceTimeout !== null;
    const svc: IpvsService = {
      addr,
      scheduler: vs.lbAlgo,
      persistence: vs.persistenceTimeout,
      netmask: persistent ? hostMask(vs.persistenceGranularity, addr.family) : null,
      ops: opsApplies(vs, addr),
      schedFlags: [...new Set(vs.schedFlags.map(canonicalSchedFlag))].sort(),
      dests: [...dests.values()],
      name: serviceName(vs, addr),
    };
    // keepalived sends the persistence engine only with persistence (ipvswrapper.c:506-513).
    if (persistent && vs.persistenceEngine) svc.persistenceEngine = vs.persistenceEngine;
    return svc;
  });
}
