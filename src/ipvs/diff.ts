// Compare the desired services with what the kernel has and produce the ipvsadm commands (in
// `ipvsadm -R` syntax) that turn one into the other. Only the desired services are looked at:
// services added by someone else are never touched, and nothing is ever flushed.
import { destKey, forwardFlag, serviceKey } from './model.js';
import type { IpvsDest, IpvsService, IpvsTable } from './model.js';

function serviceOptions(s: IpvsService): string {
  let out = `${serviceKey(s.addr)} -s ${s.scheduler}`;
  if (s.persistence !== null) {
    out += ` -p ${s.persistence}`;
    if (s.netmask !== null) out += ` -M ${s.netmask}`;
  }
  if (s.ops) out += ' -o';
  if (s.schedFlags.length > 0) out += ` -b ${s.schedFlags.join(',')}`;
  return out;
}

function destOptions(s: IpvsService, d: IpvsDest): string {
  let out = `${serviceKey(s.addr)} -r ${destKey(d)} ${forwardFlag(d.forward)} -w ${d.weight}`;
  if (d.upperThreshold > 0) out += ` -x ${d.upperThreshold}`;
  if (d.lowerThreshold > 0) out += ` -y ${d.lowerThreshold}`;
  return out;
}

export function addServiceCommand(s: IpvsService): string {
  return `-A ${serviceOptions(s)}`;
}

export function deleteServiceCommand(s: Pick<IpvsService, 'addr'>): string {
  return `-D ${serviceKey(s.addr)}`;
}

function sameFlags(a: string[], b: string[]): boolean {
  const sa = [...a].sort().join(',');
  const sb = [...b].sort().join(',');
  return sa === sb;
}

export function sameServiceSettings(a: IpvsService, b: IpvsService): boolean {
  return a.scheduler === b.scheduler && a.persistence === b.persistence &&
    (a.persistence === null || a.netmask === b.netmask) && a.ops === b.ops &&
    sameFlags(a.schedFlags, b.schedFlags);
}

/** Thresholds are not printed by `ipvsadm -S`, so only forwarding and weight can be compared. */
function sameDest(a: IpvsDest, b: IpvsDest): boolean {
  return a.forward === b.forward && a.weight === b.weight;
}

/** The commands that make the kernel match `desired`; empty when it already does. */
export function diffTables(desired: readonly IpvsService[], observed: IpvsTable): string[] {
  const cmds: string[] = [];
  for (const want of desired) {
    const have = observed.get(serviceKey(want.addr));
    if (!have) {
      cmds.push(addServiceCommand(want));
      for (const d of want.dests) cmds.push(`-a ${destOptions(want, d)}`);
      continue;
    }
    if (!sameServiceSettings(want, have)) cmds.push(`-E ${serviceOptions(want)}`);
    const haveDests = new Map(have.dests.map((d) => [destKey(d), d]));
    const wantKeys = new Set(want.dests.map((d) => destKey(d)));
    // Removals first, so a replaced destination never briefly coexists with its successor.
    for (const d of have.dests) {
      if (!wantKeys.has(destKey(d))) cmds.push(`-d ${serviceKey(want.addr)} -r ${destKey(d)}`);
    }
    for (const d of want.dests) {
      const h = haveDests.get(destKey(d));
      if (!h) cmds.push(`-a ${destOptions(want, d)}`);
      else if (!sameDest(d, h)) cmds.push(`-e ${destOptions(want, d)}`);
    }
  }
  return cmds;
}

/** On stop: delete the given services where the kernel still has them. */
export function removalCommands(services: readonly Pick<IpvsService, 'addr'>[], observed: IpvsTable): string[] {
  return services.filter((s) => observed.has(serviceKey(s.addr))).map(deleteServiceCommand);
}

/**
 * Apply commands to a table in memory, mirroring what the kernel will do when they succeed; lets
 * the reconciler keep an up-to-date picture between full re-reads.
 */
export function applyToTable(table: IpvsTable, desired: readonly IpvsService[]): IpvsTable {
  const next: IpvsTable = new Map(table);
  for (const s of desired) next.set(serviceKey(s.addr), { ...s, dests: s.dests.map((d) => ({ ...d })) });
  return next;
}
