// How keepalived names services in its log lines, so operators' greps keep working:
// a real server or an ip virtual server is `[IP]:proto:port`, a fwmark one `FWM n`, a group
// `[name]:port`.
import type { Protocol, RealServer, VirtualServer } from '../config/model.js';

export function formatTrio(ip: string, protocol: Protocol, port: number): string {
  return `[${ip}]:${protocol.toLowerCase()}:${port}`;
}

export function formatVs(vs: Pick<VirtualServer, 'address' | 'protocol'>): string {
  const a = vs.address;
  if (a.kind === 'group') return `[${a.group}]:0`;
  if (a.kind === 'fwmark') return `FWM ${a.fwmark}`;
  return formatTrio(a.ip, vs.protocol, a.port);
}

/** keepalived ignores the protocol of a fwmark service, so its real servers print as `:none:`. */
export function formatRs(rs: Pick<RealServer, 'ip' | 'port'>, vs: Pick<VirtualServer, 'protocol' | 'address'>): string {
  if (vs.address.kind === 'fwmark') return `[${rs.ip}]:none:${rs.port}`;
  return formatTrio(rs.ip, vs.protocol, rs.port);
}

/**
 * Canonical text of an address, as `ipvsadm -n` prints it (IPv6 compressed, lower case), so that
 * `2001:0DB8::1` in a config and `2001:db8::1` read back from the kernel compare equal.
 */
export function canonicalIp(ip: string, family: 4 | 6): string {
  if (family === 4) return ip;
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip.toLowerCase();
  }
}
