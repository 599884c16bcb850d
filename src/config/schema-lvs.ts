// virtual_server, virtual_server_group, real_server and the checker blocks. Timing values cascade
// virtual_server → real_server → checker, resolved here so the checker reads final numbers.
import {
  LB_ALGOS, type Checker, type HttpCheck, type LbAlgo, type LbKind, type MiscCheck, type OtherCheck,
  type RealServer, type TcpCheck, type TunnelOptions, type VirtualServer, type VirtualServerGroup, type VsGroupEntry,
} from './model.js';
import type { Statement } from './parser.js';
import { blockOf, walkBlock, type BlockSpec } from './block.js';
import { arg, bool, int, ip, ipFamily, loc, notifyCmd, port, seconds, type Reporter } from './values.js';
import type { SourceLoc } from './model.js';

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

function lbKind(r: Reporter, st: Statement): LbKind | null {
  return lbKindLine(r, st)?.kind ?? null;
}

/**
 * `lb_kind NAT|DR|TUN [type ipip|gue|gre] [port N] [nocsum|csum|remcsum]`, with keepalived's rules
 * (check_parser.c:358-448 svr_forwarding_handler): the options default to ipip without checksum;
 * gue needs a port and only gue may have one; ipip takes no checksum option; gre no remcsum.
 * keepalived reports a bad option and keeps the previous tunnel settings; hakeep refuses it.
 */
