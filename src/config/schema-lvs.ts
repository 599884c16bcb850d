// virtual_server, virtual_server_group, real_server and the checker blocks. Timing values cascade
// virtual_server → real_server → checker, resolved here so the checker reads final numbers.
import {
  LB_ALGOS, type Checker, type LbAlgo, type LbKind,
  type RealServer, type TunnelOptions, type VirtualServer, type VirtualServerGroup, type VsGroupEntry,
} from './model.js';
import { CHECKER_TYPES, readCheckers, timingHandlers, type InheritedTiming, type Timing } from './schema-checkers.js';
import type { Statement } from './parser.js';
import { blockOf, walkBlock, type BlockSpec } from './block.js';
import { arg, bool, int, ip, ipFamily, loc, notifyCmd, port, presentFlag, type Reporter } from './values.js';
import type { NotifyCmd, SourceLoc } from './model.js';
import { kaBool, kaNumber, where } from './lenient.js';
import { smtpAlertWritten } from './schema-vrrp.js';

// Specs are built once per load (they close over the Reporter), not once per real server: a
// 10,000-server config would otherwise spend most of its time building handler tables.
const specCache = new WeakMap<Reporter, Map<string, BlockSpec<never>>>();
function cached<T>(r: Reporter, key: string, make: () => BlockSpec<T>): BlockSpec<T> {
  let m = specCache.get(r);
  if (!m) specCache.set(r, (m = new Map()));
  let spec = m.get(key) as BlockSpec<T> | undefined;
  if (!spec) m.set(key, (spec = make()) as unknown as BlockSpec<never>);
  return spec;
}

const SCHED_FLAGS = ['flag-1', 'flag-2', 'flag-3', 'sh-port', 'sh-fallback', 'mh-port', 'mh-fallback'];

/**
 * What keepalived runs when a method word is not NAT, DR or TUN exactly (svr_forwarding_handler is
 * case-sensitive, check_parser.c:371-379): the server keeps the method it had (`kind`), described
 * by `what`; `server` is keepalived's word for the server ("virtual", "real", "sorry").
 */
interface KindFallback {
  kind: LbKind;
  what: string;
  server: 'virtual' | 'real' | 'sorry';
}

/**
 * `lb_kind NAT|DR|TUN [type ipip|gue|gre] [port N] [nocsum|csum|remcsum]`, with keepalived's rules
 * (check_parser.c:358-448 svr_forwarding_handler): the options default to ipip without checksum;
 * gue needs a port and only gue may have one; ipip takes no checksum option; gre no remcsum.
 * keepalived reports a bad option and keeps the previous tunnel settings; hakeep refuses it.
 */
function lbKindLine(r: Reporter, st: Statement, fallback: KindFallback): { kind: LbKind; tunnel: TunnelOptions | null } | null {
  const word = st.args[0] ?? '';
  const k = word.toUpperCase();
  if (word !== 'NAT' && word !== 'DR' && word !== 'TUN') {
    // keepalived: "PARSER : unknown [dr] routing method for virtual server." and the server keeps
    // its method (a virtual server without one becomes NAT: check_data.c:1186-1190). Following it
    // is right only when that is what the line says; otherwise the packets would be forwarded with
    // a method the author did not write (NAT for `dr`: real servers' replies must then come back
    // through this director), so hakeep refuses and says which word to write (README, "Where
    // hakeep refuses").
    const ka = `PARSER : unknown [${word}] routing method for ${fallback.server} server.`;
    const named = k === 'NAT' || k === 'DR' || k === 'TUN';
    if (named && k === fallback.kind) {
      r.warn(loc(st), `${st.keyword} '${word}': keepalived knows only NAT, DR and TUN in capitals ("${ka}") and keeps ${fallback.what}, which is ${k}, what this line says; so does hakeep. Write ${st.keyword} ${k}`);
      return null;
    }
    const head = named
      ? `${st.keyword} '${word}' is not valid (keepalived is case-sensitive: NAT, DR or TUN)`
      : `${st.keyword} '${word}' is not valid; use NAT, DR or TUN`;
    const fix = named ? `write ${st.keyword} ${k} for what this line says, or ${st.keyword} ${fallback.kind} for what keepalived runs` : `write ${st.keyword} NAT, DR or TUN`;
    r.error(loc(st), `${head}: keepalived reports "${ka}" and runs this ${fallback.server} server with ${fallback.what} (${fallback.kind})${named ? `, not ${k}` : ''}. hakeep refuses rather than forward with a method the line does not name: ${fix}`);
    return null;
  }
  const kind: LbKind = word;
  const opts = st.args.slice(1);
  if (opts.length === 0) return { kind, tunnel: kind === 'TUN' ? { type: 'ipip', port: 0, csum: 'nocsum' } : null };
  const t: TunnelOptions = { type: 'ipip', port: 0, csum: 'nocsum' };
  const bad = (msg: string): null => {
    r.error(loc(st), `${st.keyword} ${st.args.join(' ')}: ${msg}`);
    return null;
  };
  for (let i = 0; i < opts.length; i++) {
    const o = opts[i]!;
    if (o === 'type') {
      const v = opts[++i];
      if (v !== 'ipip' && v !== 'gue' && v !== 'gre') return bad(`tunnel type '${v ?? ''}' is not valid; use type ipip, gue or gre`);
      t.type = v;
    } else if (o === 'port') {
      const v = opts[++i];
      if (v === undefined || !/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535) return bad(`tunnel port '${v ?? ''}' is not valid; use 1-65535`);
      t.port = Number(v);
    } else if (o === 'nocsum' || o === 'csum' || o === 'remcsum') {
      t.csum = o;
    } else {
      return bad(`'${o}' is not a tunnel option; use type ipip|gue|gre, port N, nocsum, csum or remcsum`);
    }
  }
  if ((t.type === 'gue') !== (t.port !== 0)) return bad('gue tunnels require a port (type gue port 6080), and only gue tunnels take one (keepalived: "gue tunnels require port, otherwise cannot have port.")');
  if (t.type === 'ipip' && t.csum !== 'nocsum') return bad('ipip tunnels do not support a checksum option (keepalived refuses it too); remove it or use type gue/gre');
  if (t.type === 'gre' && t.csum === 'remcsum') return bad('gre tunnels do not support remcsum (keepalived refuses it too); use csum or nocsum');
  if (kind !== 'TUN') {
    r.warn(loc(st), `${st.keyword} ${kind}: tunnel options only apply to TUN; keepalived ignores them here, so does hakeep. Remove them`);
    return { kind, tunnel: null };
  }
  return { kind, tunnel: t };
}

