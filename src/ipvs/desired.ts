// From a virtual server's config and its pool state to the IPVS services it should have.
// Pure: the reconciler compares the result with what the kernel holds.
import type { LbKind, VirtualServer, VirtualServerGroup } from '../config/model.js';
import { canonicalIp } from './format.js';
import type { IpvsDest, IpvsForward, IpvsService, IpvsServiceAddr } from './model.js';
import type { PoolState } from './pool.js';

export function forwardOf(kind: LbKind): IpvsForward {
  return kind === 'NAT' ? 'masq' : kind === 'DR' ? 'route' : 'tunnel';
}

/** The IPVS service addresses of a virtual server; a group expands to one per member. */
export function serviceAddrs(vs: Pick<VirtualServer, 'address' | 'protocol'>, groups: readonly VirtualServerGroup[]): IpvsServiceAddr[] {
  const protocol = vs.protocol.toLowerCase() as 'tcp' | 'udp' | 'sctp';
  const a = vs.address;
  if (a.kind === 'ip') return [{ kind: 'ip', protocol, ip: canonicalIp(a.ip, a.family), port: a.port, family: a.family }];
  if (a.kind === 'fwmark') return [{ kind: 'fwmark', fwmark: a.fwmark, family: a.family }];
  const group = groups.find((g) => g.name === a.group);
  if (!group) return [];
  return group.entries.map((e): IpvsServiceAddr =>
    e.kind === 'ip'
      ? { kind: 'ip', protocol, ip: canonicalIp(e.ip, e.family), port: e.port, family: e.family }
      : { kind: 'fwmark', fwmark: e.fwmark, family: e.family });
}

/**
 * The destination port as the kernel will store it: ipvsadm forces a DR/TUN destination onto the
 * service's port, and a missing port (0) on an address service means "the service's port".
 */
export function destPort(svc: IpvsServiceAddr, port: number, forward: IpvsForward): number {
  if (svc.kind === 'ip' && (forward !== 'masq' || port === 0)) return svc.port;
  return port;
}

/** Only one-packet scheduling on UDP (or fwmark) makes sense; the kernel ignores it elsewhere. */
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

function hostMask(netmask: string | null, family: 4 | 6): string | null {
  if (netmask === null) return null;
  if (family === 4 && netmask === '255.255.255.255') return null;
  if (family === 6 && netmask === '128') return null;
  return netmask;
}

export function desiredServices(
  vs: VirtualServer,
  groups: readonly VirtualServerGroup[],
  state: PoolState,
): IpvsService[] {
  return serviceAddrs(vs, groups).map((addr) => {
    const dests = new Map<string, IpvsDest>();
    const put = (ip: string, family: 4 | 6, port: number, kind: LbKind, weight: number, ut = 0, lt = 0): void => {
      const forward = forwardOf(kind);
      const d: IpvsDest = {
        ip: canonicalIp(ip, family), family, port: destPort(addr, port, forward), forward, weight,
        upperThreshold: ut, lowerThreshold: lt,
      };
      dests.set(`${d.ip}|${d.port}`, d);
    };
    vs.realServers.forEach((rs, i) => {
      const kind = rs.lbKind ?? vs.lbKind;
      const alive = state.alive[i] === true;
      // With the sorry server standing in, alive servers leave the pool too (inhibited ones stay at 0).
      if (alive && !state.sorryActive) put(rs.ip, rs.family, rs.port, kind, rs.weight, rs.uthreshold, rs.lthreshold);
      else if (rs.inhibitOnFailure) put(rs.ip, rs.family, rs.port, kind, 0, rs.uthreshold, rs.lthreshold);
    });
    const s = vs.sorryServer;
    if (s && (state.sorryActive || vs.sorryServerInhibit)) {
      put(s.ip, s.family, s.port, vs.sorryServerLbKind ?? vs.lbKind, state.sorryActive ? 1 : 0);
    }
    const persistent = vs.persistenceTimeout !== null;
    return {
      addr,
      scheduler: vs.lbAlgo,
      persistence: vs.persistenceTimeout,
      netmask: persistent ? hostMask(vs.persistenceGranularity, addr.family) : null,
      ops: opsApplies(vs, addr),
      schedFlags: [...new Set(vs.schedFlags.map(canonicalSchedFlag))].sort(),
      dests: [...dests.values()],
    };
  });
}
