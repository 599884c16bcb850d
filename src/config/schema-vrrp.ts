// vrrp_instance, vrrp_sync_group and vrrp_script blocks.
import type {
  GlobalDefs, SourceLoc, TrackInterfaceRef, TrackScriptRef, VipScope, VirtualIp, VrrpInstance, VrrpScript, VrrpSyncGroup,
} from './model.js';
import type { Statement } from './parser.js';
import { blockOf, type BlockSpec, type Handler } from './block.js';
import {
  arg, at, bool, int, ip, ipFamily, isVrrpMulticast, loc, notifyCmd, presentFlag, seconds, type Reporter,
} from './values.js';

const SCOPES: readonly VipScope[] = ['global', 'site', 'link', 'host', 'nowhere'];

/** Parse one `virtual_ipaddress` line: `addr[/len] [brd X] [dev IF] [scope S] [label L] …`. */
export function parseVip(r: Reporter, st: Statement): VirtualIp | null {
  const words = [st.keyword, ...st.args];
  const [addrPart, lenPart] = words[0]!.split('/');
  const family = ipFamily(addrPart ?? '');
  if (!family) {
    r.error(loc(st), `'${words[0]}' is not a valid IP address; write addr[/len] [brd X] [dev IF] [scope S] [label L]`);
    return null;
  }
  const maxLen = family === 4 ? 32 : 128;
  let prefixLen = maxLen;
  if (lenPart !== undefined) {
    if (!/^\d+$/.test(lenPart) || Number(lenPart) > maxLen) {
      r.error(loc(st), `'${words[0]}': prefix length must be 0-${maxLen}`);
      return null;
    }
    prefixLen = Number(lenPart);
  }
  const vip: VirtualIp = {
    address: addrPart!, family, prefixLen, brd: null, dev: null, scope: null, label: null, peer: null,
    noDad: false, noPrefixRoute: false, home: false, noTrack: false, loc: loc(st),
  };
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    const next = (): string | null => {
      const v = words[i + 1];
      if (v === undefined) {
        r.error(loc(st), `'${w}' in virtual_ipaddress needs a value`);
        return null;
      }
      i++;
      return v;
    };
    switch (w) {
      case 'brd': case 'broadcast': {
        if (family === 6) {
          r.warn(loc(st), `'${words[0]}': ${w} on an IPv6 address; keepalived skips this whole address ("trying to assign a broadcast ... to the IPv6 address"), so does hakeep. Remove ${w}`);
          return null;
        }
        const v = next();
        if (v !== null && v !== '+' && v !== '-' && ipFamily(v) !== 4) r.error(loc(st), `brd '${v}' is not an IPv4 address`);
        vip.brd = v;
        break;
      }
      case 'dev': vip.dev = next(); break;
      case 'scope': {
        const v = next();
        if (v !== null && !SCOPES.includes(v as VipScope) && !/^\d+$/.test(v)) {
          r.error(loc(st), `scope '${v}' is not one of ${SCOPES.join(', ')}`);
        } else if (v !== null) vip.scope = v as VipScope;
        break;
      }
      case 'label': vip.label = next(); break;
      case 'peer': {
        const v = next();
        const pf = v === null ? null : ipFamily(v.split('/')[0]!);
        if (v !== null && !pf) r.error(loc(st), `peer '${v}' is not an IP address`);
        else if (pf !== null && pf !== family) {
          r.warn(loc(st), `'${words[0]}': peer ${v} is IPv${pf} but the address is IPv${family}; keepalived ignores the peer ("Peer address does not match address family"), so does hakeep. Write an IPv${family} peer`);
          break;
        }
        vip.peer = v;
        break;
      }
      case 'home':
        vip.home = true;
        r.warn(loc(st), `'home' on a VIP is parsed but not applied by hakeep yet; the address is added without it`);
        break;
      case '-nodad': case 'nodad': vip.noDad = true; break;
      case 'noprefixroute': vip.noPrefixRoute = true; break;
      case 'no_track': vip.noTrack = true; break;
      case 'track': vip.noTrack = false; break;
      case 'mngtmpaddr': case 'autojoin':
        r.warn(loc(st), `'${w}' on a VIP is parsed but not applied by hakeep yet; the address is added without it`);
        break;
      case 'preferred_lft': case 'valid_lft':
        next();
        r.warn(loc(st), `'${w}' on a VIP is parsed but not applied by hakeep yet; the address is added with the kernel's default lifetime`);
        break;
      case 'use_vmac': case 'use_ipvlan': r.warn(loc(st), `'${w}' on a VIP is not implemented by hakeep yet; ignored`); break;
      default:
        r.error(loc(st), `unknown virtual_ipaddress option '${w}'; expected brd, dev, scope, label, peer, home, -nodad, noprefixroute or no_track`);
    }
  }
  if (family === 6 && (vip.scope !== null || vip.label !== null)) {
    const what = [vip.scope !== null ? `scope ${vip.scope}` : '', vip.label !== null ? `label ${vip.label}` : ''].filter(Boolean).join(' and ');
    r.warn(loc(st), `'${words[0]}': ${what} cannot be set on an IPv6 address; keepalived ignores it, so does hakeep. Remove it`);
    vip.scope = null;
    vip.label = null;
  }
  return vip;
}