/**
 * The IPv4 netmask inet_aton() reads from `text` (what keepalived's getaddrinfo and ipvsadm -M
 * both use): `255.255.255.0`, but also `24` = 0.0.0.24. Null when it is not one.
 */
export function inetAton(text: string): string | null {
  const parts = text.split('.');
  if (parts.length > 4 || parts.some((p) => !/^(0x[0-9a-f]+|0[0-7]*|[1-9]\d*)$/i.test(p))) return null;
  const nums = parts.map((p) => (/^0x/i.test(p) ? parseInt(p, 16) : p.length > 1 && p.startsWith('0') ? parseInt(p, 8) : Number(p)));
  const last = nums.pop()!;
  if (nums.some((n) => n > 255) || last >= 2 ** (8 * (4 - nums.length))) return null;
  let v = last;
  nums.forEach((n, i) => { v += n * 2 ** (8 * (3 - i)); });
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
}

// ── virtual_server_group ──────────────────────────────────────────────────────────────────────

export function readVsGroup(r: Reporter, st: Statement): VirtualServerGroup {
  const g: VirtualServerGroup = { name: st.args[0] ?? '', loc: loc(st), entries: [] };
  if (!g.name) r.error(loc(st), 'virtual_server_group needs a name');
  for (const s of blockOf(r, st)) {
    if (s.keyword === 'fwmark') {
      const mark = int(r, s, 1, 0xffffffff);
      const famWord = s.args[1];
      if (famWord !== undefined && famWord !== 'inet' && famWord !== 'inet6') {
        r.error(loc(s), `fwmark ${s.args[0] ?? ''} family '${famWord}' is not valid; use inet or inet6 (or leave it out)`);
        continue;
      }
      // Without a family word the service takes the virtual server's (ipvswrapper.c:469-474).
      if (mark !== null) {
        g.entries.push(famWord === undefined
          ? { kind: 'fwmark', fwmark: mark, family: 4 }
          : { kind: 'fwmark', fwmark: mark, family: famWord === 'inet6' ? 6 : 4, familySet: true });
      }
      continue;
    }
    // `a.b.c.d[-e] [port]` or `net/len [port]`; no port (or 0) is port 0 (keepalived 2.0.7+).
    const m = /^(\d+\.\d+\.\d+\.)(\d+)-(\d+)$/.exec(s.keyword);
    const p = s.args[0] === undefined ? 0 : port(r, s, s.args[0]);
    if (p === null) continue;
    if (m) {
      const lo = Number(m[2]);
      const hi = Number(m[3]);
      if (hi < lo || hi > 255) {
        r.error(loc(s), `address range '${s.keyword}' is not valid; write a.b.c.d-e with d <= e <= 255`);
        continue;
      }
      for (let i = lo; i <= hi; i++) g.entries.push({ kind: 'ip', ip: `${m[1]}${i}`, port: p, family: 4 });
      continue;
    }
    // IPv6 ranges vary the last group, in hex: `2001:db8::2-9`.
    const m6 = /^(.*:)([0-9a-fA-F]{1,4})-([0-9a-fA-F]{1,4})$/.exec(s.keyword);
    if (m6 && ipFamily(`${m6[1]}${m6[2]}`) === 6) {
      const lo = parseInt(m6[2]!, 16);
      const hi = parseInt(m6[3]!, 16);
      if (hi < lo) {
        r.error(loc(s), `address range '${s.keyword}' is not valid; the end must not be below the start`);
        continue;
      }
      for (let i = lo; i <= hi; i++) g.entries.push({ kind: 'ip', ip: `${m6[1]}${i.toString(16)}`, port: p, family: 6 });
      continue;
    }
    const [addr, len] = s.keyword.split('/');
    const fam = ipFamily(addr ?? '');
    if (!fam) {
      r.error(loc(s), `'${s.keyword}' is not an address, a range a.b.c.d-e, a prefix or 'fwmark N'`);
      continue;
    }
    if (len !== undefined) {
      const n = Number(len);
      if (fam !== 4 || !/^\d+$/.test(len) || n < 16 || n > 32) {
        r.error(loc(s), `prefix '${s.keyword}' in virtual_server_group: use an IPv4 /16../32 prefix`);
        continue;
      }
      const base = addr!.split('.').map(Number).reduce((a, b) => a * 256 + b, 0);
      const size = 2 ** (32 - n);
      const start = base - (base % size);
      for (let i = 0; i < size; i++) {
        const x = start + i;
        const e: VsGroupEntry = { kind: 'ip', ip: [x >>> 24, (x >>> 16) & 255, (x >>> 8) & 255, x & 255].join('.'), port: p, family: 4 };
        g.entries.push(e);
      }
      continue;
    }
    g.entries.push({ kind: 'ip', ip: addr!, port: p, family: fam });
  }
  return g;
}

