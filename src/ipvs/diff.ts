// Compare the desired services with what the kernel has and produce the ipvsadm commands (in
// `ipvsadm -R` syntax) that turn one into the other. Only the desired services are looked at:
// services added by someone else are never touched, and nothing is ever flushed.
import { visibleSchedFlags } from './desired.js';
import { destKey, forwardFlag, IPIP, serviceKey } from './model.js';
import type { IpvsDest, IpvsService, IpvsServiceAddr, IpvsTable, IpvsTunnel } from './model.js';

/** One ipvsadm command with what it does, so a batch can be split and its effect applied to a picture. */
export interface IpvsOp {
  cmd: '-A' | '-E' | '-D' | '-a' | '-e' | '-d';
  /** The `ipvsadm -R` line. */
  line: string;
  /** serviceKey of the service it touches. */
  service: string;
  /** The service's settings after -A/-E (and its address for every command). */
  svc: IpvsService;
  /** The destination after -a/-e, or the one -d removes. */
  dest: IpvsDest | null;
  /**
   * An `-a` for a service whose destination list could not be read in full: the destination may
   * exist already, so "Destination already exists" from it is not a failure.
   */
  mayExist?: boolean;
}

function serviceOptions(s: IpvsService): string {
  let out = `${serviceKey(s.addr)} -s ${s.scheduler}`;
  if (s.persistence !== null) {
    out += ` -p ${s.persistence}`;
    if (s.netmask !== null) out += ` -M ${s.netmask}`;
  }
  if (s.persistenceEngine) out += ` --pe ${s.persistenceEngine}`;
  if (s.ops) out += ' -o';
  if (s.schedFlags.length > 0) out += ` -b ${s.schedFlags.join(',')}`;
  return out;
}

function tunnelOptions(t: IpvsTunnel | undefined): string {
  if (!t || t.type === 'ipip') return '';
  let out = ` --tun-type ${t.type}`;
  if (t.type === 'gue') out += ` --tun-port ${t.port}`;
  if (t.csum !== 'nocsum') out += ` --tun-${t.csum}`;
  return out;
}

function destOptions(addr: IpvsServiceAddr, d: IpvsDest): string {
  let out = `${serviceKey(addr)} -r ${destKey(d)} ${forwardFlag(d.forward)} -w ${d.weight}`;
  if (d.upperThreshold > 0) out += ` -x ${d.upperThreshold}`;
  if (d.lowerThreshold > 0) out += ` -y ${d.lowerThreshold}`;
  if (d.forward === 'tunnel') out += tunnelOptions(d.tunnel);
  return out;
}

export function addServiceCommand(s: IpvsService): string {
  return `-A ${serviceOptions(s)}`;
}

export function deleteServiceCommand(s: Pick<IpvsService, 'addr'>): string {
  return `-D ${serviceKey(s.addr)}`;
}

/** Settings as `ipvsadm -S` shows them; what it cannot show is not compared. */
export function sameServiceSettings(a: IpvsService, b: IpvsService): boolean {
  return a.scheduler === b.scheduler && a.persistence === b.persistence &&
    (a.persistence === null || a.netmask === b.netmask) && a.ops === b.ops &&
    (a.persistenceEngine ?? null) === (b.persistenceEngine ?? null) &&
    visibleSchedFlags(a.scheduler, a.schedFlags).join(',') === visibleSchedFlags(b.scheduler, b.schedFlags).join(',');
}

function sameTunnel(a: IpvsDest, b: IpvsDest): boolean {
  const ta = a.tunnel ?? IPIP;
  const tb = b.tunnel ?? IPIP;
  if (ta.type !== tb.type) return false;
  // ipvsadm prints the port for gue and the checksum flags for gue and gre only.
  return ta.type === 'ipip' || (ta.csum === tb.csum && (ta.type !== 'gue' || ta.port === tb.port));
}

/** Thresholds are not printed by `ipvsadm -S`, so only forwarding, weight and tunnel are compared. */
function sameDest(a: IpvsDest, b: IpvsDest): boolean {
  return b.unreadable === undefined && a.forward === b.forward && a.weight === b.weight &&
    (a.forward !== 'tunnel' || sameTunnel(a, b));
}

