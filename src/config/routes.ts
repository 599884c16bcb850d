// virtual_routes / virtual_rules (per vrrp_instance) and static_routes / static_rules /
// static_ipaddress (global): one line of the block → a validated model. Pure: no I/O (the
// routing-table names of /etc/iproute2/rt_tables come in as a map).
//
// What keepalived 2.2.7 does, followed here (read from its source, never copied):
//   - routes: vrrp_iproute.c alloc_route:1358-1905. Defaults: table main (254), scope global,
//     type unicast, family from the first address (IPv4 when none). The protocol is always
//     RTPROT_KEEPALIVED (18) unless the line says no_track (then `protocol` is honoured): "Route
//     cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol"
//     (vrrp_iproute.c:1869-1874). `gw` is a deprecated spelling of `via` (vrrp_iproute.c:1431-1436).
//     A destination may be preceded by `to` and by a route type (blackhole, unreachable, …), and
//     may be `default`/`any`/`all` (vrrp_ipaddress.c:436-446).
//   Not followed: keepalived's `inet`/`inet6` words also swallow the word after them (the handler
//   and the loop both step on), so `inet6 default via …` is refused there; hakeep reads them as
//   `ip` does.
//   - rules: vrrp_iprule.c alloc_rule:457-860. An action is required (table/lookup N, blackhole,
//     unreachable, prohibit, nop, goto N); without `preference|priority|order` keepalived assigns
//     16384, 16383, … per family, with a warning (vrrp_iprule.c:852-857); the protocol is
//     RTPROT_KEEPALIVED unless no_track (vrrp_iprule.c:833-839).
// Options keepalived accepts that hakeep does not encode are `-t` errors naming the option; they
// are never dropped silently. Spellings keepalived refuses (`proto`, `pref`) are refused too, with
// keepalived's spelling as the fix.
import { readFileSync } from 'node:fs';
import type { SourceLoc } from './model.js';
import type { Statement } from './parser.js';
import { ipFamily, loc, type Reporter } from './values.js';

export const RTPROT_KEEPALIVED = 18;
export const RT_TABLE_MAIN = 254;
/** vrrp_iprule.c:57 */
export const RULE_START_PRIORITY = 16384;

/** rtnetlink route types (linux/rtnetlink.h RTN_*) hakeep encodes. */
export const ROUTE_TYPES = { unicast: 1, blackhole: 6, unreachable: 7, prohibit: 8, throw: 9 } as const;
export type RouteType = keyof typeof ROUTE_TYPES;
/** keepalived's other route types (lib/rttables.c rtntypes): accepted by keepalived, refused here. */
const OTHER_ROUTE_TYPES = ['local', 'nat', 'broadcast', 'brd', 'anycast', 'multicast', 'xresolve'];

/** Scope names of /etc/iproute2/rt_scopes' defaults (lib/rttables.c rtscope_default). */
export const SCOPES: Readonly<Record<string, number>> = { global: 0, site: 200, link: 253, host: 254, nowhere: 255 };
/** Protocol names (lib/rttables.c rtprot_default). */
export const PROTOCOLS: Readonly<Record<string, number>> = {
  none: 0, redirect: 1, kernel: 2, boot: 3, static: 4, gated: 8, ra: 9, mrt: 10, zebra: 11, bird: 12,
  dnrouted: 13, xorp: 14, ntk: 15, dhcp: 16, keepalived: 18, babel: 42,
};
/** Table names every system has (lib/rttables.c rttable_default); rt_tables may add more. */
export const DEFAULT_TABLES: ReadonlyMap<string, number> = new Map([['default', 253], ['main', 254], ['local', 255]]);

export interface Prefix {
  family: 4 | 6;
  /** The address as written ('0.0.0.0' / '::' for default). */
  address: string;
  len: number;
}

