// Cross-field and cross-block checks that need the whole model: required keys, references
// between blocks, VRID clashes, and the LVS rules keepalived applies after parsing.
import type { Config, RealServer, SourceLoc, VrrpInstance, VrrpSyncGroup } from './model.js';
import { smtpAlertWritten, type InstanceMeta } from './schema-vrrp.js';
import { NO_PROTOCOL } from './schema-lvs.js';
import { nearest, type Reporter } from './values.js';
import { vmacAddress, vmacDefaultName } from '../net/vmac-plan.js';

export function validate(r: Reporter, config: Config, metas: Map<VrrpInstance, InstanceMeta>): void {
  validateInstances(r, config, metas);
  validateSyncGroups(r, config);
  validateNotifyFifos(r, config);
  validateTracking(r, config);
  validateVirtualServers(r, config);
  validateAlerts(r, config);
  validateLvsSync(r, config, metas);
}

/**
 * lvs_sync_daemon and the deprecated per-instance lvs_sync_daemon_interface (vrrp_parser.c:1217-1231)
 * resolved as keepalived does (vrrp.c:4755-4785): the instance must exist (else the sync daemon is
 * dropped with a warning), the sync id defaults to its virtual_router_id; lvs_timeouts needs the
 * checker side (IPVS is only opened with a virtual_server).
 */
function validateLvsSync(r: Reporter, config: Config, metas: Map<VrrpInstance, InstanceMeta>): void {
  const g = config.globalDefs;
  for (const inst of config.vrrpInstances) {
    const m = metas.get(inst)?.lvsSyncDaemonInterface;
    if (!m) continue;
    if (g.lvsSyncDaemon) {
      r.warn(m.loc, `(${inst.name}) lvs_sync_daemon_interface has already been specified as ${g.lvsSyncDaemon.interface} (${g.lvsSyncDaemon.loc.file}:${g.lvsSyncDaemon.loc.line}): keepalived ignores this line, so does hakeep`);
      continue;
    }
    g.lvsSyncDaemon = { interface: m.ifname, instance: inst.name, syncId: null, maxlen: null, port: null, ttl: null, group: null, loc: m.loc };
  }
  const d = g.lvsSyncDaemon;
  if (d) {
    if (d.instance !== null) {
      const inst = config.vrrpInstances.find((i) => i.name === d.instance);
      if (!inst) {
        r.warn(d.loc, `Unable to find vrrp instance ${d.instance} for lvs_sync_daemon: keepalived clears the sync daemon configuration ("clearing lvs_syncd config"), so does hakeep: no IPVS sync daemon runs. Name an existing vrrp_instance`);
        g.lvsSyncDaemon = null;
      } else if (d.syncId === null) {
        d.syncId = inst.virtualRouterId;
      }
    } else {
      d.syncId ??= 0;
      r.note(d.loc, `lvs_sync_daemon ${d.interface} names no vrrp_instance: hakeep runs the master and the backup sync daemons together for as long as it runs (as keepalived's checker does); name an instance to follow its MASTER/BACKUP state`);
    }
  }
  if (g.lvsTimeouts && config.virtualServers.length === 0) {
    r.warn(g.lvsTimeouts.loc, 'lvs_timeouts without any virtual_server: the IPVS timeouts are set by the checker side, which only runs with a virtual_server (keepalived opens IPVS only then too); the line has no effect here');
  }
}

/**
 * E-mail alerts go out only with both notification_email and smtp_server (smtp.c:557-559);
 * keepalived says nothing when one is missing. hakeep notes it, so an operator who wrote
 * smtp_alert knows why no mail comes (src/alert/alerts.ts sends them).
 */
function validateAlerts(r: Reporter, config: Config): void {
  const g = config.globalDefs;
  if (g.smtpServer && g.notificationEmail.length === 0) {
    r.note(g.smtpServer.loc, 'smtp_server without notification_email: no e-mail alert is sent (keepalived sends none either). List the recipients in notification_email { … }');
  }
}