function parseVipBlock(r: Reporter, st: Statement): VirtualIp[] {
  const out: VirtualIp[] = [];
  for (const line of blockOf(r, st)) {
    const v = parseVip(r, line);
    if (v) out.push(v);
  }
  return out;
}

function parseTrackScripts(r: Reporter, st: Statement): TrackScriptRef[] {
  return blockOf(r, st).map((s) => {
    const ref: TrackScriptRef = { name: s.keyword, weight: null, reverse: null, loc: loc(s) };
    for (let i = 0; i < s.args.length; i++) {
      const a = s.args[i]!;
      if (a === 'weight') ref.weight = int(r, s, -253, 253, s.args[++i]);
      else if (a === 'reverse') ref.reverse = true;
      else if (a === 'noreverse') ref.reverse = false;
      else r.error(loc(s), `track_script ${s.keyword}: unexpected '${a}'; expected weight N [reverse|noreverse]`);
    }
    return ref;
  });
}

function parseTrackInterfaces(r: Reporter, st: Statement): TrackInterfaceRef[] {
  return blockOf(r, st).map((s) => {
    const ref: TrackInterfaceRef = { name: s.keyword, weight: 0, reverse: false, loc: loc(s) };
    for (let i = 0; i < s.args.length; i++) {
      const a = s.args[i]!;
      if (a === 'weight') ref.weight = int(r, s, -253, 253, s.args[++i]) ?? 0;
      else if (a === 'reverse') ref.reverse = true;
      else if (a === 'noreverse') ref.reverse = false;
      else r.error(loc(s), `track_interface ${s.keyword}: unexpected '${a}'; expected weight N [reverse]`);
    }
    return ref;
  });
}

export function newInstance(name: string, st: Statement, g: GlobalDefs): VrrpInstance {
  return {
    name, loc: loc(st), initialState: 'BACKUP', interface: '', virtualRouterId: 0, priority: 100, advertInt: 1,
    version: g.vrrpVersion, family: 4, authType: null, authPass: null, virtualIpaddress: [], virtualIpaddressExcluded: [],
    virtualRoutes: [], virtualRules: [], trackInterface: [], trackScript: [], nopreempt: false, preemptDelay: 0,
    mcastSrcIp: null, mcastDstIp: null, unicastSrcIp: null, unicastPeers: [], unicastTtl: 255,
    checkUnicastSrc: g.vrrpCheckUnicastSrc,
    // vrrp_min_garp is already folded into the global values (see schema-global.ts).
    garpMasterDelay: g.vrrpGarpMasterDelay, garpMasterRepeat: g.vrrpGarpMasterRepeat,
    garpMasterRefresh: g.vrrpGarpMasterRefresh, garpMasterRefreshRepeat: g.vrrpGarpMasterRefreshRepeat,
    garpInterval: g.vrrpGarpInterval, garpLowerPrioDelay: g.vrrpGarpLowerPrioDelay,
    garpLowerPrioRepeat: g.vrrpGarpLowerPrioRepeat, notifyMaster: null, notifyBackup: null, notifyFault: null,
    notifyStop: null, notify: null, smtpAlert: false, strictMode: g.vrrpStrict, accept: true, dontTrackPrimary: false,
    skipCheckAdvAddr: g.vrrpSkipCheckAdvAddr, lowerPrioNoAdvert: g.vrrpLowerPrioNoAdvert,
    higherPrioSendAdvert: g.vrrpHigherPrioSendAdvert, downTimerAdverts: 3, useVmac: null, extra: {},
  };
}

