// Cross-field and cross-block checks that need the whole model: required keys, references
// between blocks, VRID clashes, and the LVS rules keepalived applies after parsing.
import type { Config, VrrpInstance } from './model.js';
import type { InstanceMeta } from './schema-vrrp.js';
import { nearest, type Reporter } from './values.js';

export function validate(r: Reporter, config: Config, metas: Map<VrrpInstance, InstanceMeta>): void {
  validateInstances(r, config, metas);
  validateSyncGroups(r, config);
  validateVirtualServers(r, config);
}

function validateInstances(r: Reporter, config: Config, metas: Map<VrrpInstance, InstanceMeta>): void {
  const scripts = new Set(config.vrrpScripts.map((s) => s.name));
  const byName = new Map<string, VrrpInstance>();
  const vrids = new Map<string, VrrpInstance>();

  for (const inst of config.vrrpInstances) {
    const meta = metas.get(inst)!;
    const at = inst.loc;
    const prev = byName.get(inst.name);
    if (prev && inst.name) r.error(at, `vrrp_instance ${inst.name} is defined twice (first at ${prev.loc.file}:${prev.loc.line}); rename one`);
    byName.set(inst.name, inst);

    if (!meta.hasInterface) r.error(at, `vrrp_instance ${inst.name} has no interface line; add e.g. interface eth0`);
    if (!meta.hasVrid) r.error(at, `vrrp_instance ${inst.name} has no virtual_router_id; add one (1-255), the same on every node of this group`);

    if (inst.nopreempt && inst.initialState !== 'BACKUP') {
      // keepalived clears nopreempt here with a warning; do the same, at the nopreempt line.
      r.warn(meta.nopreemptLoc ?? at, `(${inst.name}) nopreempt needs state BACKUP (this instance says state MASTER); nopreempt is ignored, as keepalived does. Set state BACKUP on every node to use it`);
      inst.nopreempt = false;
    }
    if (inst.authPass !== null && Buffer.byteLength(inst.authPass) > 8) {
      r.error(meta.authPassLoc ?? at, `(${inst.name}) auth_pass is longer than 8 characters; VRRP carries only 8, so keepalived truncates it to '${Buffer.from(inst.authPass).subarray(0, 8).toString()}'. Shorten it to at most 8 on every node`);
      inst.authPass = Buffer.from(inst.authPass).subarray(0, 8).toString();
    }
    if (inst.authType === 'PASS' && inst.authPass === null) {
      r.error(at, `(${inst.name}) auth_type PASS needs an auth_pass`);
    }
    if (inst.version === 2 && !Number.isInteger(inst.advertInt)) {
      const rounded = Math.max(1, Math.round(inst.advertInt));
      r.warn(at, `(${inst.name}) VRRPv2 advert_int is whole seconds: ${inst.advertInt} becomes ${rounded}`);
      inst.advertInt = rounded;
    }

    // One address family per virtual_ipaddress block (VRRP adverts carry one family).
    const fam = inst.virtualIpaddress[0]?.family;
    for (const vip of inst.virtualIpaddress) {
      if (vip.family !== fam) {
        r.error(vip.loc, `(${inst.name}) virtual_ipaddress mixes IPv4 and IPv6 (${vip.address}); put the other family in virtual_ipaddress_excluded or another instance`);
      }
    }
    if (inst.virtualIpaddress.length === 0 && inst.virtualIpaddressExcluded.length === 0) {
      r.warn(at, `(${inst.name}) has no virtual_ipaddress; it will elect a master but move no address`);
    }
    if (inst.virtualIpaddress.length > 255) {
      r.error(at, `(${inst.name}) has ${inst.virtualIpaddress.length} virtual_ipaddress entries; an advert carries at most 255, move the rest to virtual_ipaddress_excluded`);
    }

    for (const ref of inst.trackScript) {
      if (!scripts.has(ref.name)) {
        const hint = nearest(ref.name, scripts);
        r.error(ref.loc, `(${inst.name}) track_script ${ref.name} does not name a vrrp_script${hint ? `; did you mean '${hint}'?` : ''}`);
      }
    }

    if (inst.interface && inst.virtualRouterId > 0) {
      const family = fam ?? 4;
      const key = `${inst.interface}/${family}/${inst.virtualRouterId}`;
      const other = vrids.get(key);
      if (other) {
        r.error(at, `(${inst.name}) virtual_router_id ${inst.virtualRouterId} is already used on ${inst.interface} by ${other.name} (${other.loc.file}:${other.loc.line}); each instance on one interface needs its own VRID`);
      } else {
        vrids.set(key, inst);
      }
    }
    if (inst.priority === 255 && inst.initialState !== 'MASTER') {
      r.note(at, `(${inst.name}) priority 255 makes this node the address owner: it becomes master at once whatever its state line says`);
    }
  }
}

