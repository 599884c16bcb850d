// vrrp_instance, vrrp_sync_group and vrrp_script blocks.
import type {
  GlobalDefs, TrackInterfaceRef, TrackScriptRef, VipScope, VirtualIp, VrrpInstance, VrrpScript, VrrpSyncGroup,
} from './model.js';
import type { Statement } from './parser.js';
import { blockOf, walkBlock, type BlockSpec } from './block.js';
import { arg, bool, int, ip, ipFamily, loc, notifyCmd, seconds, type Reporter } from './values.js';

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
        if (v !== null && !ipFamily(v.split('/')[0]!)) r.error(loc(st), `peer '${v}' is not an IP address`);
        vip.peer = v;
        break;
      }
      case 'home': vip.home = true; break;
      case '-nodad': case 'nodad': vip.noDad = true; break;
      case 'noprefixroute': vip.noPrefixRoute = true; break;
      case 'no_track': vip.noTrack = true; break;
      case 'track': vip.noTrack = false; break;
      case 'mngtmpaddr': case 'autojoin': break;
      case 'preferred_lft': case 'valid_lft': next(); break;
      case 'use_vmac': case 'use_ipvlan': r.warn(loc(st), `'${w}' on a VIP is not implemented by hakeep yet; ignored`); break;
      default:
        r.error(loc(st), `unknown virtual_ipaddress option '${w}'; expected brd, dev, scope, label, peer, home, -nodad, noprefixroute or no_track`);
    }
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
    version: g.vrrpVersion, authType: null, authPass: null, virtualIpaddress: [], virtualIpaddressExcluded: [],
    virtualRoutes: [], virtualRules: [], trackInterface: [], trackScript: [], nopreempt: false, preemptDelay: 0,
    mcastSrcIp: null, mcastDstIp: null, unicastSrcIp: null, unicastPeers: [], unicastTtl: 255,
    garpMasterDelay: g.vrrpGarpMasterDelay, garpMasterRepeat: g.vrrpMinGarp ? 1 : g.vrrpGarpMasterRepeat,
    garpMasterRefresh: g.vrrpGarpMasterRefresh, garpMasterRefreshRepeat: g.vrrpGarpMasterRefreshRepeat,
    garpInterval: g.vrrpGarpInterval, garpLowerPrioDelay: g.vrrpGarpLowerPrioDelay,
    garpLowerPrioRepeat: g.vrrpGarpLowerPrioRepeat, notifyMaster: null, notifyBackup: null, notifyFault: null,
    notifyStop: null, notify: null, smtpAlert: false, strictMode: g.vrrpStrict, accept: null, dontTrackPrimary: false,
    skipCheckAdvAddr: g.vrrpSkipCheckAdvAddr, lowerPrioNoAdvert: g.vrrpLowerPrioNoAdvert,
    higherPrioSendAdvert: g.vrrpHigherPrioSendAdvert, downTimerAdverts: 3, useVmac: null, extra: {},
  };
}

/** Extra facts the validator needs about an instance (where a keyword was written). */
export interface InstanceMeta {
  stateLoc: { file: string; line: number } | null;
  nopreemptLoc: { file: string; line: number } | null;
  authPassLoc: { file: string; line: number } | null;
  hasVrid: boolean;
  hasInterface: boolean;
}