function validateInstances(r: Reporter, config: Config, metas: Map<VrrpInstance, InstanceMeta>): void {
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

    completeInstance(r, inst, meta);
    // vrrp.c:3237-3244: an instance without smtp_alert takes smtp_alert_vrrp, else smtp_alert, else off.
    if (!smtpAlertWritten.has(inst)) inst.smtpAlert = config.globalDefs.smtpAlertVrrp ?? config.globalDefs.smtpAlert ?? false;


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
  if (inst.useVmac !== null) completeVmac(r, inst, meta, unicast);
  // vrrp_parser.c:452-455 (vrrp_end_handler): "Cannot use unicast_ttl without unicast peers -
  // resetting". Multicast adverts always carry TTL 255, so nothing else changes.
  if (!unicast && meta.at['unicast_ttl']) {
    r.warn(meta.at['unicast_ttl'], `${n} unicast_ttl without unicast peers: keepalived resets it ("Cannot use unicast_ttl without unicast peers - resetting"), so does hakeep; multicast adverts are sent with TTL 255. Remove the line, or add unicast_peer entries`);
    inst.unicastTtl = 255;
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

/**
 * use_vmac / vmac_xmit_base: keepalived's corrections (vrrp_parser.c vrrp_end_handler, vrrp.c
 * vrrp_complete_instance) and a note saying what hakeep will do with the interfaces (`-t`).
 */
function completeVmac(r: Reporter, inst: VrrpInstance, meta: InstanceMeta, unicast: boolean): void {
  const n = `(${inst.name})`;
  const at = meta.at['use_vmac'] ?? inst.loc;
  if (unicast && !inst.vmacXmitBase) {
    r.warn(at, `${n} unicast with use_vmac requires vmac_xmit_base: keepalived sets it ("unicast with use_vmac requires vmac_xmit_base - setting"), so does hakeep; adverts go out of ${inst.interface}. Add vmac_xmit_base`);
    inst.vmacXmitBase = true;
  }
  if (inst.strictMode && inst.vmacXmitBase) {
    r.warn(meta.at['vmac_xmit_base'] ?? at, `${n} xmit_base is incompatible with strict mode: keepalived clears vmac_xmit_base ("xmit_base is incompatible with strict mode - resetting"), so does hakeep; adverts go out of the VMAC. Remove vmac_xmit_base or strict mode`);
    inst.vmacXmitBase = false;
  }
  if (inst.family === 6) {
    r.error(at, `${n} use_vmac on an IPv6 instance is not supported by hakeep (VRRPv3 is not either); remove use_vmac or run the instance as IPv4 VRRPv2`);
    return;
  }
  const ifname = inst.useVmac || vmacDefaultName(inst.virtualRouterId);
  const mac = vmacAddress(inst.virtualRouterId);
  const xmit = inst.vmacXmitBase ? `adverts go out of ${inst.interface} (vmac_xmit_base), received there too` : `adverts and gratuitous ARPs leave from ${ifname} with source MAC ${mac}`;
  r.note(at, `${n} use_vmac: hakeep creates the macvlan ${ifname} (mode private, MAC ${mac}) on ${inst.interface || 'the instance interface'} at start (or adopts one left with that MAC), sets arp_ignore 1 / accept_local 1 / rp_filter 0 on it and arp_ignore 1 / arp_filter 1 / arp_announce 2 on ${inst.interface || 'the base'} (restored on stop; arp_announce is hakeep's addition, see README), puts the VIPs without 'dev' on it; ${xmit}; the VMAC is removed on stop`);
}

function validateSyncGroups(r: Reporter, config: Config): void {
  const instances = new Set(config.vrrpInstances.map((i) => i.name));
  const owner = new Map<string, string>();
  for (const g of config.vrrpSyncGroups) {
    // vrrp.c:4108-4116: as for instances.
    if (!smtpAlertWritten.has(g)) g.smtpAlert = config.globalDefs.smtpAlertVrrp ?? config.globalDefs.smtpAlert ?? false;
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
  }
}

/** The first definition of each name; later ones are reported (keepalived finds the first). */
function firstByName<T extends { name: string; loc: SourceLoc }>(r: Reporter, defs: readonly T[], kind: string): Map<string, T> {
  const out = new Map<string, T>();
  for (const d of defs) {
    const prev = out.get(d.name);
    if (prev) r.warn(d.loc, `${kind} ${d.name} is defined twice (first at ${prev.loc.file}:${prev.loc.line}): keepalived uses the first, so does hakeep. Rename or remove one`);
    else out.set(d.name, d);
  }
  return out;
}

/**
 * Tracker references, and keepalived's corrections of tracker weights once the instances are
 * complete. The model keeps the corrected lists, so the trackers (src/vrrp/trackers/) read them
 * as they are:
 *   - a reference to an undefined vrrp_script/track_file/vrrp_track_process is an error
 *     (keepalived ignores the line: "track script X not found", vrrp_track.c:213);
 *   - track_interface on the instance's own interface is dropped (vrrp.c:3528-3535);
 *   - a member of a sync group without sync_group_tracking_weight, and an address owner, may not
 *     have weighted trackers of its own (vrrp.c:3826-3904): interface weights become 0 (sync
 *     group) or the entry goes (owner); weighted scripts go; a track_file at its default weight 1
 *     becomes weight 0, another weight goes; track_process is left alone, as keepalived does;
 *   - a sync group with an address owner among its members has its own tracker weights set to 0
 *     (vrrp.c:4013-4104);
 *   - a vrrp_script nothing references is not run ("script X is not used", vrrp.c:4787-4793).
 */
function validateTracking(r: Reporter, config: Config): void {
  const scripts = firstByName(r, config.vrrpScripts, 'vrrp_script');
  const files = firstByName(r, config.vrrpTrackFiles ?? [], 'track_file');
  const procs = firstByName(r, config.vrrpTrackProcesses ?? [], 'vrrp_track_process');
  const groupOf = new Map<string, VrrpSyncGroup>();
  for (const g of config.vrrpSyncGroups) for (const m of g.group) if (!groupOf.has(m)) groupOf.set(m, g);

  const known = <T extends { name: string; loc: SourceLoc }>(owner: string, refs: T[], defs: ReadonlyMap<string, unknown>, kind: string, def: string): T[] =>
    refs.filter((ref) => {
      if (defs.has(ref.name)) return true;
      const hint = nearest(ref.name, defs.keys());
      r.error(ref.loc, `(${owner}) ${kind} ${ref.name} does not name a ${def}${hint ? `; did you mean '${hint}'?` : defs.size === 0 ? `; there is none: define ${def} ${ref.name} { … }` : ''}`);
      return false;
    });

  for (const inst of config.vrrpInstances) {
    const n = `(${inst.name})`;
    inst.trackScript = known(inst.name, inst.trackScript, scripts, 'track_script', 'vrrp_script');
    inst.trackFile = known(inst.name, inst.trackFile, files, 'track_file', 'track_file');
    inst.trackProcess = known(inst.name, inst.trackProcess, procs, 'track_process', 'vrrp_track_process');
    inst.trackInterface = inst.trackInterface.filter((t) => {
      if (t.name !== inst.interface) return true;
      r.warn(t.loc, `${n} Ignoring track_interface ${t.name} since own interface (keepalived's words): the instance already goes to FAULT when ${t.name} is down${inst.dontTrackPrimary ? ' (unless dont_track_primary, as here)' : ''}. Remove the line`);
      return false;
    });

    const group = groupOf.get(inst.name);
    const syncNoWeight = group !== undefined && !group.trackingWeight;
    if (!syncNoWeight && inst.priority !== 255) continue;
    const why = syncNoWeight ? `SYNC group ${group!.name} (add sync_group_tracking_weight to the group to keep it)` : 'address owner (priority 255 never changes)';
    inst.trackInterface = inst.trackInterface.filter((t) => {
      if (t.weight === 0) return true;
      if (syncNoWeight) {
        r.warn(t.loc, `${n} ignoring ${t.name} tracked interface weight due to ${why}: keepalived uses weight 0 (FAULT when down), so does hakeep. Write it without a weight`);
        t.weight = 0;
        t.reverse = false;
        return true;
      }
      r.warn(t.loc, `${n} ignoring ${t.name} tracked interface due to ${why}: keepalived drops it, so does hakeep. Remove it`);
      return false;
    });
    inst.trackScript = inst.trackScript.filter((t) => {
      if ((t.weight ?? scripts.get(t.name)!.weight) === 0) return true;
      r.warn(t.loc, `${n} ignoring tracked script ${t.name} with weights due to ${why}: keepalived drops it, so does hakeep (the script does not affect this instance). Use weight 0 to put the instance in FAULT when it fails`);
      return false;
    });
    inst.trackFile = inst.trackFile.filter((t) => {
      const w = t.weight ?? files.get(t.name)!.weight;
      if (w === 0) return true;
      if (w === 1) {
        r.warn(t.loc, `${n} ignoring weight from tracked file ${t.name} due to ${why}: keepalived uses weight 0 (FAULT while the file holds a non-zero value), so does hakeep. Specify weight 0`);
        t.weight = 0;
        return true;
      }
      r.warn(t.loc, `${n} ignoring tracked file ${t.name} with weight ${w} due to ${why}: keepalived drops it, so does hakeep. Use weight 0`);
      return false;
    });
    if (inst.priority === 255) {
      for (const t of inst.trackProcess) {
        if ((t.weight ?? procs.get(t.name)!.weight) !== 0) r.note(t.loc, `${n} track_process ${t.name} has a weight, but an address owner's priority (255) never changes: it has no effect. Use weight 0 to put the instance in FAULT on lost quorum`);
      }
    }
  }

  const byName = new Map(config.vrrpInstances.map((i) => [i.name, i]));
  for (const g of config.vrrpSyncGroups) {
    g.trackScript = known(g.name, g.trackScript, scripts, 'track_script', 'vrrp_script');
    if (g.trackFile) g.trackFile = known(g.name, g.trackFile, files, 'track_file', 'track_file');
    if (g.trackProcess) g.trackProcess = known(g.name, g.trackProcess, procs, 'track_process', 'vrrp_track_process');
    const members = g.group.map((m) => byName.get(m)).filter((m): m is VrrpInstance => m !== undefined);
    const owner = members.find((m) => m.priority === 255);
    if (owner) {
      const clear = (t: { name: string; weight: number | null; loc: SourceLoc }, kind: string, dflt: number): void => {
        if ((t.weight ?? dflt) === 0) return;
        r.warn(t.loc, `(${g.name}) Cannot have weighted ${kind} '${t.name}' with member ${owner.name} having priority 255: keepalived sets weight 0, so does hakeep. Write it without a weight`);
        t.weight = 0;
      };
      for (const t of g.trackScript) clear(t, 'track script', scripts.get(t.name)!.weight);
      for (const t of g.trackFile ?? []) clear(t, 'track file', files.get(t.name)!.weight);
      for (const t of g.trackProcess ?? []) clear(t, 'track process', procs.get(t.name)!.weight);
      for (const t of g.trackInterface) {
        if (t.weight !== 0) {
          r.warn(t.loc, `(${g.name}) Cannot have weighted track interface '${t.name}' with member ${owner.name} having priority 255: keepalived sets weight 0, so does hakeep. Write it without a weight`);
          t.weight = 0;
        }
      }
    }
    for (const m of members) {
      const both = (kind: string, mine: readonly { name: string }[], theirs: readonly { name: string; loc: SourceLoc }[]): void => {
        for (const t of theirs) {
          if (mine.some((x) => x.name === t.name)) {
            r.warn(t.loc, `(${m.name}) ${kind} ${t.name} is configured on VRRP instance and sync group ${g.name}. Remove vrrp instance config (keepalived's words): tracked once, with the group's weight unless the instance's is 0`);
          }
        }
      };
      both('track_script', m.trackScript, g.trackScript);
      both('track_interface', m.trackInterface, g.trackInterface);
      both('track_file', m.trackFile, g.trackFile ?? []);
      both('track_process', m.trackProcess, g.trackProcess ?? []);
    }
  }

  const used = new Set<string>();
  for (const i of config.vrrpInstances) for (const t of i.trackScript) used.add(t.name);
  for (const g of config.vrrpSyncGroups) if (g.group.length > 0) for (const t of g.trackScript) used.add(t.name);
  for (const s of scripts.values()) {
    if (!used.has(s.name)) r.warn(s.loc, `Warning - script ${s.name} is not used (keepalived's words): it is not run. Reference it in a track_script block, or remove it`);
  }
}

/** The notify FIFOs as keepalived settles them after parsing (global_data.c:297-311). */
function validateNotifyFifos(r: Reporter, config: Config): void {
  const g = config.globalDefs;
  if (g.notifyFifo && g.vrrpNotifyFifo && g.notifyFifo.path === g.vrrpNotifyFifo.path) {
    r.warn(g.vrrpNotifyFifo.loc, `vrrp_notify_fifo ${g.vrrpNotifyFifo.path} is also the notify_fifo (${g.notifyFifo.loc.file}:${g.notifyFifo.loc.line}): ignored with its script, as keepalived does, so lines are not written twice. Remove it or give it another path`);
    g.vrrpNotifyFifo = null;
    g.vrrpNotifyFifoScript = null;
  }
  for (const [script, fifo, kw] of [
    [g.notifyFifoScript, g.notifyFifo, 'notify_fifo'],
    [g.vrrpNotifyFifoScript, g.vrrpNotifyFifo, 'vrrp_notify_fifo'],
  ] as const) {
    if (script && !fifo) r.warn(script.loc, `${kw}_script is not run without a ${kw} (keepalived passes it the FIFO path); add a ${kw} PATH line or remove the script line`);
  }
}

function vsName(a: Config['virtualServers'][number]['address']): string {
  if (a.kind === 'ip') return a.family === 6 ? `[${a.ip}]:${a.port}` : `${a.ip}:${a.port}`;
  if (a.kind === 'fwmark') return `fwmark ${a.fwmark}`;
  return `group ${a.group}`;
}

type Vs = Config['virtualServers'][number];

/** keepalived's default persistence timeout (IPVS_SVC_PERSISTENT_TIMEOUT, libipvs.h:25). */
const DEFAULT_PERSISTENCE = 360;

/**
 * The LVS rules keepalived applies once everything is parsed (check_data.c:1074-1345
 * validate_check_config), in its order. A correction keepalived makes and runs with is a warning
 * here and the model holds the corrected value, so no line ipvsadm would reject is generated; what
 * hakeep refuses (and keepalived skips) is an error.
 */
function validateVirtualServers(r: Reporter, config: Config): void {
  const groups = new Map(config.virtualServerGroups.map((g) => [g.name, g]));
  // check_parser.c:133-139: a group without entries is removed (its virtual servers then name no group).
  const emptyGroups = new Set<string>();
  for (const g of config.virtualServerGroups) {
    if (g.entries.length > 0 || !g.name) continue;
    r.warn(g.loc, `virtual_server_group ${g.name} has no entries: keepalived removes it ("virtual server group ${g.name} has no entries - removing"), so does hakeep; a virtual_server group ${g.name} is then ignored. Add addresses or fwmarks, or remove the block`);
    groups.delete(g.name);
    emptyGroups.add(g.name);
  }
  const seen = new Map<string, { file: string; line: number }>();
  const kept: Vs[] = [];
  const twice = new Set<Vs>();
  for (const vs of config.virtualServers) {
    const key = `${vs.protocol}/${vsName(vs.address)}`;
    const prev = seen.get(key);
    if (prev) {
      r.error(vs.loc, `virtual_server ${vsName(vs.address)} (${vs.protocol}) is defined twice (first at ${prev.file}:${prev.line})`);
      twice.add(vs);
    }
    seen.set(key, vs.loc);

    const group = vs.address.kind === 'group' ? groups.get(vs.address.group) : undefined;
    if (vs.address.kind === 'group' && !group) {
      // ipwrapper.c:1216-1223 (link_vsg_to_vs): "Virtual server group X specified but not
      // configured - ignoring virtual server". keepalived runs without it; so does hakeep.
      const name = vs.address.group;
      const hint = emptyGroups.has(name) ? null : nearest(name, groups.keys());
      const why = emptyGroups.has(name) ? 'its virtual_server_group has no entries' : `there is no virtual_server_group ${name}${hint ? ` (did you mean '${hint}'?)` : ''}`;
      r.warn(vs.loc, `virtual_server group ${name}: ${why}: keepalived ignores this virtual server ("Virtual server group ${name} specified but not configured - ignoring virtual server"), so does hakeep; no IPVS service is created for it. Define the group, or fix the name`);
      continue;
    }
    dropOtherFamily(r, vs);
    // check_data.c:1085-1089: a virtual server without real servers is dropped, sorry server or not.
    if (vs.realServers.length === 0) {
      r.warn(vs.loc, `virtual_server ${vsName(vs.address)} has no real_server: keepalived ignores it ("has no real servers - ignoring"), so does hakeep; no IPVS service is created for it. Add a real_server or remove the block`);
      continue;
    }
    kept.push(vs);
    correctVirtualServer(r, vs, group);
    checkRealServers(r, vs, group);
    correctQuorum(r, vs);
    resolveCheckerSmtpAlert(config, vs);
  }
  config.virtualServers.splice(0, config.virtualServers.length, ...kept);
  checkOverlaps(r, config, twice);
}

/**
 * keepalived's quorum corrections, in its order (check_data.c:1262-1275): a quorum above the total
 * weight of the real servers could never be reached, so it is lowered to that total; then a
 * hysteresis not below the quorum is set to quorum - 1. Each with a warning at the line.
 */
function correctQuorum(r: Reporter, vs: Vs): void {
  const name = vsName(vs.address);
  const total = vs.realServers.reduce((sum, rs) => sum + rs.weight, 0);
  if (vs.quorum > total) {
    r.warn(vs.loc, `virtual_server ${name}: quorum ${vs.quorum} exceeds the total weight of its real servers ${total}: reducing quorum to ${total}, as keepalived does (otherwise the pool could never gain quorum)`);
    vs.quorum = total;
  }
  if (vs.hysteresis >= vs.quorum && vs.hysteresis > 0) {
    const h = Math.max(0, vs.quorum - 1);
    r.warn(vs.loc, `virtual_server ${name}: hysteresis ${vs.hysteresis} >= quorum ${vs.quorum}: setting hysteresis to ${h}, as keepalived does`);
    vs.hysteresis = h;
  }
}

/** check_data.c:1091-1147: ha_suspend, ops, port 0 and persistence. */
function correctVirtualServer(r: Reporter, vs: Vs, group: Config['virtualServerGroups'][number] | undefined): void {
  const name = vsName(vs.address);
  const fwmarkOnly = vs.address.kind === 'fwmark' || (group !== undefined && group.entries.every((e) => e.kind === 'fwmark'));
  if (vs.haSuspend && (vs.address.kind === 'fwmark' || group?.entries.some((e) => e.kind === 'fwmark'))) {
    r.warn(vs.loc, `virtual_server ${name}: ha_suspend cannot be used with fwmarks: keepalived clears it ("cannot use ha_suspend with fwmarks - clearing ha_suspend"), so does hakeep. Remove ha_suspend`);
    vs.haSuspend = false;
  }
  if (vs.protocolDefaulted && !fwmarkOnly) r.warn(vs.loc, NO_PROTOCOL);
  if (!fwmarkOnly) {
    // ipvsadm refuses -o on TCP/SCTP ("One-Packet Scheduling is only for UDP virtual services").
    if (vs.ops && vs.protocol !== 'UDP') {
      r.warn(vs.loc, `virtual_server ${name}: one packet scheduling (ops) requires UDP, and this is ${vs.protocol}: keepalived resets it ("one packet scheduling requires UDP - resetting"), so does hakeep. Remove ops or use protocol UDP`);
      vs.ops = false;
    }
    // ipvsadm refuses port 0 without -p ("Zero port specified for non-persistent service").
    const zeroPort = vs.address.kind === 'ip' ? vs.address.port === 0 : (group?.entries.some((e) => e.kind === 'ip' && e.port === 0) ?? false);
    if (zeroPort && vs.persistenceTimeout === null) {
      const where = vs.address.kind === 'ip' ? 'port 0 (or no port)' : `a member of virtual_server_group ${group!.name} with port 0 (or no port)`;
      r.warn(vs.loc, `virtual_server ${name}: ${where} is only valid for a persistent service: keepalived turns persistence on ("zero port only valid for persistent services - setting"), so does hakeep (persistence_timeout ${DEFAULT_PERSISTENCE}). Add persistence_timeout, or give the port`);
      vs.persistenceTimeout = DEFAULT_PERSISTENCE;
    }
  }
}

/** keepalived's `[ip]:proto:port` (inet_sockaddrtotrio, lib/utils.c:713-726). */
function trio(ip: string, protocol: string, port: number): string {
  return `[${ip}]:${protocol.toLowerCase()}:${port}`;
}

/**
 * A real or sorry server of the other address family than the virtual server's is skipped by
 * keepalived as it reads the block ("Address family of virtual server and real server … don't
 * match - skipping real server", check_parser.c:661-687, 160-180), unless it is tunnelled. hakeep
 * does the same, before "no real servers" is decided.
 */
function dropOtherFamily(r: Reporter, vs: Vs): void {
  const a = vs.address;
  const family = a.kind === 'ip' ? a.family : vs.family;
  if (family === undefined) return;
  const name = vsName(a);
  const how = a.kind === 'ip' ? '' : ' (its family comes from ip_family or its first real server that is not tunnelled, as in keepalived)';
  vs.realServers = vs.realServers.filter((rs) => {
    if (rs.family === family || (rs.lbKind ?? vs.lbKind) === 'TUN') return true;
    r.warn(rs.loc, `real_server ${rs.ip} is IPv${rs.family} but virtual_server ${name} is IPv${family}${how}: keepalived skips it ("Address family of virtual server and real server ${rs.ip} don't match - skipping real server"), so does hakeep; only TUN can mix families. Remove it or move it to an IPv${rs.family} virtual server`);
    return false;
  });
  const s = vs.sorryServer;
  if (s && s.family !== family && (vs.sorryServerLbKind ?? vs.lbKind) !== 'TUN') {
    r.warn(vs.loc, `virtual_server ${name}: sorry_server ${s.ip} is IPv${s.family} but the virtual server is IPv${family}${how}: keepalived skips the sorry server ("Address family of virtual server and sorry server ${s.ip} don't match - skipping sorry server."), so does hakeep. Write an IPv${family} sorry server`);
    vs.sorryServer = null;
  }
}

/**
 * smtp_alert of a virtual server and its real servers as keepalived settles it
 * (check_data.c:1157-1164, 1221-1231): their own line, else smtp_alert_checker, else smtp_alert,
 * else false for the virtual server and TRUE for a real server.
 */
function resolveCheckerSmtpAlert(config: Config, vs: Vs): void {
  const g = config.globalDefs;
  const global = g.smtpAlertChecker ?? g.smtpAlert ?? null;
  if (!smtpAlertWritten.has(vs)) vs.smtpAlert = global ?? false;
  for (const rs of vs.realServers) if (!smtpAlertWritten.has(rs)) rs.smtpAlert = global ?? true;
}

/**
 * Real and sorry servers: duplicates and ports (check_data.c:1164-1345). Servers of the wrong family
 * were already skipped (dropOtherFamily), as keepalived skips them.
 */
function checkRealServers(r: Reporter, vs: Vs, group: Config['virtualServerGroups'][number] | undefined): void {
  const name = vsName(vs.address);
  const a = vs.address;
  const fwmarkPorts = a.kind === 'fwmark' || (group?.entries.some((e) => e.kind === 'fwmark') ?? false);
  // check_data.c:1166-1181: a real server equal to an earlier one (address and port as written) is
  // removed, with a warning.
  const rsSeen = new Map<string, RealServer>();
  vs.realServers = vs.realServers.filter((rs) => {
    const rk = `${canonical(rs.ip, rs.family)}:${rs.port}`;
    const first = rsSeen.get(rk);
    if (first) {
      r.warn(rs.loc, `real_server ${rs.ip} ${rs.port} appears twice in virtual_server ${name} (first at ${first.loc.file}:${first.loc.line}): keepalived removes the second one ("real server … is duplicated - removing second rs"), so does hakeep. Remove one`);
      return false;
    }
    rsSeen.set(rk, rs);
    return true;
  });
  const programmed = new Map<string, RealServer>();
  for (const rs of vs.realServers) {
    const kind = rs.lbKind ?? vs.lbKind;
    // DR and TUN keep the packet's destination port, so the real server is programmed on the
    // virtual server's port. keepalived resets it (check_data.c:1318-1324): the IPVS destination,
    // its log lines and alerts use the virtual server's port; its checkers were set up with the
    // written port before that (check_api.c:147-150), so they keep checking that one.
    if ((kind === 'DR' || kind === 'TUN') && a.kind === 'ip' && rs.port !== a.port && rs.port !== 0) {
      const written = rs.port;
      r.warn(rs.loc, `real_server ${rs.ip} port ${written} differs from virtual_server ${name}'s port with lb_kind ${kind} (packets keep the virtual server's port): keepalived resets it ("WARNING - virtual server ${trio(a.ip, vs.protocol, a.port)} and real server ${trio(rs.ip, vs.protocol, written)} ports don't match - resetting"), so does hakeep; the real server is ${rs.ip}:${a.port} in IPVS and its checkers still connect to port ${written}. Write port ${a.port} (and connect_port ${written} in the checker if the check needs that port)`);
      rs.port = a.port;
      for (const c of rs.checkers) {
        if ('connectPort' in c && c.connectPort === null) c.connectPort = written;
      }
    }
    const pk = `${canonical(rs.ip, rs.family)}:${rs.port}`;
    const twin = programmed.get(pk);
    if (twin) {
      r.error(rs.loc, `real_server ${rs.ip} ends up as the same IPVS destination ${rs.ip}:${rs.port} as real_server ${twin.ip} ${twin.port} (${twin.loc.file}:${twin.loc.line}) once its port is reset for lb_kind ${kind}: one IPVS destination cannot be two real servers (keepalived's second add fails). Remove one of them`);
    }
    programmed.set(pk, rs);
    if (kind !== 'NAT' && rs.port !== 0 && fwmarkPorts) {
      // check_data.c:1280-1285, 1312-1317; keepalived sends port 0 (ipvswrapper.c:457-460, 613-614).
      const what = a.kind === 'fwmark' ? 'clearing' : 'port will be ignored';
      r.warn(rs.loc, `fwmark virtual server ${name}, real server ${rs.ip} has port ${rs.port} specified with lb_kind ${kind}: keepalived warns ("has port specified - ${what}") and programs port 0, so does hakeep (its checks still use port ${rs.port}). Remove the port, or set connect_port in the checker`);
    }
    if (group && kind !== 'NAT' && rs.port !== 0) {
      for (const e of group.entries) {
        if (e.kind === 'ip' && e.port !== 0 && e.port !== rs.port) {
          r.warn(rs.loc, `virtual server ${name}: member ${e.ip}:${e.port} of virtual_server_group ${group.name} and real server ${rs.ip} ${rs.port} ports don't match (as keepalived reports); with lb_kind ${kind} ipvsadm uses the service's port ${e.port}`);
          break;
        }
      }
    }
  }
  const s = vs.sorryServer;
  if (!s) return;
  const skind = vs.sorryServerLbKind ?? vs.lbKind;
  if (skind !== 'NAT' && s.port !== 0) {
    if (fwmarkPorts) {
      r.warn(vs.loc, `virtual_server ${name}: the sorry server has port ${s.port} specified with lb_kind ${skind} on a fwmark service: keepalived warns ("sorry server has port specified") and programs port 0, so does hakeep. Remove the port`);
    } else if (a.kind === 'ip' && s.port !== a.port) {
      r.warn(vs.loc, `virtual_server ${name} and sorry server ${s.ip} ${s.port} ports don't match with lb_kind ${skind}: keepalived resets the sorry server's port to ${a.port} ("ports don't match - resetting"), so does hakeep (as ipvsadm does for ${skind}). Use port ${a.port}`);
      s.port = a.port;
    }
  }
  // check_data.c:1236-1244: a sorry server that is also a real server follows its inhibit setting.
  const twin = vs.realServers.find((x) => x.ip === s.ip && x.port === s.port);
  if (twin && twin.inhibitOnFailure !== vs.sorryServerInhibit) {
    r.warn(vs.loc, `virtual_server ${name}: real server ${twin.ip} ${twin.port} (${twin.loc.file}:${twin.loc.line}) is also the sorry server, but their inhibit settings differ: keepalived ${twin.inhibitOnFailure ? 'sets' : 'clears'} sorry_server_inhibit to match the real server, so does hakeep`);
    vs.sorryServerInhibit = twin.inhibitOnFailure;
  }
}

/**
 * One IPVS service must come from one virtual_server. keepalived 2.2.7 does not notice a
 * virtual_server_group member that is also an address-based virtual_server (or a member of another
 * group used with the same protocol): both program the same IPVS service, its "already exists" is
 * ignored (ipvswrapper.c:216-226), and its destinations then depend on which virtual server changed
 * last. hakeep refuses it.
 */
function checkOverlaps(r: Reporter, config: Config, reported: ReadonlySet<Vs>): void {
  const groups = new Map(config.virtualServerGroups.map((g) => [g.name, g]));
  const owner = new Map<string, { vs: Vs; how: string }>();
  const claim = (k: string, vs: Vs, how: string): void => {
    const o = owner.get(k);
    if (!o) {
      owner.set(k, { vs, how });
      return;
    }
    if (o.vs === vs) return;
    r.error(vs.loc, `${how} is also ${o.how} (${o.vs.loc.file}:${o.vs.loc.line}): both would program the same IPVS service. keepalived does not detect this and lets whichever changes last decide its destinations; remove it from one of them`);
  };
  for (const vs of config.virtualServers) {
    if (reported.has(vs)) continue;
    const a = vs.address;
    const proto = vs.protocol.toLowerCase();
    if (a.kind === 'ip') {
      claim(`${proto} ${canonical(a.ip, a.family)}:${a.port}`, vs, `virtual_server ${vsName(a)} (${vs.protocol})`);
    } else if (a.kind === 'fwmark') {
      claim(`fwmark ${a.fwmark}/${a.family}`, vs, `virtual_server fwmark ${a.fwmark}`);
    } else {
      const g = groups.get(a.group);
      for (const e of g?.entries ?? []) {
        if (e.kind === 'ip') claim(`${proto} ${canonical(e.ip, e.family)}:${e.port}`, vs, `member ${e.family === 6 ? `[${e.ip}]` : e.ip}:${e.port} of virtual_server_group ${a.group} (used by virtual_server group ${a.group}, ${vs.protocol})`);
        else {
          const fam = e.familySet || e.family === 6 ? e.family : vs.family ?? 4;
          claim(`fwmark ${e.fwmark}/${fam}`, vs, `member fwmark ${e.fwmark} of virtual_server_group ${a.group}`);
        }
      }
    }
  }
}

function canonical(ip: string, family: 4 | 6): string {
  if (family === 4) return ip;
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip.toLowerCase();
  }
}
