// The IPVS table as hakeep sees it: services with their destinations. The same shape holds the
// desired table (computed from config + health) and the observed one (parsed from `ipvsadm -S -n`),
// so reconciling is a plain comparison of two values.

export type IpvsProtocol = 'tcp' | 'udp' | 'sctp';
/** ipvsadm forwarding flags: -m masquerading (NAT), -g gatewaying (DR), -i ipip (TUN). */
export type IpvsForward = 'masq' | 'route' | 'tunnel';

export type IpvsServiceAddr =
  | { kind: 'ip'; protocol: IpvsProtocol; ip: string; port: number; family: 4 | 6 }
  | { kind: 'fwmark'; fwmark: number; family: 4 | 6 };

/** Tunnel encapsulation of a TUN destination (kernel 5.2+, ipvsadm 1.30+). */
export interface IpvsTunnel {
  type: 'ipip' | 'gue' | 'gre';
  /** GUE's UDP port; 0 for the other types. */
  port: number;
  csum: 'nocsum' | 'csum' | 'remcsum';
}

export const IPIP: IpvsTunnel = { type: 'ipip', port: 0, csum: 'nocsum' };

export interface IpvsDest {
  ip: string;
  family: 4 | 6;
  port: number;
  forward: IpvsForward;
  weight: number;
  /** -x / -y; 0 = none. `ipvsadm -S` does not print them, so they are applied but never compared. */
  upperThreshold: number;
  lowerThreshold: number;
  /** Only for forward 'tunnel'; absent = plain IPIP. */
  tunnel?: IpvsTunnel;
  /**
   * Observed only: the `ipvsadm -S` line of a destination whose address was read but not all of
   * its options. Its forwarding and weight are unknown, so the diff edits it (`-e`) rather than
   * trusting them.
   */
  unreadable?: string;
}

export interface IpvsService {
  addr: IpvsServiceAddr;
  scheduler: string;
  /** Seconds; null = not persistent. */
  persistence: number | null;
  /** -M netmask (IPv4 dotted mask or IPv6 prefix length); null = the kernel default (host). */
  netmask: string | null;
  ops: boolean;
  /** -b flags, e.g. sh-port; compared as a set. */
  schedFlags: string[];
  /** --pe persistence engine (e.g. sip); absent or null = none. */
  persistenceEngine?: string | null;
  dests: IpvsDest[];
  /** Desired only: which configuration this service comes from, for log lines and status. */
  name?: string;
  /** Observed only: the `-A` line, when some of its options could not be read (settings unknown). */
  unreadable?: string;
  /**
   * Observed only: `-a` lines in this service's block whose destination could not be read at all.
   * The destination list is then incomplete: a missing destination may in fact exist.
   */
  unreadableDests?: string[];
}

/** The key ipvsadm uses to name a service on its command line, e.g. `-t 10.0.0.1:80`, `-f 7 -6`. */
export function serviceKey(a: IpvsServiceAddr): string {
  if (a.kind === 'fwmark') return a.family === 6 ? `-f ${a.fwmark} -6` : `-f ${a.fwmark}`;
  const flag = a.protocol === 'tcp' ? '-t' : a.protocol === 'udp' ? '-u' : '--sctp-service';
  return `${flag} ${hostPort(a.ip, a.port, a.family)}`;
}

export function destKey(d: Pick<IpvsDest, 'ip' | 'port' | 'family'>): string {
  return hostPort(d.ip, d.port, d.family);
}

/**
 * One destination of one service, spelled as ipvsadm names it (`-t 10.0.0.100:80 -r 10.0.0.2:80`):
 * the key of a drained real server.
 */
export function serviceDestKey(a: IpvsServiceAddr, d: Pick<IpvsDest, 'ip' | 'port' | 'family'>): string {
  return `${serviceKey(a)} -r ${destKey(d)}`;
}

export function hostPort(ip: string, port: number, family: 4 | 6): string {
  return family === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export function forwardFlag(f: IpvsForward): '-m' | '-g' | '-i' {
  return f === 'masq' ? '-m' : f === 'route' ? '-g' : '-i';
}

/** A table keyed by serviceKey, for lookups in diff and status. */
export type IpvsTable = Map<string, IpvsService>;

export function toTable(services: Iterable<IpvsService>): IpvsTable {
  const t: IpvsTable = new Map();
  for (const s of services) t.set(serviceKey(s.addr), s);
  return t;
}
