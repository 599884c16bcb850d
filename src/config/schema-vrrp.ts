// vrrp_instance, vrrp_sync_group and vrrp_script blocks.
import type {
  GlobalDefs, NotifyCmd, ParamMatch, SourceLoc, TrackFileRef, TrackInterfaceRef, TrackProcessRef, TrackScriptRef, VipScope, VirtualIp,
  VrrpInstance, VrrpScript, VrrpSyncGroup, VrrpTrackFile, VrrpTrackProcess,
} from './model.js';
import type { Statement } from './parser.js';
import { blockOf, walkBlock, type BlockSpec, type Handler } from './block.js';
import {
  arg, at, int, ipFamily, isVrrpMulticast, loc, presentFlag, type Reporter,
} from './values.js';
import { kaAddress, kaBool, kaNumber } from './lenient.js';
import { describeRoute, describeRule, parseRoute, parseRule, routeContext } from './routes.js';

/**
 * Objects whose `smtp_alert` line was written (and read): keepalived resolves an unset one from the
 * global smtp_alert_vrrp/smtp_alert_checker/smtp_alert after parsing (vrrp.c:3237-3244,
 * vrrp.c:4108-4116, check_data.c:1157-1164 and 1221-1231). validate.ts reads it.
 */
export const smtpAlertWritten = new WeakSet<object>();

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

/** The kind of a `track_*` list, for messages and keepalived's per-kind rules (vrrp_track.c). */
type TrackKind = 'track_script' | 'track_interface' | 'track_file' | 'track_process';

interface RawTrackRef {
  name: string;
  weight: number | null;
  reverse: boolean | null;
  loc: SourceLoc;
}

/**
 * One `track_*` block: `NAME [weight N [reverse|noreverse]]` per line, with keepalived's
 * corrections (vrrp_track.c alloc_track_if:86-156, alloc_track_script:200-279,
 * alloc_track_process:319-391; track_file.c vrrp_alloc_track_file:110-179). Each correction
 * keepalived makes and runs with is a warning here:
 *   - the same name twice in one owner: the later line is ignored;
 *   - an option other than `weight`, or `weight` without a value: the line is ignored;
 *   - a weight outside -254..254: the default weight is used (0 for interfaces, the block's own
 *     weight otherwise); ±254 becomes ±253 for scripts and interfaces;
 *   - after the weight only `reverse` (and, except for interfaces, `noreverse`); anything else is
 *     reported and, for track_file only, the line ignored.
 */
function parseTrackRefs(r: Reporter, st: Statement, owner: string, kind: TrackKind, existing: readonly { name: string }[]): RawTrackRef[] {
  const out: RawTrackRef[] = [];
  const what = kind.replace('_', ' ');
  for (const s of blockOf(r, st)) {
    const name = s.keyword;
    const ref: RawTrackRef = { name, weight: null, reverse: null, loc: loc(s) };
    if (existing.some((e) => e.name === name) || out.some((e) => e.name === name)) {
      r.warn(loc(s), `(${owner}) duplicate ${kind} ${name}: keepalived ignores this line, so does hakeep. Remove it`);
      continue;
    }
    if (s.args.length > 0) {
      if (s.args[0] !== 'weight') {
        // An error, not a warning: keepalived drops the whole line, so the object is not tracked.
        r.error(loc(s), `(${owner}) unknown ${what} option '${s.args[0]}' for ${name}: keepalived ignores the whole line, so ${name} would not be tracked at all. Write ${name} [weight N [reverse]]`);
        continue;
      }
      const value = s.args[1];
      if (value === undefined) {
        r.error(loc(s), `(${owner}) weight without value specified for ${kind} ${name}: ${name} needs a number between -253 and 253 (keepalived ignores the whole line, so ${name} would not be tracked at all). Write a weight or remove 'weight'`);
        continue;
      }
      if (!/^[+-]?\d+$/.test(value) || Math.abs(Number(value)) > 254) {
        const dflt = kind === 'track_interface' ? 'weight 0 (FAULT when down)' : 'the weight of its definition';
        r.warn(loc(s), `(${owner}) ${kind} ${name}: weight '${value}' must be between -253 and 253: keepalived uses ${dflt} instead, so does hakeep`);
      } else {
        let w = Number(value);
        if ((kind === 'track_script' || kind === 'track_interface') && Math.abs(w) === 254) {
          r.warn(loc(s), `(${owner}) weight for ${name} cannot be ${w}: keepalived uses ${w > 0 ? 253 : -253}, so does hakeep. Write ${w > 0 ? 253 : -253}`);
          w = w > 0 ? 253 : -253;
        }
        ref.weight = w;
      }
      const opt = s.args[2];
      if (opt === 'reverse') ref.reverse = true;
      else if (opt === 'noreverse' && kind !== 'track_interface') ref.reverse = false;
      else if (opt !== undefined) {
        if (kind === 'track_file') {
          r.error(loc(s), `(${owner}) unknown track_file ${name} weight option '${opt}': keepalived ignores the whole line, so ${name} would not be tracked at all. Use reverse or noreverse`);
          continue;
        }
        r.warn(loc(s), `(${owner}) unknown ${kind} ${name} weight option '${opt}': keepalived ignores the option, so does hakeep. Use reverse${kind === 'track_interface' ? '' : ' or noreverse'}`);
      }
      if (s.args.length > 3) r.warn(loc(s), `(${owner}) ${kind} ${name}: '${s.args.slice(3).join(' ')}' ignored (keepalived reads nothing after the weight option)`);
    }
    out.push(ref);
  }
  return out;
}

function parseTrackScripts(r: Reporter, st: Statement, owner: string, existing: readonly TrackScriptRef[]): TrackScriptRef[] {
  return parseTrackRefs(r, st, owner, 'track_script', existing);
}

function parseTrackInterfaces(r: Reporter, st: Statement, owner: string, existing: readonly TrackInterfaceRef[]): TrackInterfaceRef[] {
  return parseTrackRefs(r, st, owner, 'track_interface', existing).map((t) => ({
    name: t.name, weight: t.weight ?? 0, reverse: t.reverse ?? false, loc: t.loc,
  }));
}