/** Extra facts the validator needs about an instance (where a keyword was written). */
export interface InstanceMeta {
  stateLoc: SourceLoc | null;
  nopreemptLoc: SourceLoc | null;
  authPassLoc: SourceLoc | null;
  hasVrid: boolean;
  hasInterface: boolean;
  /**
   * Where each instance keyword was last written and kept (a handler that rejects its line does
   * not count): keepalived resolves many defaults only for keywords left unset. Inside
   * `authentication`, auth_type and auth_pass are recorded too.
   */
  at: Partial<Record<string, SourceLoc>>;
  /** What decided the instance's family (the first address written), for messages. */
  familyFrom: { what: string; loc: SourceLoc } | null;
  /** The first keyword that asks for unicast (unicast_peer, unicast_src_ip, check_unicast_src). */
  unicastKeywordLoc: SourceLoc | null;
  /** Where check_unicast_src was turned on for this instance (the keyword, or a peer's TTL bound). */
  checkUnicastSrcLoc: SourceLoc | null;
}

export function newInstanceMeta(): InstanceMeta {
  return {
    stateLoc: null, nopreemptLoc: null, authPassLoc: null, hasVrid: false, hasInterface: false, at: {},
    familyFrom: null, unicastKeywordLoc: null, checkUnicastSrcLoc: null,
  };
}

/** Handlers that may say `false`: the line was rejected, so it does not count as written. */
type InstanceHandler = (st: Statement, v: VrrpInstance) => boolean | void;