// ── real_server ───────────────────────────────────────────────────────────────────────────────

interface RsDraft {
  rs: RealServer;
  /** The virtual server, read to its end (its lb_kind, for the real server's method lines). */
  vs: VirtualServer;
  timing: Timing;
  checkerStmts: Statement[];
}

/** `notify_up`/`quorum_up`…: a repeated one keeps the first (check_parser.c:750-770, 924-944). */
function firstNotify(r: Reporter, st: Statement, current: NotifyCmd | null, who: string): NotifyCmd | null {
  if (current) {
    r.warn(loc(st), `${who}: ${st.keyword} is given again; keepalived keeps the first one ('${current.command}') and ignores this one ("${st.keyword} script already specified - ignoring ${st.args[0] ?? ''}"), so does hakeep: remove the extra line`);
    return current;
  }
  return notifyCmd(r, st);
}

/**
 * The timing knobs of a virtual_server or real_server block as keepalived reads them there
 * (check_parser.c:246-302 and 772-833): a value out of range (a delay_loop or connect_timeout of 0,
 * a retry of 0, …) is reported and the line ignored, so the level above (or the default) applies.
 * `level` is keepalived's word: "virtual server" or "real server".
 */
function lenientTiming<T extends { timing: Timing }>(r: Reporter, level: 'virtual server' | 'real server'): Record<string, (st: Statement, t: T) => void> {
  const keeps = level === 'virtual server' ? 'the default applies' : "the virtual server's value applies";
  const t4294 = 4294.967295;
  return {
    delay_loop: (st, t) => {
      const ka = level === 'virtual server' ? `virtual server delay loop '${st.args[0] ?? ''}' invalid - ignoring` : `real server delay_loop '${st.args[0] ?? ''}' invalid - ignoring`;
      t.timing.delayLoop = kaNumber(r, st, 0.000001, 86400 * 365, { ka, keeps, unit: 'seconds', who: level }) ?? t.timing.delayLoop;
    },
    connect_timeout: (st, t) => {
      t.timing.connectTimeout = kaNumber(r, st, 0.000001, t4294, { ka: `${level} connect_timeout ${st.args[0] ?? ''} invalid - ignoring`, keeps, unit: 'seconds', who: level }) ?? t.timing.connectTimeout;
    },
    retry: (st, t) => {
      t.timing.retry = kaNumber(r, st, 1, 4294967295, { integer: true, ka: `retry value invalid - ${st.args[0] ?? ''}`, keeps, who: level }) ?? t.timing.retry;
    },
    delay_before_retry: (st, t) => {
      const ka = level === 'virtual server' ? `virtual server delay before retry '${st.args[0] ?? ''}' invalid - ignoring` : `real server delay_before_retry '${st.args[0] ?? ''}' invalid - ignoring`;
      t.timing.delayBeforeRetry = kaNumber(r, st, 0, 86400 * 365, { ka, keeps, unit: 'seconds', who: level }) ?? t.timing.delayBeforeRetry;
    },
    warmup: (st, t) => {
      t.timing.warmup = kaNumber(r, st, 0, 86400 * 365, { ka: `${level} warmup '${st.args[0] ?? ''}' invalid - ignoring`, keeps, unit: 'seconds', who: level }) ?? t.timing.warmup;
    },
  };
}

/** IPVS weights go through ipvsadm, which takes 0-65535 (keepalived's netlink takes up to 2^31-1). */
function weightAboveIpvsadm(r: Reporter, st: Statement): boolean {
  const v = st.args[0] ?? '';
  if (!/^\d+$/.test(v) || Number(v) <= 65535 || Number(v) > 2147483647) return false;
  r.error(loc(st), `weight ${v}: keepalived accepts up to 2147483647, but hakeep programs IPVS through ipvsadm, which takes at most 65535. Scale the weights down (only their ratios matter)`);
  return true;
}