/** One `nexthop via ADDR [dev IF] [weight N] [onlink]` of a multipath route (or an `or` address). */
export interface Nexthop {
  via: string | null;
  dev: string | null;
  /** 1-256 as written (the kernel's rtnh_hops is weight - 1); null = 1. */
  weight: number | null;
  onlink: boolean;
}

export interface RouteSpec {
  family: 4 | 6;
  type: RouteType;
  dst: Prefix;
  /** `src`: the preferred source address (RTA_PREFSRC). */
  src: string | null;
  /** `via` / `gw` (RTA_GATEWAY). */
  via: string | null;
  /** `dev` / `oif` (RTA_OIF, resolved when applied). */
  dev: string | null;
  metric: number | null;
  table: number;
  /** null = global, as keepalived (it does not pick link scope for a device route as `ip` does). */
  scope: number | null;
  protocol: number;
  onlink: boolean;
  /** `tos`/`dsfield` */
  tos: number;
  noTrack: boolean;
  /** Multipath next hops (RTA_MULTIPATH); empty = a single path (via/dev). */
  nexthops: Nexthop[];
  loc: SourceLoc;
}

export type RuleAction = 'table' | 'blackhole' | 'unreachable' | 'prohibit' | 'nop' | 'goto';
/** FR_ACT_* (linux/fib_rules.h) */
export const RULE_ACTIONS: Readonly<Record<RuleAction, number>> = { table: 1, goto: 2, nop: 3, blackhole: 6, unreachable: 7, prohibit: 8 };

export interface RuleSpec {
  family: 4 | 6;
  from: Prefix | null;
  to: Prefix | null;
  action: RuleAction;
  /** For action 'table'. */
  table: number | null;
  /** For action 'goto'. */
  gotoTarget: number | null;
  priority: number;
  invert: boolean;
  tos: number;
  fwmark: number | null;
  fwmask: number | null;
  iif: string | null;
  oif: string | null;
  protocol: number;
  noTrack: boolean;
  loc: SourceLoc;
}

/** Rule priorities keepalived gives rules written without one: 16384 downwards, per family, per load. */
export class RulePriorityCounter {
  private next = { 4: RULE_START_PRIORITY, 6: RULE_START_PRIORITY };
  take(family: 4 | 6): number {
    return this.next[family]--;
  }
}

/** Per config load: the table names, and the priority counter (keepalived resets it per load,
 * vrrp_daemon.c:846). Keyed by the load's Reporter so the shared schema code needs no new plumbing. */
export interface RouteContext {
  tables: ReadonlyMap<string, number>;
  counter: RulePriorityCounter;
}
const contexts = new WeakMap<Reporter, RouteContext>();

/** Where table names come from (keepalived: IPROUTE2_DIR "rt_tables", read on the first name). */
let rtTablesText = (): string => {
  try {
    return readFileSync('/etc/iproute2/rt_tables', 'utf8');
  } catch {
    return ''; // no file: the three names every system has
  }
};
/** Tests: table names from a string instead of /etc/iproute2/rt_tables. */
export function setRtTablesSource(read: () => string): void {
  rtTablesText = read;
}

export function routeContext(r: Reporter): RouteContext {
  let c = contexts.get(r);
  if (!c) {
    let tables: ReadonlyMap<string, number> | null = null;
    c = {
      get tables() { return (tables ??= parseRtTables(rtTablesText())); },
      counter: new RulePriorityCounter(),
    };
    contexts.set(r, c);
  }
  return c;
}

/** Parse /etc/iproute2/rt_tables text: `NUMBER NAME` lines, `#` comments. */
export function parseRtTables(text: string): Map<string, number> {
  const out = new Map(DEFAULT_TABLES);
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^(0x[0-9a-fA-F]+|\d+)\s+(\S+)/.exec(line);
    if (!m) continue;
    const id = Number(m[1]);
    if (id <= 0xffffffff) out.set(m[2]!, id);
  }
  return out;
}