export function instanceSpec(r: Reporter, meta: InstanceMeta): BlockSpec<VrrpInstance> {
  return {
    name: 'vrrp_instance',
    handlers: {
      state: (st, v) => {
        meta.stateLoc = loc(st);
        const s = (st.args[0] ?? '').toUpperCase();
        if (s === 'MASTER' || s === 'BACKUP') v.initialState = s;
        else r.error(loc(st), `state '${st.args[0] ?? ''}' is not valid; use MASTER or BACKUP`);
      },
      interface: (st, v) => { v.interface = arg(r, st, 'an interface name') ?? ''; meta.hasInterface = true; },
      virtual_router_id: (st, v) => { meta.hasVrid = true; v.virtualRouterId = int(r, st, 1, 255) ?? 0; },
      priority: (st, v) => { v.priority = int(r, st, 1, 255) ?? v.priority; },
      advert_int: (st, v) => {
        const t = seconds(r, st, 0.01, 255);
        if (t !== null) v.advertInt = t;
      },
      version: (st, v) => {
        const n = int(r, st, 2, 3);
        if (n === 3) r.warn(loc(st), 'VRRP version 3 is not implemented by hakeep yet; the daemon will refuse to start this instance (use version 2)');
        if (n !== null) v.version = n as 2 | 3;
      },
      authentication: (st, v) => {
        for (const s of blockOf(r, st)) {
          if (s.keyword === 'auth_type') {
            const t = (s.args[0] ?? '').toUpperCase();
            if (t === 'PASS' || t === 'AH') v.authType = t;
            else r.error(loc(s), `auth_type '${s.args[0] ?? ''}' is not valid; use PASS or AH`);
            if (t === 'AH') r.warn(loc(s), 'auth_type AH is not implemented by hakeep yet; the daemon will refuse to start this instance (use PASS or no authentication)');
          } else if (s.keyword === 'auth_pass') {
            meta.authPassLoc = loc(s);
            v.authPass = s.args[0] ?? null;
            if (v.authPass === null) r.error(loc(s), 'auth_pass needs a password');
          } else {
            r.warn(loc(s), `Unknown keyword '${s.keyword}' in authentication, ignored; expected auth_type or auth_pass`);
          }
        }
      },
      virtual_ipaddress: (st, v) => { v.virtualIpaddress.push(...parseVipBlock(r, st)); },
      virtual_ipaddress_excluded: (st, v) => { v.virtualIpaddressExcluded.push(...parseVipBlock(r, st)); },
      track_interface: (st, v) => { v.trackInterface.push(...parseTrackInterfaces(r, st)); },
      track_script: (st, v) => { v.trackScript.push(...parseTrackScripts(r, st)); },
      nopreempt: (st, v) => { meta.nopreemptLoc = loc(st); v.nopreempt = true; },
      preempt: (_st, v) => { v.nopreempt = false; },
      preempt_delay: (st, v) => { v.preemptDelay = seconds(r, st, 0, 1000) ?? 0; },
      mcast_src_ip: (st, v) => { v.mcastSrcIp = ip(r, st, st.args[0])?.ip ?? null; },
      mcast_dst_ip: (st, v) => { v.mcastDstIp = ip(r, st, st.args[0])?.ip ?? null; },
      unicast_src_ip: (st, v) => { v.unicastSrcIp = ip(r, st, st.args[0])?.ip ?? null; },
      unicast_peer: (st, v) => {
        for (const s of blockOf(r, st)) {
          const a = ip(r, s, s.keyword);
          if (!a) continue;
          const peer = { address: a.ip, minTtl: null as number | null, maxTtl: null as number | null };
          for (let i = 0; i < s.args.length; i++) {
            if (s.args[i] === 'min_ttl') peer.minTtl = int(r, s, 0, 255, s.args[++i]);
            else if (s.args[i] === 'max_ttl') peer.maxTtl = int(r, s, 0, 255, s.args[++i]);
            else r.error(loc(s), `unicast_peer ${s.keyword}: unexpected '${s.args[i]}'; expected min_ttl N or max_ttl N`);
          }
          v.unicastPeers.push(peer);
        }
      },
      unicast_ttl: (st, v) => { v.unicastTtl = int(r, st, 1, 255) ?? 255; },
      garp_master_delay: (st, v) => { v.garpMasterDelay = int(r, st, 0, 86400) ?? v.garpMasterDelay; },
      garp_master_repeat: (st, v) => { v.garpMasterRepeat = int(r, st, 0, 255) ?? v.garpMasterRepeat; },
      garp_master_refresh: (st, v) => { v.garpMasterRefresh = int(r, st, 0, 86400) ?? v.garpMasterRefresh; },
      garp_master_refresh_repeat: (st, v) => { v.garpMasterRefreshRepeat = int(r, st, 0, 255) ?? v.garpMasterRefreshRepeat; },
      garp_interval: (st, v) => { v.garpInterval = seconds(r, st, 0, 1) ?? v.garpInterval; },
      garp_lower_prio_delay: (st, v) => { v.garpLowerPrioDelay = int(r, st, 0, 86400); },
      garp_lower_prio_repeat: (st, v) => { v.garpLowerPrioRepeat = int(r, st, 0, 255); },
      notify_master: (st, v) => { v.notifyMaster = notifyCmd(r, st); },
      notify_backup: (st, v) => { v.notifyBackup = notifyCmd(r, st); },
      notify_fault: (st, v) => { v.notifyFault = notifyCmd(r, st); },
      notify_stop: (st, v) => { v.notifyStop = notifyCmd(r, st); },
      notify: (st, v) => { v.notify = notifyCmd(r, st); },
      smtp_alert: (st, v) => { v.smtpAlert = bool(r, st); },
      strict_mode: (st, v) => { v.strictMode = bool(r, st); },
      accept: (_st, v) => { v.accept = true; },
      no_accept: (_st, v) => { v.accept = false; },
      dont_track_primary: (_st, v) => { v.dontTrackPrimary = true; },
      skip_check_adv_addr: (st, v) => { v.skipCheckAdvAddr = bool(r, st); },
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
    },
    notYet: [
      'use_vmac', 'vmac_xmit_base', 'use_ipvlan', 'track_file', 'track_process', 'track_bfd', 'track_src_ip',
      'notify_master_rx_lower_pri', 'notify_deleted', 'notify_priority_changes', 'unicast_fault_no_peer',
      'check_unicast_src', 'kernel_rx_buf_size', 'promote_secondaries', 'no_virtual_ipaddress', 'timer_expired_backup',
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
      smtp_alert: (st, g) => { g.smtpAlert = bool(r, st); },
    },
    notYet: ['notify_stop', 'track_file', 'track_process', 'track_bfd', 'global_tracking', 'sync_group_tracking_weight'],
  };
}