function realServerSpec(r: Reporter): BlockSpec<RsDraft> {
  const rsName = (d: RsDraft): string => `real_server ${d.rs.ip} ${d.rs.port}`;
  const handlers: BlockSpec<RsDraft>['handlers'] = {
    ...timingHandlers<RsDraft>(r),
    ...lenientTiming<RsDraft>(r, 'real server'),
    // check_parser.c:689-702: 0-2147483647, else ignored (the virtual server's weight applies).
    weight: (st, d) => {
      if (weightAboveIpvsadm(r, st)) return;
      d.rs.weight = kaNumber(r, st, 0, 65535, { integer: true, ka: `Real server weight ${st.args[0] ?? ''} is outside range 0-2147483647`, keeps: `the virtual server's weight ${d.vs.weight ?? 1} is used`, who: rsName(d) }) ?? d.rs.weight;
    },
    // check_parser.c:835-850
    inhibit_on_failure: (st, d) => {
      const b = kaBool(r, st, `Invalid inhibit_on_failure parameter ${st.args[0] ?? ''}`, "the virtual server's inhibit_on_failure applies", rsName(d));
      if (b !== null) d.rs.inhibitOnFailure = b;
    },
    alpha: (st, d) => {
      const b = kaBool(r, st, `Invalid alpha parameter ${st.args[0] ?? ''}`, "the virtual server's alpha applies", rsName(d));
      if (b !== null) d.timing.alpha = b;
    },
    notify_up: (st, d) => { d.rs.notifyUp = firstNotify(r, st, d.rs.notifyUp, rsName(d)); },
    notify_down: (st, d) => { d.rs.notifyDown = firstNotify(r, st, d.rs.notifyDown, rsName(d)); },
    // check_parser.c:713-737
    uthreshold: (st, d) => { d.rs.uthreshold = kaNumber(r, st, 0, 4294967295, { integer: true, ka: `Invalid real_server uthreshold '${st.args[0] ?? ''}' - ignoring`, keeps: 'no upper threshold', who: rsName(d) }) ?? d.rs.uthreshold; },
    lthreshold: (st, d) => { d.rs.lthreshold = kaNumber(r, st, 0, 4294967295, { integer: true, ka: `Invalid real_server lthreshold '${st.args[0] ?? ''}' - ignoring`, keeps: 'no lower threshold', who: rsName(d) }) ?? d.rs.lthreshold; },
    // keepalived 2.2.7 reads a real server's own method only as lvs_method (check_parser.c:1048).
    lvs_method: (st, d) => {
      const k = lbKindLine(r, st, { kind: d.rs.lbKind ?? d.vs.lbKind, what: `the virtual server's method`, server: 'real' });
      if (k) { d.rs.lbKind = k.kind; d.rs.tunnel = k.tunnel; }
    },
    // keepalived 2.2.7 has no lb_kind in real_server ("Unknown keyword 'lb_kind'"): the real server
    // keeps the virtual server's method. Follow it when that is what the line says; refuse otherwise.
    lb_kind: (st, d) => {
      const vsKind = d.vs.lbKind;
      const says = (st.args[0] ?? '').toUpperCase();
      if (says === vsKind && st.args.length === 1) {
        r.warn(loc(st), `${rsName(d)}: keepalived 2.2.7 has no lb_kind inside real_server ("Unknown keyword 'lb_kind'") and ignores the line; the real server uses the virtual server's lb_kind ${vsKind}, which is what this line says; so does hakeep. Remove the line (or write lvs_method ${vsKind}, keepalived's keyword here)`);
        return;
      }
      const fix = says === 'NAT' || says === 'DR' || says === 'TUN' ? `write lvs_method ${[says, ...st.args.slice(1)].join(' ')} (keepalived's keyword for a real server's own method)` : 'write lvs_method NAT, DR or TUN';
      r.error(loc(st), `${rsName(d)}: keepalived 2.2.7 has no lb_kind inside real_server ("Unknown keyword 'lb_kind'") and ignores the line, so this real server would be forwarded with the virtual server's lb_kind ${vsKind}, not ${st.args.join(' ') || 'what you meant'}. hakeep refuses rather than guess: ${fix}, or remove the line`);
    },
    // check_parser.c:866-880; unset, resolved in validate.ts (check_data.c:1221-1231).
    smtp_alert: (st, d) => {
      const b = kaBool(r, st, `Invalid real_server smtp_alert parameter ${st.args[0] ?? ''}`, 'the global smtp_alert_checker/smtp_alert applies (on when neither is written)', rsName(d));
      if (b === null) return;
      d.rs.smtpAlert = b;
      smtpAlertWritten.add(d.rs);
    },
    virtualhost: (st, d) => { d.rs.virtualhost = arg(r, st, 'a host name'); },
  };
  for (const c of CHECKER_TYPES) handlers[c] = (st, d) => { d.checkerStmts.push(st); };
  return {
    name: 'real_server',
    handlers,
    deprecated: { nb_get_retry: 'retry' },
  };
}

// ── virtual_server ────────────────────────────────────────────────────────────────────────────

interface VsDraft {
  vs: VirtualServer;
  timing: Timing;
  protocolSet: boolean;
  /** Where a valid lb_kind was last written (keepalived keeps that method for an unknown word). */
  lbKindAt?: SourceLoc;
  /** A valid lb_algo was written. */
  lbAlgoSet?: boolean;
  /** An lb_kind line was written, valid or not (its own message covers an invalid one). */
  lbKindSeen?: boolean;
  rsStmts: Statement[];
  /**
   * What sets a fwmark/group virtual server's family, in file order (keepalived decides it as it
   * parses: ip_family, persistence_granularity and each real server's end, check_parser.c).
   */
  familyHints: { line: number; family: 4 | 6; what: string }[];
  granularityAt: SourceLoc | null;
}

