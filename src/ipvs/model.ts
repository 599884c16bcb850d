// The IPVS table as hakeep sees it: services with their destinations. The same shape holds the
// desired table (computed from config + health) and the observed one (parsed from `ipvsadm -S -n`),
// so reconciling is a plain comparison of two values.

export type IpvsProtocol = 'tcp' | 'udp' | 'sctp';
/** ipvsadm forwarding flags: -m masquerading (NAT), -g gatewaying (DR), -i ipip (TUN). */
export type IpvsForward = 'masq' | 'route' | 'tunnel';

export type IpvsServiceAddr =
  | { kind: 'ip'; protocol: IpvsProtocol; ip: string; port: number; family: 4 | 6 }
  | { kind: 'fwmark'; fwmark: number; family: 4 | 6 };

export interface IpvsDest {
  ip: string;
  family: 4 | 6;
  port: number;
  forward: IpvsForward;
  weight: number;
  /** -x / -y; 0 = none. `ipvsadm -S` does not print them, so they are applied but never compared. */
  upperThreshold: number;
  lowerThreshold: number;
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
  dests: IpvsDest[];
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
