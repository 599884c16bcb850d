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

    if (inst.authPass !== null && Buffer.byteLength(inst.authPass) > 8) {
      r.error(meta.authPassLoc ?? at, `(${inst.name}) auth_pass is longer than 8 characters; VRRP carries only 8, so keepalived truncates it to '${Buffer.from(inst.authPass).subarray(0, 8).toString()}'. Shorten it to at most 8 on every node`);
      inst.authPass = Buffer.from(inst.authPass).subarray(0, 8).toString();
    }

    completeInstance(r, inst, meta);

    for (const ref of inst.trackScript) {
      if (!scripts.has(ref.name)) {
        const hint = nearest(ref.name, scripts);
        r.error(ref.loc, `(${inst.name}) track_script ${ref.name} does not name a vrrp_script${hint ? `; did you mean '${hint}'?` : ''}`);
      }
    }

    if (inst.interface && inst.virtualRouterId > 0) {
      const key = `${inst.interface}/${inst.family}/${inst.virtualRouterId}`;
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

/** An IPv6 address in fe80::/10. */
function isLinkLocal6(addr: string): boolean {
  const g = Number.parseInt((addr.split(':')[0] ?? '') || '0', 16);
  return (g & 0xffc0) === 0xfe80;
}

/**
 * What keepalived's vrrp_complete_instance() checks and corrects once an instance is parsed, in
 * its order: family and version, VIP count, state/priority, authentication, unicast, advert size,
 * preemption, strict-mode resets, accept mode, GARP/advert defaults, advert interval. A correction
 * keepalived makes and then runs with is a warning here (at the line concerned) and the model
 * holds the corrected value; what keepalived refuses to run is an error.
 */
function completeInstance(r: Reporter, inst: VrrpInstance, meta: InstanceMeta): void {
  const n = `(${inst.name})`;
  const where = inst.loc;
  const strict = inst.strictMode;
  /** Where strict mode came from: the instance's strict_mode line, else the instance (vrrp_strict). */
  const strictAt = meta.at['strict_mode'] ?? where;
  const strictName = meta.at['strict_mode'] ? 'strict_mode' : 'vrrp_strict';

  // Family and version: an IPv6 instance is VRRPv3 unless it says version 2 (before its first
  // IPv6 address); strict mode does not allow IPv6 with version 2.
  if (inst.family === 6) {
    if (!meta.at['version']) {
      inst.version = 3;
    } else if (inst.version === 2 && strict) {
      r.warn(meta.at['version'], `${n} cannot use IPv6 with VRRP version 2 in strict mode (${strictName}): keepalived sets version 3, so does hakeep. Remove the version line`);
      inst.version = 3;
    }
  }

  // VIPs: required with VRRPv3, IPv6 or strict mode; sensible otherwise.
  if (inst.virtualIpaddress.length === 0) {
    const why = strict ? `in strict mode (${strictName})` : inst.version === 3 ? 'with VRRPv3' : inst.family === 6 ? 'for IPv6' : null;
    if (why !== null) {
      r.error(where, `${n} No VIP specified; at least one is required ${why}: keepalived refuses to start. Add a virtual_ipaddress block`);
    } else {
      const excluded = inst.virtualIpaddressExcluded.length > 0 ? ' (virtual_ipaddress_excluded is still added on master, but not advertised)' : '';
      r.warn(where, `${n} No VIP specified; at least one is sensible: this instance elects a master but its adverts carry no address${excluded}. Add a virtual_ipaddress block`);
    }
  }

  // Priority and state derive from each other when one of them is not written.
  const stateAt = meta.at['state'];
  if (!meta.at['priority']) {
    inst.priority = stateAt && inst.initialState === 'MASTER' ? 255 : 100;
    if (inst.priority === 255) {
      r.note(stateAt!, `${n} state MASTER without a priority line: keepalived makes this node the address owner (priority 255), so does hakeep; it takes over at once and is never preempted. Write a priority (e.g. 150) if that is not what you want`);
    }
  }
  if (!stateAt) {
    inst.initialState = inst.priority === 255 ? 'MASTER' : 'BACKUP';
  } else if (strict && (inst.initialState === 'MASTER') !== (inst.priority === 255)) {
    const want = inst.priority === 255 ? 'MASTER' : 'BACKUP';
    r.warn(stateAt, `${n} State MASTER must match being address owner in strict mode (${strictName}): state ${inst.initialState} with priority ${inst.priority}, so keepalived uses state ${want}, and so does hakeep. Use state MASTER only with priority 255`);
    inst.initialState = want;
  }

  // Authentication: keepalived drops it (and runs without) in these cases, first match only.
  if (inst.authType !== null) {
    const authAt = meta.at['auth_type'] ?? where;
    const type = inst.authType;
    let dropped: string | null = null;
    if (strict) {
      dropped = `Strict mode does not support authentication (${strictName})`;
    } else if (inst.version === 3) {
      dropped = 'VRRP version 3 does not support authentication';
    } else if (!inst.authPass) {
      dropped = 'Authentication specified but no password given';
    } else if (inst.family === 6 && type === 'AH') {
      dropped = 'Cannot use AH authentication with IPv6';
    } else if (type === 'AH' && inst.initialState === 'MASTER' && inst.priority !== 255) {
      r.warn(stateAt ?? authAt, `${n} Initial state master is incompatible with AH authentication (a backup must first learn the AH sequence number): keepalived starts it as BACKUP, so does hakeep. Use state BACKUP`);
      inst.initialState = 'BACKUP';
    }
    if (dropped !== null) {
      r.warn(authAt, `${n} ${dropped}: keepalived ignores auth_type ${type}, so does hakeep; adverts are sent and accepted without authentication. Remove the authentication block (on every node)`);
      inst.authType = null;
    }
  }

  // Unicast. keepalived's man page says strict mode forbids unicast peers, but 2.2.7 checks this
  // before it knows the instance is unicast, so it never refuses: neither does hakeep.
  const unicast = inst.unicastPeers.length > 0;
  if (strict && unicast) {
    r.note(meta.at['unicast_peer'] ?? strictAt, `${n} unicast peers in strict mode: keepalived's documentation says strict mode does not allow them, but keepalived 2.2.7 does not enforce it; neither does hakeep`);
  }
  if (meta.unicastKeywordLoc && !unicast) {
    const src = inst.mcastSrcIp ? `, with ${inst.mcastSrcIp} as the source address` : '';
    r.warn(meta.unicastKeywordLoc, `${n} A unicast keyword has been specified without any unicast peers: keepalived defaults to multicast (a deprecated usage), so does hakeep${src}. Add unicast_peer entries, or remove unicast_src_ip/check_unicast_src/unicast_peer`);
  }
  if (meta.checkUnicastSrcLoc) {
    if (unicast && !meta.at['check_unicast_src'] && !inst.checkUnicastSrc) {
      r.note(meta.checkUnicastSrcLoc, `${n} min_ttl/max_ttl turn on check_unicast_src for this instance, as in keepalived: unicast adverts from addresses that are not unicast peers are dropped`);
    }
    inst.checkUnicastSrc = true;
  }

  // The first IPv6 VIP must (strict) or should be link-local when multicasting.
  const first = inst.virtualIpaddress[0];
  if (inst.family === 6 && !unicast && first && !isLinkLocal6(first.address)) {
    if (strict) r.warn(first.loc, `${n} the first IPv6 VIP address must be link local in strict mode (${strictName}); keepalived reports it and runs anyway, so does hakeep. Put an fe80:: address first`);
    else r.note(first.loc, `${n} the first IPv6 VIP address should be link local (RFC 5798); put an fe80:: address first`);
  }

  // Only so many addresses fit an advert (255 at most; fewer for IPv6 with a 1500-byte MTU).
  const maxAddr = inst.family === 4 ? 255 : 89;
  if (inst.virtualIpaddress.length > maxAddr) {
    const excess = inst.virtualIpaddress.splice(maxAddr);
    r.warn(excess[0]!.loc, `${n} Number of VIPs (${maxAddr + excess.length}) exceeds the space available in an advert (max ${maxAddr} addresses): keepalived moves the excess to virtual_ipaddress_excluded (added on master, not advertised), so does hakeep. Move them there yourself, or split the instance`);
    inst.virtualIpaddressExcluded.push(...excess);
  }

  // Preemption.
  if (inst.priority === 255 && inst.nopreempt) {
    r.warn(meta.nopreemptLoc ?? where, `${n} nopreempt is incompatible with priority 255 (the address owner always preempts): keepalived resets nopreempt, so does hakeep. Remove nopreempt or lower the priority`);
    inst.nopreempt = false;
  }
  if (inst.initialState === 'MASTER') {
    if (inst.nopreempt) {
      // keepalived clears nopreempt here with a warning; do the same, at the nopreempt line.
      r.warn(meta.nopreemptLoc ?? where, `(${inst.name}) nopreempt needs state BACKUP (this instance says state MASTER); nopreempt is ignored, as keepalived does. Set state BACKUP on every node to use it`);
      inst.nopreempt = false;
    }
    if (inst.preemptDelay) {
      r.warn(meta.at['preempt_delay'] ?? where, `${n} preempt_delay will not work with initial state MASTER: keepalived clears it, so does hakeep. Set state BACKUP to use it`);
      inst.preemptDelay = 0;
    }
  }
  if (inst.preemptDelay) {
    const delayAt = meta.at['preempt_delay'] ?? where;
    if (strict) r.warn(delayAt, `${n} preempt_delay is incompatible with strict mode (${strictName}): keepalived resets it to 0, so does hakeep. Remove it`);
    if (inst.nopreempt) r.warn(delayAt, `${n} preempt_delay is incompatible with nopreempt: keepalived resets it to 0, so does hakeep. Remove one of them`);
    if (strict || inst.nopreempt) inst.preemptDelay = 0;
  }

  if (strict && inst.downTimerAdverts !== 3) {
    r.warn(meta.at['down_timer_adverts'] ?? strictAt, `${n} down_timer_adverts is incompatible with strict mode (${strictName}): keepalived resets it to 3, so does hakeep. Remove it`);
    inst.downTimerAdverts = 3;
  }

  // Accept mode. keepalived enforces no_accept with firewall rules; hakeep installs none.
  const acceptAt = meta.at['accept'];
  const noAcceptAt = meta.at['no_accept'];
  let resetByStrict = false;
  if (!acceptAt && !noAcceptAt) inst.accept = inst.priority === 255 ? true : !strict;
  if (inst.accept && inst.priority !== 255 && strict && inst.version === 2) {
    inst.accept = false;
    resetByStrict = true;
  }
  if (noAcceptAt && inst.priority === 255) {
    r.note(noAcceptAt, `${n} no_accept has no effect on an address owner (priority 255): keepalived adds no firewall rule for it either, and the VIPs accept traffic`);
  } else if (!inst.accept && inst.priority !== 255) {
    const fw = 'keepalived would add nftables/iptables rules dropping traffic addressed to the VIPs while this node is master; hakeep adds no firewall rules, so VIP traffic is always accepted (accept mode)';
    if (noAcceptAt) {
      r.warn(noAcceptAt, `${n} no_accept cannot be honoured: ${fw}, which is what \`accept\` asks for. Drop VIP traffic with your own firewall if you rely on no_accept`);
    } else if (resetByStrict) {
      r.warn(acceptAt!, `${n} accept mode for VRRP version 2 does not comply with RFC3768, so strict mode (${strictName}) resets it: ${fw}. Nothing to change for hakeep; a keepalived node with this config drops VIP traffic`);
    } else {
      r.warn(strictAt, `${n} strict mode (${strictName}) defaults a non-owner instance to no_accept: ${fw}. Filter VIP traffic with your own firewall if you rely on that`);
    }
  }

  if (unicast && inst.mcastDstIp !== null) {
    r.warn(meta.at['mcast_dst_ip'] ?? where, `${n} multicast destination specified with unicast peers: keepalived ignores mcast_dst_ip, so does hakeep; adverts go to the peers. Remove it`);
    inst.mcastDstIp = null;
  }

  // Lower-priority GARPs and advert behaviour: strict mode forces them off.
  if (strict) {
    const resets: Array<[string, boolean, string]> = [
      ['garp_lower_prio_repeat', inst.garpLowerPrioRepeat !== 0, 'Strict mode requires no repeat garps: garp_lower_prio_repeat is reset to 0'],
      ['garp_lower_prio_delay', inst.garpLowerPrioDelay !== 0, 'Strict mode requires no repeat garp delay: garp_lower_prio_delay is reset to 0'],
      ['lower_prio_no_advert', !inst.lowerPrioNoAdvert, 'Strict mode requires no lower priority advert: lower_prio_no_advert is set again'],
      ['higher_prio_send_advert', inst.higherPrioSendAdvert, 'strict mode requires higher_prio_send_advert to be clear: it is reset'],
    ];
    for (const [kw, bad, text] of resets) {
      const kwAt = meta.at[kw];
      if (kwAt && bad) r.warn(kwAt, `${n} ${text} (${strictName}), as keepalived does. Remove the ${kw} line`);
    }
    inst.garpLowerPrioRepeat = 0;
    inst.garpLowerPrioDelay = 0;
    inst.lowerPrioNoAdvert = true;
    inst.higherPrioSendAdvert = false;
  }

  // Advert interval: whole seconds for VRRPv2, centiseconds up to 40.95 s for VRRPv3.
  const advAt = meta.at['advert_int'] ?? where;
  if (inst.version === 2 && !Number.isInteger(inst.advertInt)) {
    const rounded = Math.max(1, Math.round(inst.advertInt));
    r.warn(advAt, `(${inst.name}) VRRPv2 advert_int is whole seconds: ${inst.advertInt} becomes ${rounded}, as keepalived does ("must be an integer. rounding"). Write ${rounded}`);
    inst.advertInt = rounded;
  } else if (inst.version === 3) {
    if (inst.advertInt >= 40.96) {
      r.warn(advAt, `${n} VRRPv3 advertisement interval ${inst.advertInt}s is out of range (must be less than 40.96 s): keepalived uses 40.95, so does hakeep. Write at most 40.95`);
      inst.advertInt = 40.95;
    } else {
      const cs = Math.max(1, Math.round(inst.advertInt * 100));
      if (Math.abs(cs - inst.advertInt * 100) > 1e-6) {
        r.warn(advAt, `${n} VRRPv3 advertisement interval ${inst.advertInt}s must be in units of 10ms: rounded to ${cs / 100}, as keepalived does. Write ${cs / 100}`);
        inst.advertInt = cs / 100;
      }
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