function virtualServerSpec(r: Reporter): BlockSpec<VsDraft> {
  return {
    name: 'virtual_server',
    handlers: {
      ...timingHandlers<VsDraft>(r),
      ...lenientTiming<VsDraft>(r, 'virtual server'),
      // check_parser.c:304-318: an unknown scheduler is ignored; without one keepalived uses wlc
      // ("no scheduler set, setting default 'wlc'", check_data.c:1150-1154).
      lb_algo: (st, d) => {
        const a = st.args[0] ?? '';
        if ((LB_ALGOS as readonly string[]).includes(a)) { d.vs.lbAlgo = a as LbAlgo; d.lbAlgoSet = true; }
        else if (st.args[0] === undefined) arg(r, st, 'a scheduler');
        else r.warn(loc(st), `${st.keyword} '${a}' is not a scheduler ipvsadm knows (${LB_ALGOS.join(' ')}): keepalived ignores it ("Invalid lvs_scheduler '${a}' - ignoring"), so does hakeep; the service uses ${d.vs.lbAlgo}. Write one of those`);
      },
      lb_kind: (st, d) => {
        d.lbKindSeen = true;
        const k = lbKindLine(r, st, d.lbKindAt
          ? { kind: d.vs.lbKind, what: `the lb_kind written at ${where(d.lbKindAt)}`, server: 'virtual' }
          : { kind: 'NAT', what: 'keepalived\'s default ("no forwarding method set, setting default NAT")', server: 'virtual' });
        if (k) { d.vs.lbKind = k.kind; d.vs.tunnel = k.tunnel; d.lbKindAt = loc(st); }
      },
      // keepalived check_parser.c:972-982: the weight of real servers that have none of their own;
      // 1-2147483647, else ignored.
      weight: (st, d) => {
        if (weightAboveIpvsadm(r, st)) return;
        d.vs.weight = kaNumber(r, st, 1, 65535, { integer: true, ka: `Virtual server weight ${st.args[0] ?? ''} is outside range 1-2147483647`, keeps: `real servers without a weight get ${d.vs.weight ?? 1}`, who: 'virtual server' }) ?? d.vs.weight;
      },
      // check_parser.c:216-244: an unknown family is reported and ignored.
      ip_family: (st, d) => {
        const w = st.args[0];
        if (w !== 'inet' && w !== 'inet6') {
          if (w === undefined) { arg(r, st, 'inet or inet6'); return; }
          r.warn(loc(st), `ip_family '${w}' is not inet or inet6: keepalived ignores it ("unknown address family ${w}"), so does hakeep; the family comes from the real servers. Write ip_family inet or inet6`);
          return;
        }
        d.familyHints.push({ line: st.line, family: w === 'inet6' ? 6 : 4, what: `ip_family ${w}` });
      },
      // check_parser.c:495-507: the kernel keeps 15 characters (IP_VS_PENAME_MAXLEN 16 with the NUL).
      persistence_engine: (st, d) => {
        const name = arg(r, st, 'a persistence engine name, e.g. sip');
        if (name !== null && name.length > 15) {
          r.warn(loc(st), `persistence_engine ${name} is longer than 15 characters: keepalived truncates it to '${name.slice(0, 15)}' ("persistence_name too long, truncating - ${name}"), so does hakeep. Write the engine's name (sip)`);
          d.vs.persistenceEngine = name.slice(0, 15);
          return;
        }
        d.vs.persistenceEngine = name;
      },
      // check_parser.c:562-575 (case-insensitive); an unknown one is ignored, and a virtual server
      // left without a protocol is UDP (check_data.c:1104-1108).
      protocol: (st, d) => {
        const p = (st.args[0] ?? '').toUpperCase();
        if (d.vs.address.kind === 'fwmark') r.warn(loc(st), 'protocol has no effect on a fwmark virtual_server (the mark selects the traffic); keepalived ignores it too');
        if (p === 'TCP' || p === 'UDP' || p === 'SCTP') { d.vs.protocol = p; d.protocolSet = true; return; }
        if (st.args[0] === undefined) { arg(r, st, 'TCP, UDP or SCTP'); return; }
        const ka = `Unknown protocol ${st.args[0]} - ignoring`;
        if (d.protocolSet || d.vs.address.kind === 'fwmark') {
          r.warn(loc(st), `protocol '${st.args[0]}' is not TCP, UDP or SCTP: keepalived ignores it ("${ka}"), so does hakeep; ${d.vs.address.kind === 'fwmark' ? 'a fwmark service has no protocol' : `the protocol stays ${d.vs.protocol}`}. Remove the line`);
          return;
        }
        // Following keepalived would make this a UDP service: refuse (README, "Where hakeep refuses").
        r.error(loc(st), `protocol '${st.args[0]}' is not valid; use TCP, UDP or SCTP: keepalived ignores it ("${ka}") and, with no protocol left, runs the virtual server as UDP ("no protocol set - defaulting to UDP"). hakeep refuses rather than balance a protocol the line does not name: write protocol TCP, UDP or SCTP`);
      },
      // check_parser.c:480-493: no value means 360 s; 1-2678400 (31 days), anything else (0
      // included) is ignored: no persistence unless a line before set it.
      persistence_timeout: (st, d) => {
        if (st.args.length === 0) { d.vs.persistenceTimeout = 360; return; }
        const keeps = d.vs.persistenceTimeout === null ? 'the service has no persistence' : `persistence stays ${d.vs.persistenceTimeout} seconds`;
        const zero = st.args[0] === '0';
        const n = kaNumber(r, st, 1, 2678400, {
          integer: true, ka: 'persistence_timeout invalid', unit: 'seconds',
          keeps: zero && d.vs.persistenceTimeout === null ? 'the service has no persistence, which is what 0 means' : keeps,
          ...(zero ? { fix: 'Remove the line for no persistence, or write 1-2678400 seconds' } : {}),
        });
        if (n !== null) d.vs.persistenceTimeout = n;
      },
      persistence_granularity: (st, d) => { readGranularity(r, st, d); },
      ops: (_st, d) => { d.vs.ops = true; },
      sorry_server: (st, d) => {
        const a = ip(r, st, st.args[0]);
        const p = st.args[1] === undefined ? (d.vs.address.kind === 'fwmark' ? 0 : null) : port(r, st, st.args[1]);
        if (st.args[1] === undefined && p === null) r.error(loc(st), 'sorry_server needs an address and a port');
        if (a && p !== null) d.vs.sorryServer = { ip: a.ip, port: p, family: a.family };
      },
      // check_parser.c:634-652: before (or without) a sorry_server line these are ignored.
      sorry_server_inhibit: (st, d) => {
        if (!d.vs.sorryServer) {
          r.warn(loc(st), 'sorry_server_inhibit before (or without) sorry_server: keepalived ignores it ("Ignoring sorry_server inhibit used before or without sorry_server"), so does hakeep. Move it after the sorry_server line');
          return;
        }
        d.vs.sorryServerInhibit = bool(r, st);
      },
      sorry_server_lvs_method: (st, d) => {
        if (!d.vs.sorryServer) {
          r.warn(loc(st), 'sorry_server_lvs_method before (or without) sorry_server: keepalived ignores it ("sorry_server forwarding used without sorry_server"), so does hakeep; the sorry server uses the virtual server\'s lb_kind. Move it after the sorry_server line');
          return;
        }
        const k = lbKindLine(r, st, { kind: d.vs.sorryServerLbKind ?? d.vs.lbKind, what: "the virtual server's method", server: 'sorry' });
        if (k) { d.vs.sorryServerLbKind = k.kind; d.vs.sorryServerTunnel = k.tunnel; }
      },
      // check_parser.c:945-956: "Quorum 0 must be in [1, 4294967295]. Setting to 1."
      quorum: (st, d) => {
        d.vs.quorum = kaNumber(r, st, 1, 4294967295, { integer: true, ka: `Quorum ${st.args[0] ?? ''} must be in [1, 4294967295]. Setting to 1.`, keeps: 'quorum 1 is used (the service is up while at least weight 1 is alive)', fix: 'Write quorum 1 (the default), or remove the line' }) ?? 1;
      },
      // check_parser.c:957-969
      hysteresis: (st, d) => {
        d.vs.hysteresis = kaNumber(r, st, 0, 4294967295, { integer: true, ka: `Hysteresis ${st.args[0] ?? ''} must be in [0, 4294967295] - ignoring`, keeps: `hysteresis stays ${d.vs.hysteresis}` }) ?? d.vs.hysteresis;
      },
      quorum_up: (st, d) => { d.vs.quorumUp = firstNotify(r, st, d.vs.quorumUp, 'virtual_server'); },
      quorum_down: (st, d) => { d.vs.quorumDown = firstNotify(r, st, d.vs.quorumDown, 'virtual_server'); },
      omega: (_st, d) => { d.vs.omega = true; },
      ha_suspend: (_st, d) => { d.vs.haSuspend = true; },
      // check_parser.c:740-745, 948-952: at virtual_server level alpha and inhibit_on_failure are
      // flags; keepalived reads no value (`alpha off` turns it ON).
      inhibit_on_failure: (st, d) => { d.vs.inhibitOnFailure = presentFlag(r, st); },
      alpha: (st, d) => { d.timing.alpha = presentFlag(r, st); },
      // check_parser.c:580-596; unset, resolved in validate.ts (check_data.c:1157-1164).
      smtp_alert: (st, d) => {
        const b = kaBool(r, st, `Invalid virtual_server smtp_alert parameter ${st.args[0] ?? ''}`, 'the global smtp_alert_checker/smtp_alert applies', 'virtual_server');
        if (b === null) return;
        d.vs.smtpAlert = b;
        smtpAlertWritten.add(d.vs);
      },
      virtualhost: (st, d) => { d.vs.virtualhost = st.args[0] ?? null; },
      real_server: (st, d) => { d.rsStmts.push(st); },
      ...Object.fromEntries(SCHED_FLAGS.map((f) => [f, (st: Statement, d: VsDraft) => { schedFlag(r, st, d); }])),
      hashed: () => {},
    },
    deprecated: { lvs_sched: 'lb_algo', lvs_method: 'lb_kind' },
    notYet: ['snmp_name', 'retry_delay'],
  };
}