function lbKindLine(r: Reporter, st: Statement): { kind: LbKind; tunnel: TunnelOptions | null } | null {
  const k = (st.args[0] ?? '').toUpperCase();
  if (k !== 'NAT' && k !== 'DR' && k !== 'TUN') {
    r.error(loc(st), `${st.keyword} '${st.args[0] ?? ''}' is not valid; use NAT, DR or TUN`);
    return null;
  }
  const opts = st.args.slice(1);
  if (opts.length === 0) return { kind: k, tunnel: k === 'TUN' ? { type: 'ipip', port: 0, csum: 'nocsum' } : null };
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
  if (k !== 'TUN') {
    r.warn(loc(st), `${st.keyword} ${k}: tunnel options only apply to TUN; keepalived ignores them here, so does hakeep. Remove them`);
    return { kind: k, tunnel: null };
  }
  return { kind: k, tunnel: t };
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

/** Timing knobs shared by every level of the cascade. Undefined = inherit. */
interface Timing {
  delayLoop?: number;
  connectTimeout?: number;
  retry?: number;
  delayBeforeRetry?: number;
  warmup?: number;
  alpha?: boolean;
}

function timingHandlers<T extends { timing: Timing }>(r: Reporter): Record<string, (st: Statement, t: T) => void> {
  return {
    delay_loop: (st, t) => { t.timing.delayLoop = seconds(r, st, 0.001, 86400) ?? undefined; },
    connect_timeout: (st, t) => { t.timing.connectTimeout = seconds(r, st, 0.001, 86400) ?? undefined; },
    retry: (st, t) => { t.timing.retry = int(r, st, 0, 1_000_000) ?? undefined; },
    delay_before_retry: (st, t) => { t.timing.delayBeforeRetry = seconds(r, st, 0, 86400) ?? undefined; },
    warmup: (st, t) => { t.timing.warmup = seconds(r, st, 0, 86400) ?? undefined; },
    alpha: (st, t) => { t.timing.alpha = bool(r, st); },
  };
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

// ── checkers ──────────────────────────────────────────────────────────────────────────────────

interface CheckerDraft {
  timing: Timing;
  fields: Record<string, unknown>;
  params: Record<string, string[]>;
}

function checkerSpec(r: Reporter, type: Checker['type'], inTcpCheck: boolean): BlockSpec<CheckerDraft> {
  const common: BlockSpec<CheckerDraft>['handlers'] = {
    ...timingHandlers<CheckerDraft>(r),
    connect_ip: (st, d) => { d.fields.connectIp = ip(r, st, st.args[0])?.ip ?? null; },
    connect_port: (st, d) => { d.fields.connectPort = port(r, st, st.args[0]); },
    bindto: (st, d) => { d.fields.bindto = ip(r, st, st.args[0])?.ip ?? null; },
    bind_port: (st, d) => { d.fields.bindPort = port(r, st, st.args[0]); },
    bind_if: (st, d) => { d.fields.bindIf = arg(r, st, 'an interface name'); },
    fwmark: (st, d) => { d.fields.fwmark = int(r, st, 0, 0xffffffff); },
    log_all_failures: (st, d) => { d.fields.logAllFailures = bool(r, st); },
  };
  if (inTcpCheck) {
    // keepalived only knows nb_get_retry under HTTP_GET/SSL_GET, but published TCP_CHECK configs
    // use it widely: accept it as `retry` and say so.
    common.nb_get_retry = (st, d) => {
      r.warn(loc(st), "'nb_get_retry' is an old name for 'retry' (keepalived ignores it inside TCP_CHECK; hakeep applies it as retry)");
      common.retry!({ ...st, keyword: 'retry' }, d);
    };
    return { name: type, handlers: common };
  }
  switch (type) {
    case 'HTTP_GET':
    case 'SSL_GET':
      return {
        name: type,
        handlers: {
          ...common,
          url: (st, d) => {
            const u = { path: '', digest: null as string | null, statusCode: null as string | null, virtualhost: null as string | null, regex: null as string | null };
            for (const s of blockOf(r, st)) {
              if (s.keyword === 'path') u.path = s.args.join(' ');
              else if (s.keyword === 'digest') u.digest = s.args[0] ?? null;
              else if (s.keyword === 'status_code') u.statusCode = s.args.join(' ');
              else if (s.keyword === 'virtualhost') u.virtualhost = s.args[0] ?? null;
              else if (s.keyword === 'regex') u.regex = s.args.join(' ');
              else if (['regex_no_match', 'regex_options', 'regex_stack', 'regex_max_offset', 'regex_min_offset'].includes(s.keyword)) continue;
              else r.warn(loc(s), `Unknown keyword '${s.keyword}' in url, ignored`);
            }
            if (!u.path) r.error(loc(st), 'url needs a path');
            ((d.fields.urls ??= []) as unknown[]).push(u);
          },
          http_protocol: (st, d) => { d.fields.httpProtocol = st.args[0] ?? null; },
          virtualhost: (st, d) => { d.fields.virtualhost = st.args[0] ?? null; },
          enable_sni: (st, d) => { d.fields.enableSni = bool(r, st); },
          sni_name: (st, d) => { d.fields.sniName = st.args[0] ?? null; },
          fast_recovery: () => {},
          tls_compliant: () => {},
        },
        deprecated: { nb_get_retry: 'retry' },
      };
    case 'MISC_CHECK':
      return {
        name: type,
        handlers: {
          ...timingHandlers<CheckerDraft>(r),
          misc_path: (st, d) => { d.fields.miscPath = st.args.join(' '); },
          misc_timeout: (st, d) => { d.fields.miscTimeout = seconds(r, st, 0.001, 86400); },
          misc_dynamic: (_st, d) => { d.fields.miscDynamic = true; },
          user: (st, d) => { d.fields.user = st.args.join(' ') || null; },
        },
      };
    default: {
      // Other checkers: keep every keyword raw; their own handlers come when they are implemented.
      const raw = (st: Statement, d: CheckerDraft): void => { d.params[st.keyword] = st.block ? st.block.map((s) => [s.keyword, ...s.args].join(' ')) : st.args; };
      const extraKw: Record<string, string[]> = {
        SMTP_CHECK: ['helo_name', 'host'],
        DNS_CHECK: ['type', 'name'],
        UDP_CHECK: ['payload', 'require_reply', 'min_reply_length', 'max_reply_length'],
        PING_CHECK: [],
        FILE_CHECK: ['track_file', 'dynamic', 'weight'],
        BFD_CHECK: ['name'],
      };
      const handlers: BlockSpec<CheckerDraft>['handlers'] = { ...common };
      for (const k of extraKw[type] ?? []) handlers[k] = raw;
      return { name: type, handlers };
    }
  }
}

function readChecker(r: Reporter, st: Statement, type: Checker['type'], inherited: Required<Omit<Timing, 'warmup'>> & { warmup?: number }, logAll: boolean): Checker {
  const d: CheckerDraft = { timing: {}, fields: {}, params: {} };
  walkBlock(r, cached(r, `checker:${type}`, () => checkerSpec(r, type, type === 'TCP_CHECK')), st.block ?? [], d, d.params);
  const retryDefault = type === 'MISC_CHECK' ? 0 : type === 'DNS_CHECK' ? 3 : inherited.retry;
  const t = {
    connectTimeout: d.timing.connectTimeout ?? inherited.connectTimeout,
    retry: d.timing.retry ?? retryDefault,
    delayBeforeRetry: d.timing.delayBeforeRetry ?? (type === 'HTTP_GET' || type === 'SSL_GET' ? Math.max(inherited.delayBeforeRetry, 3) : inherited.delayBeforeRetry),
    delayLoop: d.timing.delayLoop ?? inherited.delayLoop,
    warmup: d.timing.warmup ?? inherited.warmup ?? null,
  };
  const f = d.fields;
  const l = loc(st);
  switch (type) {
    case 'TCP_CHECK': {
      const c: TcpCheck = {
        type, ...t, connectIp: (f.connectIp as string) ?? null, connectPort: (f.connectPort as number) ?? null,
        bindto: (f.bindto as string) ?? null, bindPort: (f.bindPort as number) ?? null, bindIf: (f.bindIf as string) ?? null,
        alpha: d.timing.alpha ?? null, fwmark: (f.fwmark as number) ?? null, logAllFailures: (f.logAllFailures as boolean) ?? logAll, loc: l,
      };
      return c;
    }
    case 'HTTP_GET':
    case 'SSL_GET': {
      const c: HttpCheck = {
        type, ...t, urls: (f.urls as HttpCheck['urls']) ?? [], connectIp: (f.connectIp as string) ?? null,
        connectPort: (f.connectPort as number) ?? null, bindto: (f.bindto as string) ?? null, bindPort: (f.bindPort as number) ?? null,
        httpProtocol: (f.httpProtocol as string) ?? null, virtualhost: (f.virtualhost as string) ?? null,
        enableSni: (f.enableSni as boolean) ?? false, sniName: (f.sniName as string) ?? null, loc: l,
      };
      if (c.urls.length === 0) r.error(l, `${type} needs at least one url { path … } block`);
      return c;
    }
    case 'MISC_CHECK': {
      const c: MiscCheck = {
        type, ...t, miscPath: (f.miscPath as string) ?? '', miscTimeout: (f.miscTimeout as number) ?? null,
        miscDynamic: (f.miscDynamic as boolean) ?? false, user: (f.user as string) ?? null, loc: l,
      };
      if (!c.miscPath) r.error(l, 'MISC_CHECK needs misc_path "command args"');
      return c;
    }
    default: {
      const c: OtherCheck = { type, params: d.params, connectTimeout: t.connectTimeout, retry: t.retry, delayBeforeRetry: t.delayBeforeRetry, delayLoop: t.delayLoop, loc: l };
      return c;
    }
  }
}

const CHECKERS = ['TCP_CHECK', 'HTTP_GET', 'SSL_GET', 'MISC_CHECK', 'SMTP_CHECK', 'DNS_CHECK', 'UDP_CHECK', 'PING_CHECK', 'FILE_CHECK', 'BFD_CHECK'] as const;

// ── real_server ───────────────────────────────────────────────────────────────────────────────

interface RsDraft {
  rs: RealServer;
  timing: Timing;
  checkerStmts: Statement[];
}

function realServerSpec(r: Reporter): BlockSpec<RsDraft> {
  const handlers: BlockSpec<RsDraft>['handlers'] = {
    ...timingHandlers<RsDraft>(r),
    weight: (st, d) => { d.rs.weight = int(r, st, 0, 65535) ?? 1; },
    inhibit_on_failure: (st, d) => { d.rs.inhibitOnFailure = bool(r, st); },
    notify_up: (st, d) => { d.rs.notifyUp = notifyCmd(r, st); },
    notify_down: (st, d) => { d.rs.notifyDown = notifyCmd(r, st); },
    uthreshold: (st, d) => { d.rs.uthreshold = int(r, st, 0, 0x7fffffff) ?? 0; },
    lthreshold: (st, d) => { d.rs.lthreshold = int(r, st, 0, 0x7fffffff) ?? 0; },
    lb_kind: (st, d) => {
      const k = lbKindLine(r, st);
      if (k) { d.rs.lbKind = k.kind; d.rs.tunnel = k.tunnel; }
    },
    virtualhost: () => {},
  };
  for (const c of CHECKERS) handlers[c] = (st, d) => { d.checkerStmts.push(st); };
  return {
    name: 'real_server',
    handlers,
    deprecated: { lvs_method: 'lb_kind', nb_get_retry: 'retry' },
    notYet: ['smtp_alert'],
  };
}

// ── virtual_server ────────────────────────────────────────────────────────────────────────────

interface VsDraft {
  vs: VirtualServer;
  timing: Timing;
  protocolSet: boolean;
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
      lb_algo: (st, d) => {
        const a = st.args[0] ?? '';
        if ((LB_ALGOS as readonly string[]).includes(a)) d.vs.lbAlgo = a as LbAlgo;
        else r.error(loc(st), `${st.keyword} '${a}' is not a scheduler ipvsadm knows; use one of ${LB_ALGOS.join(' ')}`);
      },
      lb_kind: (st, d) => {
        const k = lbKindLine(r, st);
        if (k) { d.vs.lbKind = k.kind; d.vs.tunnel = k.tunnel; }
      },
      // keepalived check_parser.c:972-982: the weight of real servers that have none of their own.
      weight: (st, d) => { d.vs.weight = int(r, st, 1, 65535) ?? d.vs.weight; },
      ip_family: (st, d) => {
        const w = st.args[0];
        if (w !== 'inet' && w !== 'inet6') {
          r.error(loc(st), `ip_family '${w ?? ''}' is not valid; use inet or inet6`);
          return;
        }
        d.familyHints.push({ line: st.line, family: w === 'inet6' ? 6 : 4, what: `ip_family ${w}` });
      },
      persistence_engine: (st, d) => { d.vs.persistenceEngine = arg(r, st, 'a persistence engine name, e.g. sip'); },
      protocol: (st, d) => {
        const p = (st.args[0] ?? '').toUpperCase();
        if (d.vs.address.kind === 'fwmark') r.warn(loc(st), 'protocol has no effect on a fwmark virtual_server (the mark selects the traffic); keepalived ignores it too');
        if (p === 'TCP' || p === 'UDP' || p === 'SCTP') { d.vs.protocol = p; d.protocolSet = true; }
        else r.error(loc(st), `protocol '${st.args[0] ?? ''}' is not valid; use TCP, UDP or SCTP`);
      },
      persistence_timeout: (st, d) => {
        d.vs.persistenceTimeout = st.args.length === 0 ? 360 : int(r, st, 1, 0x7fffffff);
      },
      persistence_granularity: (st, d) => { readGranularity(r, st, d); },
      ops: (_st, d) => { d.vs.ops = true; },
      sorry_server: (st, d) => {
        const a = ip(r, st, st.args[0]);
        const p = st.args[1] === undefined ? (d.vs.address.kind === 'fwmark' ? 0 : null) : port(r, st, st.args[1]);
        if (st.args[1] === undefined && p === null) r.error(loc(st), 'sorry_server needs an address and a port');
        if (a && p !== null) d.vs.sorryServer = { ip: a.ip, port: p, family: a.family };
      },
      sorry_server_inhibit: (st, d) => { d.vs.sorryServerInhibit = bool(r, st); },
      sorry_server_lvs_method: (st, d) => {
        const k = lbKindLine(r, st);
        if (k) { d.vs.sorryServerLbKind = k.kind; d.vs.sorryServerTunnel = k.tunnel; }
      },
      quorum: (st, d) => { d.vs.quorum = int(r, st, 1, 0x7fffffff) ?? 1; },
      hysteresis: (st, d) => { d.vs.hysteresis = int(r, st, 0, 0x7fffffff) ?? 0; },
      quorum_up: (st, d) => { d.vs.quorumUp = notifyCmd(r, st); },
      quorum_down: (st, d) => { d.vs.quorumDown = notifyCmd(r, st); },
      omega: (_st, d) => { d.vs.omega = true; },
      ha_suspend: (_st, d) => { d.vs.haSuspend = true; },
      inhibit_on_failure: (st, d) => { d.vs.inhibitOnFailure = bool(r, st); },
      virtualhost: (st, d) => { d.vs.virtualhost = st.args[0] ?? null; },
      real_server: (st, d) => { d.rsStmts.push(st); },
      ...Object.fromEntries(SCHED_FLAGS.map((f) => [f, (st: Statement, d: VsDraft) => { schedFlag(r, st, d); }])),
      hashed: () => {},
    },
    deprecated: { lvs_sched: 'lb_algo', lvs_method: 'lb_kind' },
    notYet: ['smtp_alert', 'snmp_name', 'retry_delay'],
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
      r.error(loc(st), `persistence_granularity '${g}' is not valid for an IPv6 virtual server; use a prefix length 1-128 (keepalived ignores it with "Invalid IPv6 persistence_granularity specified")`);
      return;
    }
    d.vs.persistenceGranularity = String(Number(g));
  } else {
    const mask = inetAton(g);
    if (mask === null) {
      r.error(loc(st), `persistence_granularity '${g}' is not an IPv4 netmask; write it dotted, e.g. 255.255.255.0`);
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
export function readVirtualServer(r: Reporter, st: Statement, logAll: boolean): VirtualServer | null {
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
  const inherited = {
    delayLoop: vs.delayLoop,
    connectTimeout: d.timing.connectTimeout ?? 5,
    retry: d.timing.retry ?? 1,
    delayBeforeRetry: d.timing.delayBeforeRetry ?? 1,
    alpha: vs.alpha,
    warmup: d.timing.warmup,
  };
  for (const rst of d.rsStmts) {
    const rs = readRealServer(r, rst, vs, inherited, logAll);
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
 * Real servers of the other family are refused in validate.
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
  inherited: { delayLoop: number; connectTimeout: number; retry: number; delayBeforeRetry: number; alpha: boolean; warmup?: number },
  logAll: boolean,
): RealServer | null {
  const l = loc(st);
  const a = ip(r, st, st.args[0], 'an address and a port');
  let p: number | null = 0;
  if (st.args[1] !== undefined) p = port(r, st, st.args[1]);
  else if (vs.address.kind === 'ip') p = vs.address.port; // keepalived lets the port default to the VS's
  if (!a || p === null) return null;
  const d: RsDraft = {
    rs: {
      ip: a.ip, family: a.family, port: p, loc: l, weight: vs.weight ?? 1, inhibitOnFailure: vs.inhibitOnFailure,
      notifyUp: null, notifyDown: null, uthreshold: 0, lthreshold: 0, lbKind: null, alpha: inherited.alpha, checkers: [],
    },
    timing: {},
    checkerStmts: [],
  };
  walkBlock(r, cached(r, 'real_server', () => realServerSpec(r)), st.block ?? [], d);
  const t = {
    delayLoop: d.timing.delayLoop ?? inherited.delayLoop,
    connectTimeout: d.timing.connectTimeout ?? inherited.connectTimeout,
    retry: d.timing.retry ?? inherited.retry,
    delayBeforeRetry: d.timing.delayBeforeRetry ?? inherited.delayBeforeRetry,
    alpha: d.timing.alpha ?? inherited.alpha,
    warmup: d.timing.warmup ?? inherited.warmup,
  };
  d.rs.alpha = t.alpha;
  for (const cst of d.checkerStmts) {
    d.rs.checkers.push(readChecker(r, cst, cst.keyword as Checker['type'], t, logAll));
  }
  return d.rs;
}