function validateSyncGroups(r: Reporter, config: Config): void {
  const instances = new Set(config.vrrpInstances.map((i) => i.name));
  const owner = new Map<string, string>();
  for (const g of config.vrrpSyncGroups) {
    if (g.group.length === 0) {
      r.warn(g.loc, `vrrp_sync_group ${g.name} has no members; list them in group { VI_1 VI_2 }`);
    }
    for (const m of g.group) {
      if (!instances.has(m)) {
        const hint = nearest(m, instances);
        r.error(g.loc, `vrrp_sync_group ${g.name}: member ${m} is not a vrrp_instance${hint ? `; did you mean '${hint}'?` : ''}`);
      }
      const o = owner.get(m);
      if (o && o !== g.name) r.error(g.loc, `vrrp_instance ${m} is in two sync groups (${o} and ${g.name}); an instance can be in one`);
      owner.set(m, g.name);
    }
    for (const t of g.trackScript) {
      if (!config.vrrpScripts.some((s) => s.name === t.name)) r.error(t.loc, `vrrp_sync_group ${g.name}: track_script ${t.name} does not name a vrrp_script`);
    }
  }
}

function vsName(a: Config['virtualServers'][number]['address']): string {
  if (a.kind === 'ip') return a.family === 6 ? `[${a.ip}]:${a.port}` : `${a.ip}:${a.port}`;
  if (a.kind === 'fwmark') return `fwmark ${a.fwmark}`;
  return `group ${a.group}`;
}

function validateVirtualServers(r: Reporter, config: Config): void {
  const groups = new Map(config.virtualServerGroups.map((g) => [g.name, g]));
  const seen = new Map<string, { file: string; line: number }>();
  for (const vs of config.virtualServers) {
    const key = `${vs.protocol}/${vsName(vs.address)}`;
    const prev = seen.get(key);
    if (prev) r.error(vs.loc, `virtual_server ${vsName(vs.address)} (${vs.protocol}) is defined twice (first at ${prev.file}:${prev.line})`);
    seen.set(key, vs.loc);

    if (vs.address.kind === 'group' && !groups.has(vs.address.group)) {
      const hint = nearest(vs.address.group, groups.keys());
      r.error(vs.loc, `virtual_server group ${vs.address.group}: no virtual_server_group with that name${hint ? `; did you mean '${hint}'?` : ''}`);
    }
    if (vs.realServers.length === 0 && !vs.sorryServer) {
      r.warn(vs.loc, `virtual_server ${vsName(vs.address)} has no real_server; the IPVS service will have no destination`);
    }
    const rsSeen = new Set<string>();
    for (const rs of vs.realServers) {
      const rk = `${rs.ip}:${rs.port}`;
      if (rsSeen.has(rk)) r.error(rs.loc, `real_server ${rs.ip} ${rs.port} appears twice in virtual_server ${vsName(vs.address)}`);
      rsSeen.add(rk);
      const kind = rs.lbKind ?? vs.lbKind;
      // With DR and TUN the packet keeps its destination port: the real server must listen on the VS port.
      if ((kind === 'DR' || kind === 'TUN') && vs.address.kind === 'ip' && rs.port !== vs.address.port) {
        r.error(rs.loc, `real_server ${rs.ip} port ${rs.port} differs from virtual_server port ${vs.address.port}; with lb_kind ${kind} packets keep the virtual server's port, so use ${vs.address.port} (or lb_kind NAT)`);
      }
      if (vs.address.kind === 'ip' && rs.family !== vs.address.family && kind !== 'TUN') {
        r.error(rs.loc, `real_server ${rs.ip} is IPv${rs.family} but virtual_server ${vsName(vs.address)} is IPv${vs.address.family}; only TUN can mix families`);
      }
    }
    if (vs.hysteresis >= vs.quorum && vs.hysteresis > 0) {
      r.warn(vs.loc, `virtual_server ${vsName(vs.address)}: hysteresis ${vs.hysteresis} is not below quorum ${vs.quorum}, so quorum can never be lost`);
    }
  }
}