/**
 * sh-port/sh-fallback only mean something to the sh scheduler and mh-* to mh: keepalived keeps them
 * only when lb_algo (written before them) is that scheduler, else "… only applies to sh scheduler -
 * ignoring" (check_parser.c:322-355). ipvsadm itself refuses them with another scheduler.
 */
function schedFlag(r: Reporter, st: Statement, d: VsDraft): void {
  const f = st.keyword;
  const owner = f.startsWith('sh-') ? 'sh' : f.startsWith('mh-') ? 'mh' : null;
  if (owner !== null && d.vs.lbAlgo !== owner) {
    r.warn(loc(st), `${f} only applies to the ${owner} scheduler, and lb_algo is ${d.vs.lbAlgo} here (keepalived looks at the lb_algo written before it): keepalived ignores it, so does hakeep. Write lb_algo ${owner} before ${f}, or remove it`);
    return;
  }
  if (!d.vs.schedFlags.includes(f)) d.vs.schedFlags.push(f);
}

/**
 * keepalived check_parser.c:509-560 (pgr_handler): the family is the virtual server's when known,
 * else a dotted value is IPv4 and anything else IPv6 (which then sets the family). IPv6 takes a
 * prefix length 1-128; IPv4 whatever inet_aton reads (`24` is 0.0.0.24). It turns persistence on.
 */