export function instanceSpec(r: Reporter, meta: InstanceMeta): BlockSpec<VrrpInstance> {
  /** Does an address of family `fam` fit the instance? The first address decides (keepalived). */
  const fits = (v: VrrpInstance, fam: 4 | 6, what: string, where: SourceLoc): boolean => {
    if (!meta.familyFrom) {
      meta.familyFrom = { what, loc: where };
      v.family = fam;
      return true;
    }
    return v.family === fam;
  };
  /** "is IPv6 but the instance is IPv4 (from X at f:l)". */
  const mismatch = (v: VrrpInstance, addr: string): string => {
    const from = meta.familyFrom!;
    return `${addr} is IPv${v.family === 4 ? 6 : 4} but the instance is IPv${v.family} (decided by ${from.what} at ${at(from.loc)}, the first address written)`;
  };
  const unicastKeyword = (st: Statement): void => { meta.unicastKeywordLoc ??= loc(st); };

  const sourceAddress: InstanceHandler = (st, v) => {
    const a = ip(r, st, st.args[0]);
    if (!a) return false;
    if (!fits(v, a.family, `${st.keyword} ${a.ip}`, loc(st))) {
      const had = v.mcastSrcIp;
      r.warn(loc(st), `(${v.name}) ${st.keyword} ${mismatch(v, a.ip)}: keepalived skips it ("MUST be of the same family")${had ? ` and also drops the source address ${had} set before it` : ''}; hakeep does the same, so adverts use the interface's address. Write an IPv${v.family} address`);
      v.mcastSrcIp = null;
      v.unicastSrcIp = null;
      return false;
    }
    // keepalived keeps one source address for both keywords: the last one written wins.
    v.mcastSrcIp = a.ip;
    v.unicastSrcIp = a.ip;
    return true;
  };

  const handlers: Record<string, InstanceHandler> = {
    state: (st, v) => {
      const s = st.args[0] ?? '';
      if (s === 'MASTER') {
        v.initialState = 'MASTER';
      } else if (s === 'BACKUP') {
        if (meta.at['state'] && v.initialState === 'MASTER') {
          r.warn(loc(st), `(${v.name}) state BACKUP after state MASTER (${at(meta.at['state'])}): keepalived keeps MASTER ("state previously set as MASTER - ignoring BACKUP"), so does hakeep. Keep one state line`);
          return false;
        }
        v.initialState = 'BACKUP';
      } else {
        // keepalived compares case-sensitively: `state master` is unknown to it.
        r.warn(loc(st), `(${v.name}) unknown state '${s}', defaulting to BACKUP as keepalived does (it only knows MASTER and BACKUP, in capitals)`);
        v.initialState = 'BACKUP';
      }
      meta.stateLoc = loc(st);
      return true;
    },
    interface: (st, v) => { v.interface = arg(r, st, 'an interface name') ?? ''; meta.hasInterface = true; },
    virtual_router_id: (st, v) => { meta.hasVrid = true; v.virtualRouterId = int(r, st, 1, 255) ?? 0; },
    // An invalid priority is an error; keepalived then uses 100, which counts as written.
    priority: (st, v) => { v.priority = int(r, st, 1, 255) ?? 100; },
    advert_int: (st, v) => {
      const t = seconds(r, st, 0.01, 255);
      if (t === null) return false;
      v.advertInt = t;
      return true;
    },
    version: (st, v) => {
      const n = int(r, st, 2, 3);
      if (n === null) return false;
      const earlier = meta.at['version'];
      if (earlier && v.version !== n) {
        r.warn(loc(st), `(${v.name}) version ${n} conflicts with version ${v.version} written at ${at(earlier)}: keepalived ignores the later line ("conflicts with configured or deduced version"), so does hakeep. Keep one version line`);
        return false;
      }
      if (n === 2 && meta.familyFrom && v.family === 6) {
        r.warn(loc(st), `(${v.name}) version 2 conflicts with this IPv6 instance (decided by ${meta.familyFrom.what} at ${at(meta.familyFrom.loc)}): keepalived ignores the line ("conflicts with configured or deduced version") and uses VRRPv3; so does hakeep. Remove it, or write it before the first IPv6 address`);
        return false;
      }
      if (n === 3) r.warn(loc(st), 'VRRP version 3 is not implemented by hakeep yet; the daemon will refuse to start this instance (use version 2)');
      v.version = n as 2 | 3;
      return true;
    },
    authentication: (st, v) => {
      for (const s of blockOf(r, st)) {
        if (s.keyword === 'auth_type') {
          const t = s.args[0] ?? '';
          if (t === 'PASS' || t === 'AH') {
            v.authType = t;
            meta.at['auth_type'] = loc(s);
          } else if (t.toUpperCase() === 'PASS' || t.toUpperCase() === 'AH') {
            r.error(loc(s), `auth_type '${t}' is not valid: keepalived is case-sensitive and would ignore it, running this instance without authentication; write ${t.toUpperCase()}`);
          } else {
            r.error(loc(s), `auth_type '${t}' is not valid; use PASS or AH`);
          }
          if (t === 'AH') r.warn(loc(s), 'auth_type AH is not implemented by hakeep yet; the daemon will refuse to start this instance (use PASS or no authentication)');
        } else if (s.keyword === 'auth_pass') {
          meta.authPassLoc = loc(s);
          meta.at['auth_pass'] = loc(s);
          v.authPass = s.args[0] ?? null;
          if (v.authPass === null) r.error(loc(s), 'auth_pass needs a password');
        } else {
          r.warn(loc(s), `Unknown keyword '${s.keyword}' in authentication, ignored; expected auth_type or auth_pass`);
        }
      }
    },
    virtual_ipaddress: (st, v) => {
      for (const vip of parseVipBlock(r, st)) {
        if (fits(v, vip.family, `virtual_ipaddress ${vip.address}`, vip.loc)) {
          v.virtualIpaddress.push(vip);
        } else {
          r.warn(vip.loc, `(${v.name}) virtual_ipaddress ${mismatch(v, vip.address)}: keepalived ignores it ("address family must match VRRP instance"), so does hakeep; this address is never added. Move it to virtual_ipaddress_excluded (either family is allowed there) or to an instance of its own family`);
        }
      }
    },
    virtual_ipaddress_excluded: (st, v) => { v.virtualIpaddressExcluded.push(...parseVipBlock(r, st)); },
    track_interface: (st, v) => { v.trackInterface.push(...parseTrackInterfaces(r, st)); },
    track_script: (st, v) => { v.trackScript.push(...parseTrackScripts(r, st)); },
    nopreempt: (st, v) => { meta.nopreemptLoc = loc(st); v.nopreempt = true; },
    preempt: (_st, v) => { v.nopreempt = false; },
    preempt_delay: (st, v) => { v.preemptDelay = seconds(r, st, 0, 1000) ?? 0; },
    mcast_src_ip: sourceAddress,
    unicast_src_ip: (st, v) => {
      unicastKeyword(st);
      return sourceAddress(st, v);
    },
    mcast_dst_ip: (st, v) => {
      const a = ip(r, st, st.args[0]);
      if (!a) return false;
      // keepalived has one destination slot: a rejected line also clears an earlier one.
      v.mcastDstIp = null;
      if (!fits(v, a.family, `mcast_dst_ip ${a.ip}`, loc(st))) {
        r.warn(loc(st), `(${v.name}) mcast_dst_ip ${mismatch(v, a.ip)}: keepalived skips it ("MUST match VRRP instance family"), so does hakeep; adverts go to the default group (vrrp_mcast_group${v.family}). Write an IPv${v.family} multicast address`);
        return false;
      }
      if (!isVrrpMulticast(a.ip, a.family)) {
        const kind = a.family === 4 ? 'an IPv4 multicast address (224.0.0.0/4)' : 'an IPv6 link-local multicast address (ff02::/16)';
        r.warn(loc(st), `(${v.name}) mcast_dst_ip ${a.ip} is not ${kind}: keepalived skips it, so does hakeep; adverts go to the default group (vrrp_mcast_group${a.family}). Use unicast_peer for unicast adverts`);
        return false;
      }
      v.mcastDstIp = a.ip;
      return true;
    },
    unicast_peer: (st, v) => {
      unicastKeyword(st);
      for (const s of blockOf(r, st)) {
        const a = ip(r, s, s.keyword);
        if (!a) continue;
        if (!fits(v, a.family, `unicast_peer ${a.ip}`, loc(s))) {
          r.warn(loc(s), `(${v.name}) unicast_peer ${mismatch(v, a.ip)}: keepalived skips it ("MUST be of the same family"), so does hakeep; no adverts are sent to it or accepted from it. Write the peer's IPv${v.family} address`);
          continue;
        }
        const peer = { address: a.ip, minTtl: 0, maxTtl: 255 };
        for (let i = 0; i < s.args.length; i += 2) {
          const opt = s.args[i]!;
          if (opt !== 'min_ttl' && opt !== 'max_ttl') {
            r.error(loc(s), `unicast_peer ${s.keyword}: unexpected '${opt}'; expected min_ttl N or max_ttl N`);
            break;
          }
          const value = s.args[i + 1];
          if (value === undefined) {
            r.error(loc(s), `(${v.name}) unicast_peer ${a.ip}: ${opt} is missing a value (0-255)`);
            break;
          }
          const n = int(r, { ...s, keyword: `unicast_peer ${a.ip} ${opt}` }, 0, 255, value);
          if (n === null) continue;
          if (opt === 'min_ttl') peer.minTtl = n;
          else peer.maxTtl = n;
          // keepalived: a TTL bound turns on the unicast source check for the whole instance.
          meta.checkUnicastSrcLoc ??= loc(s);
        }
        if (peer.minTtl > peer.maxTtl) {
          // keepalived runs this and discards every advert from the peer: a certain split brain.
          r.error(loc(s), `(${v.name}) unicast_peer ${a.ip}: min_ttl ${peer.minTtl} > max_ttl ${peer.maxTtl}, so every advert from this peer would be discarded (keepalived says so and runs anyway, letting both nodes become master). Fix the bounds`);
        }
        v.unicastPeers.push(peer);
      }
    },
    check_unicast_src: (st) => {
      unicastKeyword(st);
      presentFlag(r, st);
      meta.checkUnicastSrcLoc ??= loc(st);
    },
    unicast_ttl: (st, v) => { v.unicastTtl = int(r, st, 1, 255) ?? 255; },
    garp_master_delay: (st, v) => { v.garpMasterDelay = int(r, st, 0, 86400) ?? v.garpMasterDelay; },
    garp_master_repeat: (st, v) => { v.garpMasterRepeat = int(r, st, 0, 255) ?? v.garpMasterRepeat; },
    garp_master_refresh: (st, v) => { v.garpMasterRefresh = int(r, st, 0, 86400) ?? v.garpMasterRefresh; },
    garp_master_refresh_repeat: (st, v) => { v.garpMasterRefreshRepeat = int(r, st, 0, 255) ?? v.garpMasterRefreshRepeat; },
    garp_interval: (st, v) => { v.garpInterval = seconds(r, st, 0, 1) ?? v.garpInterval; },
    garp_lower_prio_delay: (st, v) => {
      const n = int(r, st, 0, 86400);
      if (n === null) return false;
      v.garpLowerPrioDelay = n;
      return true;
    },
    garp_lower_prio_repeat: (st, v) => {
      const n = int(r, st, 0, 255);
      if (n === null) return false;
      v.garpLowerPrioRepeat = n;
      return true;
    },
    notify_master: (st, v) => { v.notifyMaster = notifyCmd(r, st); },
    notify_backup: (st, v) => { v.notifyBackup = notifyCmd(r, st); },
    notify_fault: (st, v) => { v.notifyFault = notifyCmd(r, st); },
    notify_stop: (st, v) => { v.notifyStop = notifyCmd(r, st); },
    notify: (st, v) => { v.notify = notifyCmd(r, st); },
    smtp_alert: (st, v) => {
      v.smtpAlert = bool(r, st);
      r.note(loc(st), `'smtp_alert' has no effect in hakeep: e-mail alerts are not sent by hakeep; use notify scripts`);
    },
    strict_mode: (st, v) => { v.strictMode = bool(r, st); },
    // accept/no_accept: the last one written wins; validate.ts resolves the default and warns.
    accept: (_st, v) => { v.accept = true; delete meta.at['no_accept']; },
    no_accept: (_st, v) => { v.accept = false; delete meta.at['accept']; },
    dont_track_primary: (_st, v) => { v.dontTrackPrimary = true; },
    skip_check_adv_addr: (st, v) => {
      const value = st.args[0];
      const on = bool(r, st);
      if (value !== undefined && !on) {
        r.warn(loc(st), `(${v.name}) skip_check_adv_addr ${value}: keepalived turns the option ON whatever value follows it, so does hakeep. Remove the line to leave it off`);
      }
      v.skipCheckAdvAddr = true;
    },
    lower_prio_no_advert: (st, v) => { v.lowerPrioNoAdvert = bool(r, st); },
    higher_prio_send_advert: (st, v) => { v.higherPrioSendAdvert = bool(r, st); },
    down_timer_adverts: (st, v) => { v.downTimerAdverts = int(r, st, 1, 100) ?? 3; },
    virtual_routes: (st, v) => { v.virtualRoutes.push(...blockOf(r, st).map((s) => [s.keyword, ...s.args].join(' '))); },
    virtual_rules: (st, v) => {
      for (const s of blockOf(r, st)) {
        checkRuleAddresses(r, s);
        v.virtualRules.push([s.keyword, ...s.args].join(' '));
      }
    },
  };

  const recorded: Record<string, Handler<VrrpInstance>> = {};
  for (const [kw, h] of Object.entries(handlers)) {
    recorded[kw] = (st, v) => {
      if (h(st, v) !== false) meta.at[kw] = loc(st);
    };
  }

  return {
    name: 'vrrp_instance',
    handlers: recorded,
    notYet: [
      'use_vmac', 'vmac_xmit_base', 'use_ipvlan', 'track_file', 'track_process', 'track_bfd', 'track_src_ip',
      'notify_master_rx_lower_pri', 'notify_deleted', 'notify_priority_changes', 'unicast_fault_no_peer',
      'kernel_rx_buf_size', 'promote_secondaries', 'no_virtual_ipaddress', 'timer_expired_backup',
      'debug', 'linkbeat_use_polling', 'lvs_sync_daemon_interface', 'garp_extra_if', 'native_ipv6', 'old_unicast_checksum',
      'v3_checksum_as_v2',
    ],
    deprecated: { garp_lower_prio_refresh: 'garp_lower_prio_delay' },
  };
}