function parseTrackFiles(r: Reporter, st: Statement, owner: string, existing: readonly TrackFileRef[]): TrackFileRef[] {
  return parseTrackRefs(r, st, owner, 'track_file', existing);
}

function parseTrackProcesses(r: Reporter, st: Statement, owner: string, existing: readonly TrackProcessRef[]): TrackProcessRef[] {
  return parseTrackRefs(r, st, owner, 'track_process', existing);
}

export function newInstance(name: string, st: Statement, g: GlobalDefs): VrrpInstance {
  return {
    name, loc: loc(st), initialState: 'BACKUP', interface: '', virtualRouterId: 0, priority: 100, advertInt: 1,
    version: g.vrrpVersion, family: 4, authType: null, authPass: null, virtualIpaddress: [], virtualIpaddressExcluded: [],
    virtualRoutes: [], virtualRules: [], trackInterface: [], trackScript: [], trackFile: [], trackProcess: [], nopreempt: false, preemptDelay: 0,
    mcastSrcIp: null, mcastDstIp: null, unicastSrcIp: null, unicastPeers: [], unicastTtl: 255,
    checkUnicastSrc: g.vrrpCheckUnicastSrc,
    // vrrp_min_garp is already folded into the global values (see schema-global.ts).
    garpMasterDelay: g.vrrpGarpMasterDelay, garpMasterRepeat: g.vrrpGarpMasterRepeat,
    garpMasterRefresh: g.vrrpGarpMasterRefresh, garpMasterRefreshRepeat: g.vrrpGarpMasterRefreshRepeat,
    garpInterval: g.vrrpGarpInterval, garpLowerPrioDelay: g.vrrpGarpLowerPrioDelay,
    garpLowerPrioRepeat: g.vrrpGarpLowerPrioRepeat, notifyMaster: null, notifyBackup: null, notifyFault: null,
    notifyStop: null, notify: null, notifyDeleted: null, notifyMasterRxLowerPri: null, notifyPriorityChanges: null,
    smtpAlert: false, strictMode: g.vrrpStrict, accept: true, dontTrackPrimary: false,
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
  /** The deprecated lvs_sync_daemon_interface IFNAME (vrrp_parser.c:1217-1231), resolved in validate.ts. */
  lvsSyncDaemonInterface?: { ifname: string; loc: SourceLoc };
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

  /** keepalived accepts up to 2^32-1 GARPs per VIP; hakeep queues them all at once, so it caps at 255. */
  const repeatCap = (st: Statement, name: string): boolean => {
    const v = st.args[0] ?? '';
    if (!/^\d+$/.test(v) || Number(v) <= 255) return false;
    r.error(loc(st), `(${name}) ${st.keyword} ${v}: keepalived accepts it and sends ${v} gratuitous ARPs per VIP, a flood of the segment; hakeep refuses more than 255. Write 255 or less (the default is 5)`);
    return true;
  };
  /** garp_master_repeat / garp_master_refresh_repeat (vrrp_parser.c:1259-1298): 0 becomes 1. */
  const garpRepeat = (st: Statement, name: string, current: number): number => {
    if (repeatCap(st, name)) return current;
    const n = kaNumber(r, st, 0, 255, { who: `(${name})`, integer: true, ka: `(${name}): ${st.keyword} '${st.args[0] ?? ''}' invalid - ignoring`, keeps: `${st.keyword} stays ${current}` });
    if (n === null) return current;
    if (n === 0) {
      r.warn(loc(st), `(${name}) ${st.keyword} 0: keepalived uses 1 ("${st.keyword} must be greater than 0, setting to 1"), so does hakeep. Write 1`);
      return 1;
    }
    return n;
  };
  /** garp_lower_prio_repeat (vrrp_parser.c:1313-1325): 0 is valid (none); a bad value is ignored. */
  const garpRepeatLowerPrio = (st: Statement, name: string): number | null => {
    if (repeatCap(st, name)) return null;
    return kaNumber(r, st, 0, 255, { who: `(${name})`, integer: true, ka: `(${name}): Invalid garp_lower_prio_repeat '${st.args[0] ?? ''}'`, keeps: 'the global vrrp_garp_lower_prio_repeat applies' });
  };

  const sourceAddress: InstanceHandler = (st, v) => {
    const text = st.args[0];
    if (text === undefined) {
      r.error(loc(st), `(${v.name}) ${st.keyword} needs an IP address: keepalived refuses a line without one ("is missing a parameter")`);
      return false;
    }
    // vrrp_parser.c:906-930 (inet_stosockaddr, lib/utils.c:567-570): `/len` and `-range` are dropped.
    const a = kaAddress(r, loc(st), `(${v.name}) ${st.keyword}`, text);
    if (!a) {
      const had = v.mcastSrcIp;
      r.warn(loc(st), `(${v.name}) ${st.keyword} '${text}' is not an IP address: keepalived skips it ("malformed src address. Skipping...")${had ? ` and also loses the source address ${had} set before it` : ''}, so does hakeep; adverts use the interface's address. Write an IPv${v.family} address`);
      v.mcastSrcIp = null;
      v.unicastSrcIp = null;
      return false;
    }
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
    // vrrp_parser.c:1004-1015: an invalid priority becomes 100 ("Using default 100"), which counts
    // as written (state MASTER then does not make it 255).
    priority: (st, v) => {
      v.priority = kaNumber(r, st, 1, 255, { who: `(${v.name})`, integer: true, ka: `(${v.name}) Priority not valid! must be between 1 & 255. Using default 100`, keeps: 'priority 100 is used' }) ?? 100;
    },
    // vrrp_parser.c:1017-1030: 0.01-255 s, else the line is ignored (advert_int stays 1).
    advert_int: (st, v) => {
      const t = kaNumber(r, st, 0.01, 255, { who: `(${v.name})`, ka: `(${v.name}) Advert interval (${st.args[0] ?? ''}) not valid! Must be > 0 - ignoring`, keeps: 'advert_int stays 1 second', unit: 'seconds' });
      if (t === null) return false;
      v.advertInt = t;
      return true;
    },
    version: (st, v) => {
      // vrrp_parser.c:1840-1853: anything but 2 or 3 is reported and the line ignored.
      const n = kaNumber(r, st, 2, 3, { who: `(${v.name})`, integer: true, ka: `(${v.name}): Version must be either 2 or 3`, keeps: `version ${v.version} stays` });
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
          } else {
            // vrrp_parser.c:1425-1437: case-sensitive; anything else is reported and ignored, so the
            // instance runs without authentication. Its peers with the same line do too, so they
            // still agree: follow keepalived, loudly.
            const fix = t.toUpperCase() === 'PASS' || t.toUpperCase() === 'AH' ? `write ${t.toUpperCase()} on every node` : 'use PASS (or remove the authentication block) on every node';
            r.warn(loc(s), `(${v.name}) unknown authentication type '${t}': keepalived ignores it (auth_type is case-sensitive: PASS or AH) and runs this instance WITHOUT authentication, so does hakeep (peers with the same line agree with it; a peer that says PASS rejects its adverts). To authenticate, ${fix}`);
          }
          // Refused on purpose (README, "Where hakeep refuses although keepalived runs"): RFC 3768
          // removed AH from VRRPv2, keepalived's AH is its own HMAC-MD5-96 over the advert with the
          // auth_pass as key, and a node that ran without it would be rejected by its AH peers
          // (both sides master).
          if (t === 'AH') r.error(loc(s), `(${v.name}) auth_type AH is refused by hakeep: RFC 3768 removed the IPsec AH authentication from VRRP (it was RFC 2338's), keepalived's AH is its own HMAC-MD5-96 scheme that hakeep does not speak, and running this instance without it would make keepalived peers using AH reject its adverts (both nodes master). Use auth_type PASS, or no authentication block, on every node of this virtual router`);
        } else if (s.keyword === 'auth_pass') {
          meta.authPassLoc = loc(s);
          meta.at['auth_pass'] = loc(s);
          v.authPass = s.args[0] ?? null;
          if (v.authPass === null) r.error(loc(s), 'auth_pass needs a password: keepalived refuses a line without one ("is missing a parameter")');
          else if (Buffer.byteLength(v.authPass) > 8) {
            // vrrp_parser.c:1438-1454: "Truncating auth_pass to 8 characters" (the advert has 8
            // bytes for it), on every node alike, so peers with the same line still agree.
            const cut = Buffer.from(v.authPass).subarray(0, 8).toString();
            r.warn(loc(s), `(${v.name}) auth_pass is longer than 8 characters: keepalived uses the first 8 ('${cut}', "Truncating auth_pass to 8 characters"), so does hakeep; a peer with the same line agrees. Write auth_pass ${cut} to make it explicit`);
            v.authPass = cut;
          }
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
    track_interface: (st, v) => { v.trackInterface.push(...parseTrackInterfaces(r, st, v.name, v.trackInterface)); },
    track_script: (st, v) => { v.trackScript.push(...parseTrackScripts(r, st, v.name, v.trackScript)); },
    track_file: (st, v) => { v.trackFile.push(...parseTrackFiles(r, st, v.name, v.trackFile)); },
    track_process: (st, v) => { v.trackProcess.push(...parseTrackProcesses(r, st, v.name, v.trackProcess)); },
    nopreempt: (st, v) => { meta.nopreemptLoc = loc(st); v.nopreempt = true; },
    preempt: (_st, v) => { v.nopreempt = false; },
    // vrrp_parser.c:1089-1100: 0-1000 s (TIMER_MAX_SEC), else 0.
    preempt_delay: (st, v) => {
      v.preemptDelay = kaNumber(r, st, 0, 1000, { who: `(${v.name})`, ka: `(${v.name}) Preempt_delay not valid! must be between 0-1000`, keeps: 'preempt_delay 0 (none) is used', unit: 'seconds' }) ?? 0;
    },
    mcast_src_ip: sourceAddress,
    unicast_src_ip: (st, v) => {
      unicastKeyword(st);
      return sourceAddress(st, v);
    },
    mcast_dst_ip: (st, v) => {
      const text = st.args[0];
      if (text === undefined) {
        r.error(loc(st), `(${v.name}) mcast_dst_ip needs a multicast address: keepalived refuses a line without one ("is missing a parameter")`);
        return false;
      }
      // keepalived has one destination slot: a rejected line also clears an earlier one.
      v.mcastDstIp = null;
      const a = kaAddress(r, loc(st), `(${v.name}) mcast_dst_ip`, text);
      if (!a) {
        r.warn(loc(st), `(${v.name}) mcast_dst_ip '${text}' is not an IP address: keepalived skips it ("malformed mcast dest address ${text}. Skipping..."), so does hakeep; adverts go to the default group (vrrp_mcast_group${v.family})`);
        return false;
      }
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
        // vrrp_data.c:970-1020 (alloc_vrrp_unicast_peer): `/len` and `-range` are dropped.
        const a = kaAddress(r, loc(s), `(${v.name}) unicast_peer`, s.keyword);
        if (!a) {
          // keepalived skips the peer ("malformed unicast peer address. Skipping...") and runs: that
          // peer then never hears this node's adverts and both become master. hakeep refuses.
          r.error(loc(s), `(${v.name}) unicast_peer '${s.keyword}' is not an IP address: keepalived would skip this peer ("malformed unicast peer address[${s.keyword}]. Skipping...") and that peer would never receive this node's adverts (both nodes master). hakeep refuses to start; write the peer's address`);
          continue;
        }
        if (!fits(v, a.family, `unicast_peer ${a.ip}`, loc(s))) {
          r.warn(loc(s), `(${v.name}) unicast_peer ${mismatch(v, a.ip)}: keepalived skips it ("MUST be of the same family"), so does hakeep; no adverts are sent to it or accepted from it. Write the peer's IPv${v.family} address`);
          continue;
        }
        const peer = { address: a.ip, minTtl: 0, maxTtl: 255 };
        // vrrp_data.c:1000-1016, in keepalived's order: a missing value, then the number, then the
        // option's name; each problem is reported and the peer kept without that option.
        for (let i = 0; i < s.args.length; i += 2) {
          const opt = s.args[i]!;
          const value = s.args[i + 1];
          if (value === undefined) {
            r.warn(loc(s), `(${v.name}) unicast_peer ${a.ip}: ${opt} is missing a value: keepalived ignores it ("${opt} is missing a value"), so does hakeep; the peer is kept without it. Write min_ttl N or max_ttl N (0-255)`);
            break;
          }
          const n = kaNumber(r, { ...s, keyword: `(${v.name}) unicast_peer ${a.ip} ${opt}` }, 0, 255, { integer: true, value, ka: `number '${value}' outside range [0, 255]`, keeps: `the peer is kept without ${opt}` });
          if (n === null) continue;
          if (opt !== 'min_ttl' && opt !== 'max_ttl') {
            r.warn(loc(s), `(${v.name}) unknown unicast_peer option ${opt}: keepalived ignores it and the rest of the line ("unknown unicast_peer option ${opt}"), so does hakeep; the peer is kept. Use min_ttl N or max_ttl N`);
            break;
          }
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
    // vrrp_parser.c:991-1002: 0-255, else ignored. (A TTL of 0 never leaves the host: hakeep refuses it.)
    unicast_ttl: (st, v) => {
      if (st.args[0] === '0') {
        r.error(loc(st), `(${v.name}) unicast_ttl 0: keepalived accepts it, but an advert with TTL 0 never leaves this host, so no peer would hear this node (both nodes master). hakeep refuses; use 1-255 (255 is the default)`);
        return false;
      }
      const n = kaNumber(r, st, 1, 255, { who: `(${v.name})`, integer: true, ka: `(${v.name}): TTL '${st.args[0] ?? ''}' not valid - must be between 0 & 255`, keeps: 'unicast_ttl stays 255' });
      if (n === null) return false;
      v.unicastTtl = n;
      return true;
    },
    // vrrp_parser.c:1233-1245: whole seconds 0-4294 (UINT_MAX / TIMER_HZ), else ignored.
    garp_master_delay: (st, v) => {
      v.garpMasterDelay = kaNumber(r, st, 0, 4294, { who: `(${v.name})`, integer: true, ka: `(${v.name}): garp_master_delay '${st.args[0] ?? ''}' invalid - ignoring`, keeps: `garp_master_delay stays ${v.garpMasterDelay}`, unit: 'seconds' }) ?? v.garpMasterDelay;
    },
    // vrrp_parser.c:1259-1278: 0 becomes 1 ("must be greater than 0, setting to 1").
    garp_master_repeat: (st, v) => { v.garpMasterRepeat = garpRepeat(st, v.name, v.garpMasterRepeat); },
    // vrrp_parser.c:1246-1258: invalid → 0 (no refresh).
    garp_master_refresh: (st, v) => {
      v.garpMasterRefresh = kaNumber(r, st, 0, 86400, { who: `(${v.name})`, integer: true, ka: `(${v.name}): Invalid garp_master_refresh '${st.args[0] ?? ''}' - ignoring`, keeps: 'garp_master_refresh 0 (no refresh) is used', unit: 'seconds' }) ?? 0;
    },
    // vrrp_parser.c:1279-1298: 0 becomes 1.
    garp_master_refresh_repeat: (st, v) => { v.garpMasterRefreshRepeat = garpRepeat(st, v.name, v.garpMasterRefreshRepeat); },
    // keepalived 2.2.7 has no garp_interval in vrrp_instance (vrrp_parser.c:2122-2212 installs none;
    // it belongs to garp_group and to global_defs as vrrp_garp_interval): "Unknown keyword".
    garp_interval: (st, v) => {
      r.warn(loc(st), `(${v.name}) garp_interval is not a vrrp_instance keyword in keepalived 2.2.7 ("Unknown keyword 'garp_interval'"): it ignores the line, so does hakeep; the global vrrp_garp_interval (${v.garpInterval} s) applies. Write vrrp_garp_interval in global_defs instead`);
      return false;
    },
    // vrrp_parser.c:1300-1325: invalid values are reported and the line ignored.
    garp_lower_prio_delay: (st, v) => {
      const n = kaNumber(r, st, 0, 4294, { who: `(${v.name})`, integer: true, ka: `(${v.name}): garp_lower_prio_delay '${st.args[0] ?? ''}' invalid - ignoring`, keeps: 'the global vrrp_garp_lower_prio_delay applies', unit: 'seconds' });
      if (n === null) return false;
      v.garpLowerPrioDelay = n;
      return true;
    },
    garp_lower_prio_repeat: (st, v) => {
      const n = garpRepeatLowerPrio(st, v.name);
      if (n === null) return false;
      v.garpLowerPrioRepeat = n;
      return true;
    },
    notify_master: (st, v) => { v.notifyMaster = notifyLine(r, st, `(${v.name})`, v.notifyMaster); },
    notify_backup: (st, v) => { v.notifyBackup = notifyLine(r, st, `(${v.name})`, v.notifyBackup); },
    notify_fault: (st, v) => { v.notifyFault = notifyLine(r, st, `(${v.name})`, v.notifyFault); },
    notify_stop: (st, v) => { v.notifyStop = notifyLine(r, st, `(${v.name})`, v.notifyStop); },
    notify: (st, v) => { v.notify = notifyLine(r, st, `(${v.name})`, v.notify); },
    notify_master_rx_lower_pri: (st, v) => {
      v.notifyMasterRxLowerPri = notifyLine(r, st, `(${v.name})`, v.notifyMasterRxLowerPri);
    },
    // vrrp_parser.c:1147-1160: the script is optional; the keyword alone switches FAULT to DELETED.
    notify_deleted: (st, v) => {
      if (v.notifyDeleted) {
        r.warn(loc(st), `(${v.name}) notify_deleted is given twice; keepalived keeps the first one and so does hakeep: remove one`);
        return;
      }
      v.notifyDeleted = { script: st.args.length > 0 ? notifyLine(r, st, `(${v.name})`, null) : null };
    },
    notify_priority_changes: (st, v) => {
      // vrrp_parser.c:1199-1214
      const b = kaBool(r, st, `(${v.name}) Invalid value '${st.args[0] ?? ''}' for notify_priority_changes specified`, 'the sync group\'s or global setting applies', `(${v.name})`);
      if (b === null) return false;
      v.notifyPriorityChanges = b;
      return true;
    },
    // vrrp_parser.c:1182-1198; unset, it is resolved in validate.ts (vrrp.c:3237-3244).
    smtp_alert: (st, v) => {
      const b = kaBool(r, st, `Invalid vrrp_instance smtp_alert parameter ${st.args[0] ?? ''}`, 'the global smtp_alert_vrrp/smtp_alert applies', `(${v.name})`);
      if (b === null) return false;
      v.smtpAlert = b;
      smtpAlertWritten.add(v);
      return true;
    },
    // vrrp_parser.c:1061-1076
    strict_mode: (st, v) => {
      const b = kaBool(r, st, `(${v.name}) invalid strict_mode ${st.args[0] ?? ''} specified`, `strict mode stays ${v.strictMode ? 'on (vrrp_strict)' : 'off'}`, `(${v.name})`);
      if (b === null) return false;
      v.strictMode = b;
      return true;
    },
    // accept/no_accept: the last one written wins; validate.ts resolves the default and warns.
    accept: (_st, v) => { v.accept = true; delete meta.at['no_accept']; },
    no_accept: (_st, v) => { v.accept = false; delete meta.at['accept']; },
    dont_track_primary: (_st, v) => { v.dontTrackPrimary = true; },
    // vrrp_parser.c:1043-1058: any valid boolean turns it ON (even off); an invalid one is ignored.
    skip_check_adv_addr: (st, v) => {
      const value = st.args[0];
      const b = kaBool(r, st, `(${v.name}) invalid skip_check_adv_addr ${value ?? ''} specified`, `skip_check_adv_addr stays ${v.skipCheckAdvAddr ? 'on (vrrp_skip_check_adv_addr)' : 'off'}`, `(${v.name})`);
      if (b === null) return false;
      if (!b) {
        r.warn(loc(st), `(${v.name}) skip_check_adv_addr ${value}: keepalived turns the option ON whatever value follows it, so does hakeep. Remove the line to leave it off`);
      }
      v.skipCheckAdvAddr = true;
      return true;
    },
    // vrrp_parser.c:1373-1406
    lower_prio_no_advert: (st, v) => {
      const b = kaBool(r, st, `(${v.name}) invalid lower_prio_no_advert ${st.args[0] ?? ''} specified`, 'the global vrrp_lower_prio_no_advert applies', `(${v.name})`);
      if (b === null) return false;
      v.lowerPrioNoAdvert = b;
      return true;
    },
    higher_prio_send_advert: (st, v) => {
      const b = kaBool(r, st, `(${v.name}) invalid higher_prio_send_advert ${st.args[0] ?? ''} specified`, 'the global vrrp_higher_prio_send_advert applies', `(${v.name})`);
      if (b === null) return false;
      v.higherPrioSendAdvert = b;
      return true;
    },
    // vrrp_parser.c:1327-1339
    down_timer_adverts: (st, v) => {
      const n = kaNumber(r, st, 1, 100, { who: `(${v.name})`, integer: true, ka: `(${v.name}): Invalid down_timer_adverts [1:100] '${st.args[0] ?? ''}'`, keeps: 'down_timer_adverts stays 3' });
      if (n === null) return false;
      v.downTimerAdverts = n;
      return true;
    },
    // vrrp_parser.c:1217-1231: deprecated; makes the global lvs_sync_daemon follow this instance.
    lvs_sync_daemon_interface: (st, v) => {
      const ifname = st.args[0];
      if (ifname === undefined) {
        r.error(loc(st), `(${v.name}) lvs_sync_daemon_interface needs an interface name: keepalived refuses a line without it; write lvs_sync_daemon IFNAME ${v.name || 'INSTANCE'} in global_defs`);
        return false;
      }
      r.warn(loc(st), `(${v.name}) lvs_sync_daemon_interface in a vrrp_instance is deprecated (keepalived says so too); hakeep runs it as lvs_sync_daemon ${ifname} ${v.name}: write that line in global_defs instead`);
      meta.lvsSyncDaemonInterface = { ifname, loc: loc(st) };
      return true;
    },
    use_vmac: (st, v) => {
      // keepalived (vrrp_parser.c vrrp_vmac_handler): up to two words, an interface name and/or a
      // MAC address (one with ':'). hakeep runs the name; a MAC of one's own is refused.
      let name = '';
      for (const w of st.args.slice(0, 2)) {
        if (w.includes(':')) {
          r.error(loc(st), `(${v.name}) use_vmac ${w}: a VMAC address of your own is not supported by hakeep; remove it (the VMAC then has the RFC 3768 address 00:00:5e:00:01:VRID, as on every other VRRP router)`);
          continue;
        }
        if (name !== '') {
          r.warn(loc(st), `(${v.name}) use_vmac: VMAC interface name already specified; keepalived ignores '${w}', so does hakeep`);
          continue;
        }
        if (w.length > 15 || !/^[^\s/]+$/.test(w) || w === '.' || w === '..') {
          r.warn(loc(st), `(${v.name}) use_vmac: VMAC interface name '${w}' too long or invalid characters; keepalived ignores it and uses vrrp.VRID, so does hakeep. Use a name of 1-15 characters without '/' or spaces`);
          continue;
        }
        name = w;
      }
      if (st.args.length > 2) r.warn(loc(st), `(${v.name}) use_vmac: '${st.args.slice(2).join(' ')}' ignored (the syntax is use_vmac [NAME])`);
      v.useVmac = name;
    },
    vmac_xmit_base: (_st, v) => { v.vmacXmitBase = true; },
    // src/config/routes.ts: keepalived's alloc_route/alloc_rule, each line validated; a refused
    // line is an error naming it, an accepted one a note saying what will be set on MASTER.
    virtual_routes: (st, v) => {
      const ctx = routeContext(r);
      for (const s of blockOf(r, st)) {
        const route = parseRoute(r, s, ctx.tables, `(${v.name}) virtual_routes`);
        if (route === null) continue;
        v.virtualRoutes.push(route);
        r.note(route.loc, `(${v.name}) virtual route ${describeRoute(route)}: added when ${v.name} becomes MASTER, removed when it leaves MASTER`);
      }
    },
    virtual_rules: (st, v) => {
      const ctx = routeContext(r);
      for (const s of blockOf(r, st)) {
        const rule = parseRule(r, s, ctx.tables, ctx.counter, `(${v.name}) virtual_rules`);
        if (rule === null) continue;
        v.virtualRules.push(rule);
        r.note(rule.loc, `(${v.name}) virtual rule ${describeRule(rule)}: added when ${v.name} becomes MASTER, removed when it leaves MASTER`);
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
      'use_ipvlan', 'track_bfd', 'track_src_ip',
      'unicast_fault_no_peer',
      'kernel_rx_buf_size', 'promote_secondaries', 'no_virtual_ipaddress', 'timer_expired_backup',
      'debug', 'linkbeat_use_polling', 'garp_extra_if', 'native_ipv6', 'old_unicast_checksum',
      'v3_checksum_as_v2',
    ],
    deprecated: { garp_lower_prio_refresh: 'garp_lower_prio_delay' },
  };
}

/**
 * `notify_* SCRIPT [USER [GROUP]]` as keepalived reads it (notify_script_init, lib/notify.c:1062-1101):
 * the first word is the whole command line (quoted when it has arguments), the second the user,
 * the third the group. A repeated keyword keeps the first one (vrrp_parser.c:1106-1108).
 */
export function notifyLine(r: Reporter, st: Statement, who: string, current: NotifyCmd | null): NotifyCmd | null {
  if (current) {
    // keepalived's words: "(VI_1) notify_master script already specified - ignoring /b.sh".
    const kaWho = who.startsWith('(') ? who : `vrrp group ${who.replace(/^vrrp_sync_group /, '').replace(/:$/, '')}:`;
    r.warn(loc(st), `${who} ${st.keyword} is given again; keepalived keeps the first one ('${current.command}') and ignores this one ("${kaWho} ${st.keyword}${st.keyword === 'notify_deleted' ? '' : ' script'} already specified - ignoring ${st.args[0] ?? ''}"), so does hakeep: remove the extra line`);
    return current;
  }
  const [command, user, group, ...rest] = st.args;
  if (command === undefined || command === '') {
    r.error(loc(st), `${who} ${st.keyword} needs a script (quote it when it has arguments: ${st.keyword} "/path/script arg")`);
    return null;
  }
  if (user !== undefined && !st.argTokens[0]?.quoted) {
    // keepalived reads the second word as a user, never as an argument: a config written as
    // `notify_master /x.sh arg` runs nothing there (unknown user 'arg'). Same here; say so.
    r.note(loc(st), `${who} ${st.keyword}: '${user}' is the user the script runs as (keepalived's syntax); if it is an argument, quote the command: ${st.keyword} "${[command, user, group].filter((w) => w !== undefined).join(' ')}"`);
  }
  if (rest.length > 0) r.warn(loc(st), `${who} ${st.keyword}: '${rest.join(' ')}' ignored (the syntax is ${st.keyword} "SCRIPT ARGS" [USER [GROUP]])`);
  return { command, user: user ?? null, ...(group !== undefined ? { group } : {}) };
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

/**
 * The command of a `script`/`process` line as one string for the script runner, which splits it
 * as keepalived does: one argument is passed as written (a quoted "cmd arg" holds the whole
 * command line); several are re-joined, quoting again the ones that were quoted.
 */
function commandOf(st: Statement): string {
  if (st.argTokens.length <= 1) return st.args[0] ?? '';
  return st.argTokens.map((t) => (t.quoted ? `"${t.text.replace(/(["\\])/g, '\\$1')}"` : t.text)).join(' ');
}

/** keepalived reads `interval`/`timeout` as whole seconds and turns 0 into 1 (vrrp_parser.c:1506-1544). */
function scriptSeconds(r: Reporter, st: Statement, name: string): number | null {
  if (st.args[0] !== undefined && /^0*(\.0*)?$/.test(st.args[0])) {
    r.warn(loc(st), `(${name}): vrrp script ${st.keyword} must be greater than 0: keepalived uses 1, so does hakeep. Write 1 or more`);
    return 1;
  }
  // vrrp_parser.c:1506-1541: anything else that is not a time is reported and the line ignored.
  const ka = st.keyword === 'interval'
    ? `(${name}): vrrp script interval '${st.args[0] ?? ''}' must be between 1 and 4294 - ignoring`
    : `(${name}): vrrp script timeout '${st.args[0] ?? ''}' invalid - ignoring`;
  return kaNumber(r, st, 0.001, 86400, { who: `vrrp_script ${name}:`, ka, keeps: st.keyword === 'interval' ? 'the interval stays 1 second' : 'the timeout stays the interval', unit: 'seconds' });
}

export function scriptSpec(r: Reporter, seen: { timeout: boolean; script: boolean }): BlockSpec<VrrpScript> {
  return {
    name: 'vrrp_script',
    handlers: {
      script: (st, s) => { seen.script = true; s.script = commandOf(st); if (!s.script) r.error(loc(st), 'script needs a command'); },
      interval: (st, s) => { s.interval = scriptSeconds(r, st, s.name) ?? s.interval; },
      timeout: (st, s) => {
        const t = scriptSeconds(r, st, s.name);
        if (t !== null) { seen.timeout = true; s.timeout = t; }
      },
      weight: (st, s) => {
        // vrrp_parser.c:1546-1561: an invalid weight is reported and becomes 0.
        s.weight = kaNumber(r, st, -253, 253, { who: `vrrp_script ${s.name}:`, integer: true, ka: `vrrp_script ${s.name} weight ${st.args[0] ?? ''} must be in [-253, 253]`, keeps: 'weight 0 is used (a failure puts the instances in FAULT)' }) ?? 0;
        const opt = st.args[1];
        if (opt === 'reverse') s.weightReverse = true;
        else if (opt !== undefined) r.warn(loc(st), `vrrp_script ${s.name} unknown weight option '${opt}': ignored, as keepalived does. Only 'reverse' may follow the weight`);
      },
      // vrrp_parser.c:1563-1585: "vrrp script rise value '…' invalid, defaulting to 1".
      rise: (st, s) => { s.rise = kaNumber(r, st, 1, 2_147_483_647, { who: `vrrp_script ${s.name}:`, integer: true, ka: `(${s.name}): vrrp script rise value '${st.args[0] ?? ''}' invalid, defaulting to 1`, keeps: 'rise 1 is used' }) ?? 1; },
      fall: (st, s) => { s.fall = kaNumber(r, st, 1, 2_147_483_647, { who: `vrrp_script ${s.name}:`, integer: true, ka: `(${s.name}): vrrp script fall value '${st.args[0] ?? ''}' invalid, defaulting to 1`, keeps: 'fall 1 is used' }) ?? 1; },
      user: (st, s) => { s.user = st.args.join(' ') || null; },
      init_fail: (_st, s) => { s.initFail = true; },
    },
  };
}

/** A weight line of a track_file/vrrp_track_process block: `weight N [reverse]`, -254..254. */
function blockWeight(r: Reporter, st: Statement, what: string, target: { weight: number; weightReverse: boolean }, unset: number): void {
  const v = st.args[0];
  if (v === undefined) {
    r.warn(loc(st), `No weight specified for ${what}: ignored, as keepalived does`);
    return;
  }
  if (target.weight !== unset) {
    r.warn(loc(st), `Weight already set for ${what}: keepalived ignores '${v}', so does hakeep. Keep one weight line`);
    return;
  }
  if (!/^[+-]?\d+$/.test(v) || Math.abs(Number(v)) > 254) {
    r.warn(loc(st), `Weight (${v}) for ${what} must be between -254 and 254: ignored, as keepalived does`);
    return;
  }
  target.weight = Number(v);
  const opt = st.args[1];
  if (opt === 'reverse') target.weightReverse = true;
  else if (opt !== undefined) r.warn(loc(st), `${what}: unknown weight option '${opt}': ignored, as keepalived does. Only 'reverse' may follow the weight`);
}

/**
 * `track_file NAME { … }` or its deprecated synonym `vrrp_track_file` (track_file.c:180-394).
 * null when keepalived would drop the block (no name, no file line).
 */
export function readTrackFile(r: Reporter, st: Statement): VrrpTrackFile | null {
  const name = st.args[0] ?? '';
  const t: VrrpTrackFile = { name, loc: loc(st), file: '', weight: 1, weightReverse: false, initFile: null };
  const what = `track_file ${name}`;
  if (st.keyword === 'vrrp_track_file') {
    r.note(loc(st), `'vrrp_track_file' is deprecated, please use 'track_file' (keepalived's words); it works the same`);
  }
  if (!name) r.error(loc(st), `${st.keyword} needs a name, e.g. track_file my_file { file /run/my_file }`);
  walkBlock(r, {
    name: st.keyword,
    handlers: {
      file: (s, f) => {
        const v = s.args[0];
        if (v === undefined) r.error(loc(s), `${what}: file name missing; write file /path/to/file`);
        else if (f.file) r.warn(loc(s), `File already set for ${what}: keepalived ignores ${v}, so does hakeep`);
        else f.file = v;
      },
      weight: (s, f) => blockWeight(r, s, what, f, 1),
      init_file: (s, f) => {
        // track_file.c:264-302: VALUE (default 0) and/or `overwrite`, in any order.
        const init = { value: 0, overwrite: false };
        for (const word of s.args) {
          if (/^[-\d]/.test(word)) {
            if (!/^-?\d+$/.test(word) || Math.abs(Number(word)) > 2_147_483_647) {
              r.warn(loc(s), `Track file ${name} init value ${word} is invalid: keepalived writes 0, so does hakeep`);
              init.value = 0;
            } else {
              init.value = Number(word);
              if (Math.abs(init.value) > 254) r.warn(loc(s), `Track file ${name} init value ${init.value} is outside sensible range [-254, 254]`);
            }
          } else if (word === 'overwrite') {
            init.overwrite = true;
          } else {
            r.warn(loc(s), `Unknown track file init option '${word}': ignored, as keepalived does. Write init_file [VALUE] [overwrite]`);
          }
        }
        f.initFile = init;
      },
    },
  }, blockOf(r, st), t);
  if (!t.file) {
    r.error(loc(st), `No file set for ${what}: keepalived ignores this block, so does hakeep (references to it are errors). Add file /path/to/file`);
    return null;
  }
  return name ? t : null;
}

/** `vrrp_track_process NAME { … }` (vrrp_parser.c:1628-1836). null when keepalived drops it. */
export function readTrackProcess(r: Reporter, st: Statement): VrrpTrackProcess | null {
  const name = st.args[0] ?? '';
  const what = `vrrp_track_process ${name}`;
  const t: VrrpTrackProcess = {
    name, loc: loc(st), process: '', params: [], paramMatch: 'none', fullCommand: false, quorum: 1, quorumMax: QUORUM_MAX_UNSET,
    forkDelay: 0, terminateDelay: 0, weight: 0, weightReverse: false,
  };
  if (!name) r.error(loc(st), 'vrrp_track_process needs a name, e.g. vrrp_track_process nginx { process nginx }');
  const delay = (which: 'both' | 'fork' | 'terminate') => (s: Statement, p: VrrpTrackProcess): void => {
    const v = s.args[0];
    const n = v !== undefined && /^(\d+(\.\d*)?|\.\d+)$/.test(v) ? Number(v) : NaN;
    if (!(n >= 0.000001 && n <= 3600)) {
      r.warn(loc(s), `${s.keyword} (${v ?? ''}) for ${what} must be between 0.000001 and 3600 seconds: ignored, as keepalived does`);
      return;
    }
    if (which !== 'fork') p.terminateDelay = n;
    if (which !== 'terminate') p.forkDelay = n;
  };
  walkBlock(r, {
    name: 'vrrp_track_process',
    handlers: {
      process: (s, p) => {
        const v = s.args[0];
        if (v === undefined) { r.error(loc(s), `${what}: process needs a name`); return; }
        if (p.process) { r.warn(loc(s), `Process already set for ${what}: keepalived ignores ${v}, so does hakeep`); return; }
        p.process = v;
        if (s.args.length > 1) {
          // Parameters written: match the command line, exactly unless param_match says otherwise.
          p.params = s.args.slice(1);
          if (p.paramMatch === 'none') p.paramMatch = 'exact';
          p.fullCommand = true;
        }
      },
      param_match: (s, p) => {
        const v = s.args[0];
        const m: ParamMatch | null = v === undefined ? 'exact' : v === 'initial' ? 'initial' : v === 'partial' ? 'partial' : null;
        if (m === null) { r.warn(loc(s), `Invalid param_match type '${v}': ignored, as keepalived does. Use initial or partial (or nothing for an exact match)`); return; }
        p.paramMatch = m;
        p.fullCommand = true;
      },
      weight: (s, p) => blockWeight(r, s, what, p, 0),
      quorum: (s, p) => {
        const v = s.args[0] ?? '';
        if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535) { r.warn(loc(s), `Quorum (${v}) for ${what} must be between 1 and 65535: ignored, as keepalived does`); return; }
        if (Number(v) > p.quorumMax) { r.warn(loc(s), `${what}: quorum ${v} is greater than quorum_max ${p.quorumMax}: ignored, as keepalived does`); return; }
        p.quorum = Number(v);
      },
      quorum_max: (s, p) => {
        const v = s.args[0] ?? '';
        if (!/^\d+$/.test(v) || Number(v) > 65535) { r.warn(loc(s), `quorum_max (${v}) for ${what} must be between 0 and 65535: ignored, as keepalived does`); return; }
        const n = Number(v);
        // quorum_max 0 (only while quorum is at most 1) means "must not run at all".
        if ((n > 0 || p.quorum > 1) && n < p.quorum) { r.warn(loc(s), `${what}: quorum_max ${n} is less than quorum ${p.quorum}: ignored, as keepalived does`); return; }
        p.quorumMax = n;
        if (n === 0) p.quorum = 0;
        else if (p.quorum === 0) p.quorum = 1;
      },
      delay: delay('both'),
      fork_delay: delay('fork'),
      terminate_delay: delay('terminate'),
      full_command: (_s, p) => { p.fullCommand = true; },
    },
  }, blockOf(r, st), t);
  if (!t.process) {
    r.error(loc(st), `track process '${name}' process name not specified: keepalived ignores this block, so does hakeep (references to it are errors). Add process NAME`);
    return null;
  }
  if (!t.fullCommand && Buffer.byteLength(t.process) > 15) {
    r.warn(loc(st), `${what}: '${t.process}' is longer than 15 bytes, but a process name (comm, what keepalived matches without full_command) is at most 15: it can never match. Write the first 15 bytes, or add full_command to match the command line`);
  }
  return name ? t : null;
}

/** keepalived's quorum_max default (UINT_MAX): no upper bound. */
export const QUORUM_MAX_UNSET = 4_294_967_295;

export function syncGroupSpec(r: Reporter): BlockSpec<VrrpSyncGroup> {
  return {
    name: 'vrrp_sync_group',
    handlers: {
      group: (st, g) => {
        // vrrp_parser.c:233-253: a second group block is reported and skipped.
        if (g.group.length > 0) {
          r.warn(loc(st), `vrrp_sync_group ${g.name}: a second group block: keepalived ignores it ("Group list already specified for sync group ${g.name}"), so does hakeep; the members stay ${g.group.join(' ')}. List all members in one group block`);
          return;
        }
        for (const s of blockOf(r, st)) g.group.push(s.keyword, ...s.args);
      },
      notify_master: (st, g) => { g.notifyMaster = notifyLine(r, st, `vrrp_sync_group ${g.name}:`, g.notifyMaster); },
      notify_backup: (st, g) => { g.notifyBackup = notifyLine(r, st, `vrrp_sync_group ${g.name}:`, g.notifyBackup); },
      notify_fault: (st, g) => { g.notifyFault = notifyLine(r, st, `vrrp_sync_group ${g.name}:`, g.notifyFault); },
      notify_stop: (st, g) => { g.notifyStop = notifyLine(r, st, `vrrp_sync_group ${g.name}:`, g.notifyStop ?? null); },
      notify: (st, g) => { g.notify = notifyLine(r, st, `vrrp_sync_group ${g.name}:`, g.notify); },
      notify_priority_changes: (st, g) => {
        // vrrp_parser.c:380-394
        const b = kaBool(r, st, `(${g.name}) Invalid value '${st.args[0] ?? ''}' for sync group notify_priority_changes specified`, 'the global vrrp_notify_priority_changes applies', `vrrp_sync_group ${g.name}:`);
        if (b !== null) g.notifyPriorityChanges = b;
      },
      track_script: (st, g) => { g.trackScript.push(...parseTrackScripts(r, st, g.name, g.trackScript)); },
      track_interface: (st, g) => { g.trackInterface.push(...parseTrackInterfaces(r, st, g.name, g.trackInterface)); },
      track_file: (st, g) => { (g.trackFile ??= []).push(...parseTrackFiles(r, st, g.name, g.trackFile ?? [])); },
      track_process: (st, g) => { (g.trackProcess ??= []).push(...parseTrackProcesses(r, st, g.name, g.trackProcess ?? [])); },
      sync_group_tracking_weight: (_st, g) => { g.trackingWeight = true; },
      global_tracking: (st, g) => {
        // vrrp_parser.c:366-373: deprecated, and it now means sync_group_tracking_weight.
        r.warn(loc(st), `(${g.name}) global_tracking is deprecated: keepalived treats it as sync_group_tracking_weight, so does hakeep. Use track_interface/track_script/track_file on the sync group instead`);
        g.trackingWeight = true;
      },
      // vrrp_parser.c:350-365; unset, it is resolved in validate.ts (vrrp.c:4108-4116).
      smtp_alert: (st, g) => {
        const b = kaBool(r, st, `Invalid vrrp_group smtp_alert parameter ${st.args[0] ?? ''}`, 'the global smtp_alert_vrrp/smtp_alert applies', `vrrp_sync_group ${g.name}:`);
        if (b === null) return;
        g.smtpAlert = b;
        smtpAlertWritten.add(g);
      },
    },
    notYet: ['track_bfd'],
  };
}