/** keepalived's number reading (strtoul base 0: decimal, 0x hex, 0 octal), bounded. */
function readUnsigned(s: string | undefined, max: number): number | null {
  if (s === undefined) return null;
  let v: number;
  if (/^0x[0-9a-fA-F]+$/.test(s)) v = parseInt(s.slice(2), 16);
  else if (/^0[0-7]+$/.test(s)) v = parseInt(s.slice(1), 8);
  else if (/^\d+$/.test(s)) v = Number(s);
  else return null;
  return Number.isSafeInteger(v) && v <= max ? v : null;
}

function lookup(name: string | undefined, names: ReadonlyMap<string, number> | Readonly<Record<string, number>>, max: number): number | null {
  if (name === undefined) return null;
  const n = readUnsigned(name, max);
  if (n !== null) return n;
  const v = names instanceof Map ? names.get(name) : Object.hasOwn(names, name) ? (names as Record<string, number>)[name] : undefined;
  return v === undefined ? null : v;
}

/** `ADDR[/LEN]`, or default/any/all (family from context). */
export function parsePrefix(s: string, family: 4 | 6 | null): Prefix | null | 'bad-len' {
  if (s === 'default' || s === 'any' || s === 'all') {
    const f = family ?? 4;
    return { family: f, address: f === 4 ? '0.0.0.0' : '::', len: 0 };
  }
  const [a, l, extra] = s.split('/');
  if (extra !== undefined) return null;
  const f = ipFamily(a ?? '');
  if (!f) return null;
  const max = f === 4 ? 32 : 128;
  if (l === undefined) return { family: f, address: a!, len: max };
  if (!/^\d{1,3}$/.test(l) || Number(l) > max) return 'bad-len';
  return { family: f, address: a!, len: Number(l) };
}

const formatPrefix = (p: Prefix): string => (p.len === 0 && (p.address === '0.0.0.0' || p.address === '::') ? 'default' : p.len === (p.family === 4 ? 32 : 128) ? p.address : `${p.address}/${p.len}`);

/** Route options keepalived accepts that hakeep does not encode (vrrp_iproute.c alloc_route). */
const UNSUPPORTED_ROUTE_OPTIONS = new Set([
  'from', 'encap', 'expires', 'mtu', 'hoplimit', 'advmss', 'rtt', 'rttvar', 'reordering', 'window', 'cwnd', 'ssthresh',
  'realms', 'rto_min', 'initcwnd', 'initrwnd', 'features', 'quickack', 'congctl', 'pref', 'ttl-propagate',
  'fastopen_no_cookie', 'add', 'prepend', 'append', 'track_group', 'vrf', 'as',
]);

const ROUTE_VALUE_OPTIONS = new Set(['src', 'via', 'gw', 'dev', 'oif', 'metric', 'priority', 'preference', 'table', 'protocol', 'scope', 'tos', 'dsfield', 'to']);
const RULE_VALUE_OPTIONS = new Set(['from', 'to', 'table', 'lookup', 'preference', 'order', 'priority', 'tos', 'dsfield', 'fwmark', 'dev', 'iif', 'oif', 'protocol', 'goto', 'type']);