/** `from X`/`to X` in a rule must be an address or prefix (keepalived rejects `192.168.1./24`). */
export function checkRuleAddresses(r: Reporter, s: Statement): void {
  const words = [s.keyword, ...s.args];
  for (let i = 0; i < words.length - 1; i++) {
    if (words[i] === 'from' || words[i] === 'to') {
      const v = words[i + 1]!;
      if (v === 'all') continue;
      const [a, len] = v.split('/');
      if (!ipFamily(a ?? '') || (len !== undefined && !/^\d{1,3}$/.test(len))) {
        r.error(loc(s), `invalid ${words[i]} address '${v}' in rule; write an address or prefix such as 192.168.100.0/24`);
      }
    }
  }
}

export function scriptSpec(r: Reporter, seen: { timeout: boolean; script: boolean }): BlockSpec<VrrpScript> {
  return {
    name: 'vrrp_script',
    handlers: {
      script: (st, s) => { seen.script = true; s.script = st.args.join(' '); if (!s.script) r.error(loc(st), 'script needs a command'); },
      interval: (st, s) => { s.interval = seconds(r, st, 0.001, 86400) ?? s.interval; },
      timeout: (st, s) => { seen.timeout = true; s.timeout = seconds(r, st, 0.001, 86400) ?? s.timeout; },
      weight: (st, s) => {
        s.weight = int(r, st, -253, 253) ?? 0;
        if (st.args[1] === 'reverse') s.weightReverse = true;
      },
      rise: (st, s) => { s.rise = int(r, st, 1, 1_000_000) ?? 1; },
      fall: (st, s) => { s.fall = int(r, st, 1, 1_000_000) ?? 1; },
      user: (st, s) => { s.user = st.args.join(' ') || null; },
      init_fail: (_st, s) => { s.initFail = true; },
    },
  };
}

export function syncGroupSpec(r: Reporter): BlockSpec<VrrpSyncGroup> {
  return {
    name: 'vrrp_sync_group',
    handlers: {
      group: (st, g) => { for (const s of blockOf(r, st)) g.group.push(s.keyword, ...s.args); },
      notify_master: (st, g) => { g.notifyMaster = notifyCmd(r, st); },
      notify_backup: (st, g) => { g.notifyBackup = notifyCmd(r, st); },
      notify_fault: (st, g) => { g.notifyFault = notifyCmd(r, st); },
      notify: (st, g) => { g.notify = notifyCmd(r, st); },
      track_script: (st, g) => { g.trackScript.push(...parseTrackScripts(r, st)); },
      track_interface: (st, g) => { g.trackInterface.push(...parseTrackInterfaces(r, st)); },
      smtp_alert: (st, g) => {
        g.smtpAlert = bool(r, st);
        r.note(loc(st), `'smtp_alert' has no effect in hakeep: e-mail alerts are not sent by hakeep; use notify scripts`);
      },
    },
    notYet: ['notify_stop', 'track_file', 'track_process', 'track_bfd', 'global_tracking', 'sync_group_tracking_weight'],
  };
}
