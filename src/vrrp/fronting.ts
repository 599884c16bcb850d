// Which VRRP instances front the LVS virtual servers: those whose VIPs carry a virtual server's
// address. Only they go to FAULT while the checker side cannot stand behind its IPVS table (not
// programmed yet, IPVS unavailable, the checker process silent or crashing), so the peer takes
// the VIP over a table that works. A fwmark virtual server has no address to match: every
// instance fronts it. keepalived has no such link; it exits when IPVS fails, which drops every
// instance at once: the fallback when nothing matches is the same (all instances).
import type { Config, VsGroupEntry } from '../config/model.js';
import { canonicalAddress } from '../net/kernel-events.js';

/** Names of the instances that front the config's virtual servers (empty: no virtual servers). */
export function frontingInstances(config: Config): Set<string> {
  const all = new Set(config.vrrpInstances.map((i) => i.name));
  if (config.virtualServers.length === 0) return new Set();
  const addresses = new Set<string>();
  let fwmark = false;
  const entry = (e: VsGroupEntry): void => {
    if (e.kind === 'ip') addresses.add(canonicalAddress(e.ip));
    else fwmark = true;
  };
  for (const vs of config.virtualServers) {
    const a = vs.address;
    if (a.kind === 'ip') addresses.add(canonicalAddress(a.ip));
    else if (a.kind === 'fwmark') fwmark = true;
    else for (const e of config.virtualServerGroups.find((g) => g.name === a.group)?.entries ?? []) entry(e);
  }
  if (fwmark) return all;
  const fronting = new Set<string>();
  for (const inst of config.vrrpInstances) {
    const vips = [...inst.virtualIpaddress, ...inst.virtualIpaddressExcluded];
    if (vips.some((v) => addresses.has(canonicalAddress(v.address)))) fronting.add(inst.name);
  }
  return fronting.size > 0 ? fronting : all;
}