function readGranularity(r: Reporter, st: Statement, d: VsDraft): void {
  const g = arg(r, st, 'a netmask');
  if (g === null) return;
  const a = d.vs.address;
  const known = a.kind === 'ip' ? a.family : [...d.familyHints].sort((x, y) => x.line - y.line)[0]?.family ?? null;
  const family = known ?? (g.includes('.') ? 4 : 6);
  if (family === 6) {
    if (!/^\d{1,3}$/.test(g) || Number(g) < 1 || Number(g) > 128) {
      r.warn(loc(st), `persistence_granularity '${g}' is not valid for an IPv6 virtual server: keepalived ignores it ("Invalid IPv6 persistence_granularity specified - ${g}"), so does hakeep. Write a prefix length 1-128`);
      return;
    }
    d.vs.persistenceGranularity = String(Number(g));
  } else {
    const mask = inetAton(g);
    if (mask === null) {
      r.warn(loc(st), `persistence_granularity '${g}' is not an IPv4 netmask: keepalived ignores it ("Invalid IPv4 persistence_granularity specified - ${g}"), so does hakeep. Write it dotted, e.g. 255.255.255.0`);
      return;
    }
    if (!g.includes('.')) {
      r.warn(loc(st), `persistence_granularity ${g} is read as the IPv4 netmask ${mask}, as keepalived and ipvsadm read it (an address, not a prefix length); for a /${g} write ${prefixMask(Number(g)) ?? 'the dotted netmask'}`);
    }
    d.vs.persistenceGranularity = mask;
  }
  if (known === null) d.familyHints.push({ line: st.line, family, what: `persistence_granularity ${g}` });
  d.granularityAt = loc(st);
}

function prefixMask(len: number): string | null {
  if (!Number.isInteger(len) || len < 0 || len > 32) return null;
  const v = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
}

export const NO_PROTOCOL = 'virtual_server has no protocol line; like keepalived this means UDP. Add `protocol TCP` if you meant TCP';

/** Where the DR/TUN port rule and other cross-checks need the real_server line. */
export function readVirtualServer(r: Reporter, st: Statement): VirtualServer | null {
  const l = loc(st);
  let address: VirtualServer['address'] | null = null;
  const [a0, a1] = st.args;
  if (a0 === 'fwmark') {
    const m = int(r, st, 1, 0xffffffff, a1);
    if (m !== null) address = { kind: 'fwmark', fwmark: m, family: st.args[2] === 'inet6' ? 6 : 4 };
  } else if (a0 === 'group') {
    if (!a1) r.error(l, 'virtual_server group needs a virtual_server_group name');
    else address = { kind: 'group', group: a1 };
  } else {
    const a = ip(r, st, a0, 'an address and a port (or fwmark N, or group NAME)');
    // No port is port 0, as in keepalived 2.0.7+ (check_data.c:797-800); see validate for what follows.
    const p = a1 === undefined ? 0 : port(r, st, a1);
    if (a && p !== null) address = { kind: 'ip', ip: a.ip, port: p, family: a.family };
  }
  if (!address) {
    // Keep reading the block so its own problems are reported too.
    address = { kind: 'ip', ip: '0.0.0.0', port: 0, family: 4 };
  }
  const d: VsDraft = {
    vs: {
      loc: l, address, delayLoop: 60, lbAlgo: 'wlc', lbKind: 'NAT', protocol: 'TCP', persistenceTimeout: null,
      persistenceGranularity: null, ops: false, schedFlags: [], sorryServer: null, sorryServerInhibit: false,
      sorryServerLbKind: null, quorum: 1, hysteresis: 0, quorumUp: null, quorumDown: null, alpha: false, omega: false,
      haSuspend: false, inhibitOnFailure: false, virtualhost: null, realServers: [], extra: {},
    },
    timing: {},
    protocolSet: false,
    rsStmts: [],
    familyHints: [],
    granularityAt: null,
  };
  // hakeep's own `virtual_server fwmark N inet6` (keepalived ignores the third word) counts as ip_family.
  if (a0 === 'fwmark' && (st.args[2] === 'inet6' || st.args[2] === 'inet')) {
    d.familyHints.push({ line: st.line, family: st.args[2] === 'inet6' ? 6 : 4, what: `virtual_server fwmark ${a1 ?? ''} ${st.args[2]}` });
  }
  walkBlock(r, cached(r, 'virtual_server', () => virtualServerSpec(r)), blockOf(r, st), d, d.vs.extra);
  const vs = d.vs;
  // check_data.c:1150-1154 and 1186-1190: keepalived names the defaults it fills in.
  if (!d.lbAlgoSet) r.note(l, `virtual_server without lb_algo: keepalived uses wlc ("no scheduler set, setting default 'wlc'"), so does hakeep`);
  if (!d.lbKindSeen) r.note(l, 'virtual_server without lb_kind: keepalived uses NAT ("no forwarding method set, setting default NAT"), so does hakeep');
  // A persistence_granularity turns persistence on (check_parser.c:558-559).
  if (vs.persistenceGranularity !== null && vs.persistenceTimeout === null) vs.persistenceTimeout = 360;
  if (!d.protocolSet && address.kind !== 'fwmark') {
    // keepalived 2.2.x picks UDP here, which surprises people: follow it, but say so. For a group,
    // only when it has address members (check_data.c:1101-1108): validate says so.
    vs.protocol = 'UDP';
    if (address.kind === 'ip') r.warn(l, NO_PROTOCOL);
    else vs.protocolDefaulted = true;
  }
  vs.delayLoop = d.timing.delayLoop ?? 60;
  vs.alpha = d.timing.alpha ?? false;
  // check_data.c:1199-1214: a real server takes what it does not set from its virtual server;
  // retry and delay_before_retry stay unset when neither writes them (each checker has its own default).
  const inherited: InheritedTiming & { alpha: boolean } = {
    delayLoop: vs.delayLoop,
    connectTimeout: d.timing.connectTimeout ?? 5,
    alpha: vs.alpha,
    ...(d.timing.retry !== undefined ? { retry: d.timing.retry } : {}),
    ...(d.timing.delayBeforeRetry !== undefined ? { delayBeforeRetry: d.timing.delayBeforeRetry } : {}),
    ...(d.timing.warmup !== undefined ? { warmup: d.timing.warmup } : {}),
  };
  for (const rst of d.rsStmts) {
    const rs = readRealServer(r, rst, vs, inherited);
    if (rs) vs.realServers.push(rs);
  }
  resolveFamily(r, vs, d);
  return vs;
}