/** One `virtual_routes`/`static_routes` line. Errors go to `r` with the line; null = refused. */
export function parseRoute(r: Reporter, st: Statement, tables: ReadonlyMap<string, number>, where: string): RouteSpec | null {
  const words = [st.keyword, ...st.args];
  const at = loc(st);
  const fail = (msg: string): null => {
    r.error(at, `${where}: ${msg}; the route '${words.join(' ')}' is not applied`);
    return null;
  };
  let family: 4 | 6 | null = null;
  let dstWord: string | null = null;
  let type: RouteType = 'unicast';
  let src: string | null = null;
  let via: string | null = null;
  let dev: string | null = null;
  let metric: number | null = null;
  let table = RT_TABLE_MAIN;
  let scope: number | null = null;
  let protocol: number | null = null;
  let onlink = false;
  let tos = 0;
  let noTrack = false;
  const nexthops: Nexthop[] = [];
  const setFamily = (f: 4 | 6, what: string): boolean => {
    if (family === null) family = f;
    else if (family !== f) {
      fail(`cannot mix IPv4 and IPv6 addresses in one route (${what})`);
      return false;
    }
    return true;
  };

  for (let i = 0; i < words.length; i++) {
    if (words[i] === 'nexthop') {
      // vrrp_iproute.c parse_nexthops:1242-1352: the rest of the line is nexthop groups.
      if (nexthops.length > 0) return fail('cannot specify nexthops with an "or" route');
      while (i < words.length && words[i] === 'nexthop') {
        i++;
        const nh: Nexthop = { via: null, dev: null, weight: null, onlink: false };
        for (; i < words.length && words[i] !== 'nexthop'; i++) {
          const o = words[i]!;
          if ((o === 'via' || o === 'dev' || o === 'weight') && words[i + 1] === undefined) return fail(`nexthop '${o}' needs a value`);
          if (o === 'via') {
            let v = words[++i]!;
            if ((v === 'inet' || v === 'inet6') && words[i + 1] !== undefined) v = words[++i]!;
            const f = ipFamily(v);
            if (f === null) return fail(`invalid nexthop address '${v}'`);
            if (!setFamily(f, `nexthop via ${v}`)) return null;
            nh.via = v;
          } else if (o === 'dev') {
            const v = words[++i]!;
            if (v.length > 15) return fail(`interface name '${v}' is longer than 15 characters`);
            nh.dev = v;
          } else if (o === 'weight') {
            const raw = words[++i]!;
            const v = /^\d+$/.test(raw) ? readUnsigned(raw, 256) : null;
            if (v === null || v === 0) return fail(`invalid weight '${words[i]}' specified for route (1-256)`);
            nh.weight = v;
          } else if (o === 'onlink') {
            nh.onlink = true;
          } else if (o === 'encap' || o === 'realms' || o === 'as') {
            return fail(`nexthop option '${o}' is accepted by keepalived but not supported by hakeep`);
          } else {
            return fail(`route has trailing nonsense after nexthops - '${o}'`);
          }
        }
        if (nh.via === null && nh.dev === null) return fail('a nexthop needs via ADDRESS or dev IFNAME');
        nexthops.push(nh);
      }
      break;
    }
    const w = words[i]!;
    if (ROUTE_VALUE_OPTIONS.has(w) && words[i + 1] === undefined) return fail(`'${w}' needs a value`);
    const value = (): string | null => words[++i] ?? null;
    switch (w) {
      case 'inet': if (!setFamily(4, 'inet')) return null; break;
      case 'inet6': if (!setFamily(6, 'inet6')) return null; break;
      case 'src': {
        const v = value();
        const f = v === null ? null : ipFamily(v);
        if (f === null) return fail(`invalid route src address '${v ?? ''}' (write src ADDRESS)`);
        if (!setFamily(f, `src ${v}`)) return null;
        src = v;
        break;
      }
      case 'via': case 'gw': {
        if (w === 'gw') r.warn(at, `${where}: "gw" for routes is deprecated (keepalived says so too); write "via"`);
        let v = value();
        if (v === 'inet' || v === 'inet6') v = value(); // `via inet6 ADDR`: the family is the address's
        const f = v === null ? null : ipFamily(v);
        if (f === null) return fail(`invalid route via address '${v ?? ''}' (write via ADDRESS)`);
        if (family !== null && f !== family) return fail(`a via address of another family (RTA_VIA) is not supported by hakeep: ${v}`);
        family = f;
        via = v;
        break;
      }
      case 'dev': case 'oif': {
        const v = value();
        if (v === null) return fail(`'${w}' needs an interface name`);
        if (v.length > 15) return fail(`interface name '${v}' is longer than 15 characters`);
        dev = v;
        break;
      }
      case 'metric': case 'priority': case 'preference': {
        // get_u32: decimal only (keepalived refuses 0x10 here)
        const raw = value() ?? '';
        const v = /^\d+$/.test(raw) ? readUnsigned(raw, 0xffffffff) : null;
        if (v === null) return fail(`invalid metric '${raw}' (a decimal number 0-4294967295)`);
        metric = v;
        break;
      }
      case 'table': {
        const name = value();
        const v = lookup(name ?? undefined, tables, 0xffffffff);
        if (v === null) return fail(`routing table '${name ?? ''}' not found (a number, or a name in /etc/iproute2/rt_tables)`);
        table = v;
        break;
      }
      case 'protocol': {
        const name = value();
        const v = lookup(name ?? undefined, PROTOCOLS, 255);
        if (v === null) return fail(`protocol '${name ?? ''}' not found or invalid (0-255 or a name such as static)`);
        protocol = v;
        break;
      }
      case 'proto':
        return fail(`unknown route keyword 'proto' (keepalived refuses it too): write 'protocol ${words[i + 1] ?? 'N'}'`);
      case 'scope': {
        const name = value();
        const v = lookup(name ?? undefined, SCOPES, 255);
        if (v === null) return fail(`scope '${name ?? ''}' not found or invalid (global, site, link, host, nowhere or 0-255)`);
        scope = v;
        break;
      }
      case 'tos': case 'dsfield': {
        const v = readUnsigned(value() ?? undefined, 255);
        if (v === null) return fail(`TOS value '${words[i] ?? ''}' is invalid (a number 0-255; names from rt_dsfield are not read by hakeep)`);
        tos = v;
        break;
      }
      case 'onlink': onlink = true; break;
      case 'no_track': noTrack = true; break;
      case 'or': {
        // vrrp_iproute.c:1771-1797: the via address and this one become two next hops.
        r.warn(at, `${where}: "or" for routes is deprecated (keepalived says so too); write "nexthop via A nexthop via B"`);
        const v = words[++i];
        if (nexthops.length > 0) {
          r.warn(at, `${where}: "or" route already specified; keepalived ignores the later ones, so does hakeep`);
          break;
        }
        const f = v === undefined ? null : ipFamily(v);
        if (f === null) return fail(`invalid "or" address '${v ?? ''}'`);
        if (via === null) return fail('"or" needs a via address before it');
        if (!setFamily(f, `or ${v}`)) return null;
        nexthops.push({ via, dev: null, weight: null, onlink: false }, { via: v!, dev: null, weight: null, onlink: false });
        via = null;
        break;
      }
      default: {
        if (UNSUPPORTED_ROUTE_OPTIONS.has(w)) {
          return fail(`route option '${w}' is accepted by keepalived but not supported by hakeep (supported: src, via, dev, metric, table, scope, protocol, tos, onlink, no_track, a type blackhole|unreachable|prohibit|throw); remove it or keep keepalived for this route`);
        }
        let d = w;
        // keepalived reads `to DEST` or `TYPE DEST`, not `to TYPE DEST` (the type is then taken
        // for an address and refused).
        if (d === 'to') d = words[++i] ?? '';
        else if (Object.hasOwn(ROUTE_TYPES, d)) {
          type = d as RouteType;
          d = words[++i] ?? '';
        } else if (OTHER_ROUTE_TYPES.includes(d)) {
          return fail(`route type '${d}' is not supported by hakeep (supported: unicast, blackhole, unreachable, prohibit, throw)`);
        }
        if (d === 'default6') {
          r.warn(at, `${where}: 'default6' is deprecated (keepalived says so too); write 'inet6 default'`);
          if (!setFamily(6, 'default6')) return null;
          d = 'default';
        }
        if (dstWord !== null) return fail(`a second destination '${d}' (the first was '${dstWord}'); unknown route keyword?`);
        if (d === '') return fail('route must have a destination');
        const p = parsePrefix(d, family);
        if (p === 'bad-len') return fail(`'${d}': the prefix length is not valid for its family`);
        if (p === null) return fail(`unknown route keyword '${d}' (not an option, nor an address or prefix)`);
        if (d !== 'default' && d !== 'any' && d !== 'all' && !setFamily(p.family, d)) return null;
        dstWord = d;
        break;
      }
    }
  }
  if (dstWord === null) return fail('route must have a destination (ADDRESS[/LEN] or default)');
  const fam: 4 | 6 = family ?? 4;
  const dst = parsePrefix(dstWord, fam) as Prefix;
  if (dst.family !== fam) return fail(`cannot mix IPv4 and IPv6 addresses in one route (${dstWord})`);
  if (onlink && fam === 6) r.warn(at, `${where}: onlink on an IPv6 route: keepalived notes it is IPv4 only; the kernel decides`);
  if (nexthops.length > 0 && via !== null) return fail('via and nexthop together: put the address in a nexthop');
  if (type !== 'unicast' && (via !== null || dev !== null || nexthops.length > 0)) {
    return fail(`a ${type} route has no next hop: remove ${via !== null ? 'via' : 'dev'}`);
  }
  let proto = RTPROT_KEEPALIVED;
  if (protocol !== null) {
    if (noTrack) proto = protocol;
    else if (protocol !== RTPROT_KEEPALIVED) {
      // vrrp_iproute.c:1869-1874
      r.warn(at, `${where}: route cannot be tracked if protocol is not keepalived (18), resetting protocol to 18 as keepalived does; add no_track to keep protocol ${protocol}`);
    }
  }
  return { family: fam, type, dst, src, via, dev, metric, table, scope, protocol: proto, onlink, tos, noTrack, nexthops, loc: at };
}