/**
 * The commands for one service, in order: the service itself (-A/-E) first, then removals, then
 * additions and edits. An observed service whose lines could not all be read is handled without
 * trusting what is unknown: settings unknown → -E; a destination with unknown options → -e (or -d);
 * destinations missing from an incomplete list → -a where "already exists" is fine.
 */
export function diffService(want: IpvsService, have: IpvsService | undefined): IpvsOp[] {
  const service = serviceKey(want.addr);
  const ops: IpvsOp[] = [];
  const op = (cmd: IpvsOp['cmd'], line: string, dest: IpvsDest | null, mayExist = false): void => {
    ops.push({ cmd, line, service, svc: want, dest, ...(mayExist ? { mayExist } : {}) });
  };
  if (!have) {
    op('-A', addServiceCommand(want), null);
    for (const d of want.dests) op('-a', `-a ${destOptions(want.addr, d)}`, d);
    return ops;
  }
  if (have.unreadable !== undefined || !sameServiceSettings(want, have)) op('-E', `-E ${serviceOptions(want)}`, null);
  const haveDests = new Map(have.dests.map((d) => [destKey(d), d]));
  const wantKeys = new Set(want.dests.map((d) => destKey(d)));
  // Removals first, so a replaced destination never briefly coexists with its successor.
  for (const d of have.dests) {
    if (!wantKeys.has(destKey(d))) op('-d', `-d ${service} -r ${destKey(d)}`, d);
  }
  const incomplete = (have.unreadableDests?.length ?? 0) > 0;
  for (const d of want.dests) {
    const h = haveDests.get(destKey(d));
    if (!h) op('-a', `-a ${destOptions(want.addr, d)}`, d, incomplete);
    else if (!sameDest(d, h)) op('-e', `-e ${destOptions(want.addr, d)}`, d);
  }
  return ops;
}

/** The operations that make the kernel match `desired`; empty when it already does. */
export function diffOps(desired: readonly IpvsService[], observed: IpvsTable): IpvsOp[] {
  return desired.flatMap((want) => diffService(want, observed.get(serviceKey(want.addr))));
}

/** The commands that make the kernel match `desired`; empty when it already does. */
export function diffTables(desired: readonly IpvsService[], observed: IpvsTable): string[] {
  return diffOps(desired, observed).map((o) => o.line);
}

/** On stop: delete the given services where the kernel still has them. */
export function removalCommands(services: readonly Pick<IpvsService, 'addr'>[], observed: IpvsTable): string[] {
  return services.filter((s) => observed.has(serviceKey(s.addr))).map(deleteServiceCommand);
}

function copyService(s: IpvsService): IpvsService {
  const { unreadable: _u, unreadableDests: _ud, ...rest } = s;
  return { ...rest, dests: s.dests.map((d) => ({ ...d })) };
}

/** The picture after `ops` succeeded: what the kernel holds once they are applied. */
export function applyOps(table: IpvsTable, ops: readonly IpvsOp[]): IpvsTable {
  const next: IpvsTable = new Map(table);
  for (const o of ops) {
    const cur = next.get(o.service);
    switch (o.cmd) {
      case '-A':
        next.set(o.service, { ...copyService(o.svc), dests: [] });
        break;
      case '-E':
        next.set(o.service, { ...copyService(o.svc), dests: cur ? cur.dests.map((d) => ({ ...d })) : [], ...(cur?.unreadableDests ? { unreadableDests: cur.unreadableDests } : {}) });
        break;
      case '-D':
        next.delete(o.service);
        break;
      default: {
        if (!cur || !o.dest) break;
        const key = destKey(o.dest);
        const dests = cur.dests.filter((d) => destKey(d) !== key);
        if (o.cmd !== '-d') {
          const { unreadable: _u, ...d } = o.dest;
          dests.push({ ...d });
        }
        next.set(o.service, { ...cur, dests });
      }
    }
  }
  return next;
}

/**
 * Apply commands to a table in memory, mirroring what the kernel will do when they succeed; lets
 * the reconciler keep an up-to-date picture between full re-reads.
 */
export function applyToTable(table: IpvsTable, desired: readonly IpvsService[]): IpvsTable {
  const next: IpvsTable = new Map(table);
  for (const s of desired) next.set(serviceKey(s.addr), copyService(s));
  return next;
}