/**
 * keepalived's vs->af: the address's for an ip virtual server; otherwise the first of ip_family,
 * persistence_granularity's form and the real servers that are not tunnelled, in file order
 * (check_parser.c:216-245, 509-560, 661-684); then a sorry server that is not tunnelled; then the
 * tunnelled servers when they agree; else undetermined, which means IPv4 (check_parser.c:160-214).
 * Real servers of the other family are skipped in validate, as keepalived skips them.
 */
function resolveFamily(r: Reporter, vs: VirtualServer, d: VsDraft): void {
  const a = vs.address;
  const kindOf = (k: LbKind | null): LbKind => k ?? vs.lbKind;
  if (a.kind === 'ip') {
    vs.family = a.family;
    for (const h of d.familyHints) {
      if (h.family !== a.family) r.warn({ file: vs.loc.file, line: h.line }, `${h.what} conflicts with the address family of virtual_server ${a.ip}: keepalived ignores it ("Virtual server specified family … conflicts with server family"), so does hakeep. Remove it`);
    }
    return;
  }
  const hints = [...d.familyHints];
  for (const rs of vs.realServers) {
    if (kindOf(rs.lbKind) !== 'TUN') hints.push({ line: rs.loc.line, family: rs.family, what: `real_server ${rs.ip}` });
  }
  hints.sort((x, y) => x.line - y.line);
  let family = hints[0]?.family;
  const s = vs.sorryServer;
  if (family === undefined && s && kindOf(vs.sorryServerLbKind) !== 'TUN') family = s.family;
  if (family === undefined) {
    const fams = new Set([...(s ? [s.family] : []), ...vs.realServers.map((x) => x.family)]);
    if (fams.size === 1) family = [...fams][0];
  }
  if (family !== undefined) vs.family = family;
  if (a.kind === 'fwmark') a.family = family ?? 4;
}

function readRealServer(
  r: Reporter, st: Statement, vs: VirtualServer,
  inherited: InheritedTiming & { alpha: boolean },
): RealServer | null {
  const l = loc(st);
  const a = ip(r, st, st.args[0], 'an address and a port');
  let p: number | null = 0;
  if (st.args[1] !== undefined) p = port(r, st, st.args[1]);
  else if (vs.address.kind === 'ip') p = vs.address.port; // keepalived lets the port default to the VS's
  if (!a || p === null) return null;
  const d: RsDraft = {
    vs,
    rs: {
      ip: a.ip, family: a.family, port: p, loc: l, weight: vs.weight ?? 1, inhibitOnFailure: vs.inhibitOnFailure,
      notifyUp: null, notifyDown: null, uthreshold: 0, lthreshold: 0, lbKind: null, alpha: inherited.alpha, checkers: [],
    },
    timing: {},
    checkerStmts: [],
  };
  walkBlock(r, cached(r, 'real_server', () => realServerSpec(r)), st.block ?? [], d);
  const retry = d.timing.retry ?? inherited.retry;
  const dbr = d.timing.delayBeforeRetry ?? inherited.delayBeforeRetry;
  const warmup = d.timing.warmup ?? inherited.warmup;
  const t: InheritedTiming = {
    delayLoop: d.timing.delayLoop ?? inherited.delayLoop,
    connectTimeout: d.timing.connectTimeout ?? inherited.connectTimeout,
    ...(retry !== undefined ? { retry } : {}),
    ...(dbr !== undefined ? { delayBeforeRetry: dbr } : {}),
    ...(warmup !== undefined ? { warmup } : {}),
  };
  d.rs.alpha = d.timing.alpha ?? inherited.alpha;
  for (const cst of d.checkerStmts) {
    d.rs.checkers.push(...readCheckers(r, cst, cst.keyword as Checker['type'], t));
  }
  return d.rs;
}