/** Rule options keepalived accepts that hakeep does not encode (vrrp_iprule.c alloc_rule). */
const UNSUPPORTED_RULE_OPTIONS = new Set([
  'realms', 'suppress_prefixlength', 'sup_pl', 'suppress_ifgroup', 'sup_group', 'tunnel-id', 'uidrange', 'l3mdev',
  'ipproto', 'sport', 'dport', 'track_group',
]);

/** One `virtual_rules`/`static_rules` line. */
export function parseRule(r: Reporter, st: Statement, tables: ReadonlyMap<string, number>, counter: RulePriorityCounter, where: string): RuleSpec | null {
  const words = [st.keyword, ...st.args];
  const at = loc(st);
  const fail = (msg: string): null => {
    r.error(at, `${where}: ${msg}; the rule '${words.join(' ')}' is not applied`);
    return null;
  };
  let family: 4 | 6 | null = null;
  let fromWord: string | null = null;
  let toWord: string | null = null;
  let action: RuleAction | null = null;
  let table: number | null = null;
  let gotoTarget: number | null = null;
  let priority: number | null = null;
  let invert = false;
  let tos = 0;
  let fwmark: number | null = null;
  let fwmask: number | null = null;
  let iif: string | null = null;
  let oif: string | null = null;
  let protocol: number | null = null;
  let noTrack = false;
  const setAction = (a: RuleAction): boolean => {
    if (action !== null) {
      fail('cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable for a rule');
      return false;
    }
    action = a;
    return true;
  };
  const setFamily = (f: 4 | 6): boolean => {
    if (family === null) family = f;
    else if (family !== f) {
      fail('rule specification has mixed IPv4 and IPv6');
      return false;
    }
    return true;
  };

  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (RULE_VALUE_OPTIONS.has(w) && words[i + 1] === undefined) return fail(`'${w}' needs a value`);
    const value = (): string | undefined => words[++i];
    switch (w) {
      case 'inet': if (!setFamily(4)) return null; break;
      case 'inet6': if (!setFamily(6)) return null; break;
      case 'from': case 'to': {
        const v = value();
        const p = v === undefined ? null : parsePrefix(v, family);
        if (p === null || p === 'bad-len') return fail(`invalid rule ${w} address '${v ?? ''}' (write an address or prefix such as 192.168.100.0/24, or all)`);
        if (v !== 'all' && v !== 'any' && v !== 'default' && !setFamily(p.family)) return null;
        if (w === 'from') fromWord = v!;
        else toWord = v!;
        break;
      }
      case 'table': case 'lookup': {
        const name = value();
        const v = lookup(name, tables, 0xffffffff);
        if (v === null) return fail(`routing table '${name ?? ''}' not found for rule (a number, or a name in /etc/iproute2/rt_tables)`);
        if (v === 0) return fail('table 0 is not valid');
        if (!setAction('table')) return null;
        table = v;
        break;
      }
      case 'not': invert = true; break;
      case 'preference': case 'order': case 'priority': {
        const v = readUnsigned(value(), 0xffffffff);
        if (v === null) return fail(`invalid rule preference '${words[i] ?? ''}' (0-4294967295)`);
        priority = v;
        break;
      }
      case 'pref': case 'prio':
        return fail(`unknown rule option '${w}' (keepalived refuses it too): write 'preference ${words[i + 1] ?? 'N'}' or 'priority ${words[i + 1] ?? 'N'}'`);
      case 'tos': case 'dsfield': {
        const v = readUnsigned(value(), 255);
        if (v === null) return fail(`TOS value '${words[i] ?? ''}' is invalid (a number 0-255)`);
        tos = v;
        break;
      }
      case 'fwmark': {
        const v = value() ?? '';
        const [m, mask, extra] = v.split('/');
        const mark = readUnsigned(m, 0xffffffff);
        const mk = mask === undefined ? null : readUnsigned(mask, 0xffffffff);
        if (mark === null || extra !== undefined || (mask !== undefined && mk === null)) return fail(`invalid rule fwmark '${v}' (write N or N/MASK)`);
        fwmark = mark;
        fwmask = mk;
        break;
      }
      case 'dev': case 'iif': case 'oif': {
        const v = value();
        if (v === undefined) return fail(`'${w}' needs an interface name`);
        if (v.length > 15) return fail(`interface name '${v}' is longer than 15 characters`);
        if (w === 'oif') oif = v;
        else iif = v;
        break;
      }
      case 'protocol': {
        // vrrp_iprule.c:744-751: a number only; anything else is reported and the rule kept without it.
        const raw = value() ?? '';
        const v = /^\d+$/.test(raw) ? readUnsigned(raw, 255) : null;
        if (v === null) r.warn(at, `${where}: invalid protocol '${raw}' (a number 0-255); keepalived ignores it and keeps the rule, so does hakeep`);
        else protocol = v;
        break;
      }
      case 'no_track': noTrack = true; break;
      default: {
        if (UNSUPPORTED_RULE_OPTIONS.has(w)) {
          return fail(`rule option '${w}' is accepted by keepalived but not supported by hakeep (supported: from, to, table/lookup, not, preference/priority/order, tos, fwmark, iif/dev, oif, protocol, no_track, blackhole, unreachable, prohibit, nop, goto); remove it or keep keepalived for this rule`);
        }
        let a = w;
        if (a === 'type') a = value() ?? '';
        if (a === 'goto') {
          const v = readUnsigned(value(), 0xffffffff);
          if (v === null) return fail(`invalid goto target '${words[i] ?? ''}'`);
          if (!setAction('goto')) return null;
          gotoTarget = v;
        } else if (a === 'nop' || a === 'blackhole' || a === 'unreachable' || a === 'prohibit') {
          if (!setAction(a)) return null;
        } else if (OTHER_ROUTE_TYPES.includes(a) || a === 'unicast' || a === 'throw') {
          return fail(`invalid rule action '${a}'`);
        } else {
          return fail(`unknown rule option '${a}'`);
        }
      }
    }
  }
  if (action === null) return fail('no action specified for the rule (table N, blackhole, unreachable, prohibit, nop or goto N)');
  if (action === 'goto') {
    if (priority === null) return fail(`goto target ${gotoTarget} specified without preference`);
    if (priority >= gotoTarget!) return fail(`preference ${priority} >= goto target ${gotoTarget}`);
  }
  const fam: 4 | 6 = family ?? 4;
  const from = fromWord === null ? null : (parsePrefix(fromWord, fam) as Prefix);
  const to = toWord === null ? null : (parsePrefix(toWord, fam) as Prefix);
  if (priority === null) {
    priority = counter.take(fam);
    // vrrp_iprule.c:852-857
    r.warn(at, `${where}: rule has no preference, setting it to ${priority} as keepalived does; this is probably not what you want: add 'preference N'`);
  }
  let proto = RTPROT_KEEPALIVED;
  if (protocol !== null) {
    if (noTrack) proto = protocol;
    else if (protocol !== RTPROT_KEEPALIVED) {
      // vrrp_iprule.c:833-839
      r.warn(at, `${where}: rule cannot be tracked if protocol is not keepalived (18), resetting protocol to 18 as keepalived does; add no_track to keep protocol ${protocol}`);
    }
  }
  return { family: fam, from, to, action, table, gotoTarget, priority, invert, tos, fwmark, fwmask, iif, oif, protocol: proto, noTrack, loc: at };
}

const scopeName = (n: number): string => Object.entries(SCOPES).find(([, v]) => v === n)?.[0] ?? String(n);
const tableName = (n: number): string => [...DEFAULT_TABLES].find(([, v]) => v === n)?.[0] ?? String(n);

/** `ip route` style text: the key for reload diffs and the form in logs and `-t` notes. */
export function describeRoute(x: RouteSpec): string {
  const p: string[] = [];
  if (x.type !== 'unicast') p.push(x.type);
  p.push(formatPrefix(x.dst));
  if (x.family === 6 && x.dst.len === 0) p.unshift('inet6');
  if (x.via !== null) p.push('via', x.via);
  if (x.dev !== null) p.push('dev', x.dev);
  if (x.src !== null) p.push('src', x.src);
  p.push('table', tableName(x.table));
  if (x.metric !== null) p.push('metric', String(x.metric));
  if (x.scope !== null) p.push('scope', scopeName(x.scope));
  if (x.tos !== 0) p.push('tos', String(x.tos));
  p.push('protocol', String(x.protocol));
  if (x.onlink) p.push('onlink');
  for (const nh of x.nexthops) {
    p.push('nexthop');
    if (nh.via !== null) p.push('via', nh.via);
    if (nh.dev !== null) p.push('dev', nh.dev);
    if (nh.weight !== null) p.push('weight', String(nh.weight));
    if (nh.onlink) p.push('onlink');
  }
  return p.join(' ');
}

export function describeRule(x: RuleSpec): string {
  const p: string[] = [];
  if (x.family === 6) p.push('inet6');
  p.push('preference', String(x.priority));
  if (x.invert) p.push('not');
  const rulePrefix = (q: Prefix): string => (q.len === 0 ? 'all' : formatPrefix(q));
  p.push('from', x.from === null ? 'all' : rulePrefix(x.from));
  if (x.to !== null) p.push('to', rulePrefix(x.to));
  if (x.tos !== 0) p.push('tos', String(x.tos));
  if (x.fwmark !== null) p.push('fwmark', x.fwmask === null ? `0x${x.fwmark.toString(16)}` : `0x${x.fwmark.toString(16)}/0x${x.fwmask.toString(16)}`);
  if (x.iif !== null) p.push('iif', x.iif);
  if (x.oif !== null) p.push('oif', x.oif);
  if (x.action === 'table') p.push('table', tableName(x.table!));
  else if (x.action === 'goto') p.push('goto', String(x.gotoTarget));
  else p.push(x.action);
  p.push('protocol', String(x.protocol));
  return p.join(' ');
}
