// The checker blocks of a real_server (TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK, SMTP_CHECK,
// DNS_CHECK, UDP_CHECK, PING_CHECK, FILE_CHECK, BFD_CHECK) and the top-level SSL block, with
// keepalived 2.2.7's keywords, defaults and config-time rules (file:line in ka-src/keepalived/check).
import {
  DNS_TYPES, type BfdCheck, type Checker, type CheckerBase, type ConnOpts, type DnsCheck, type DnsType, type FileCheck,
  type HttpCheck, type HttpProtocol, type HttpRegex, type HttpUrl, type MiscCheck, type PingCheck, type SmtpCheck,
  type SslConfig, type TcpCheck, type UdpCheck,
} from './model.js';
import type { Statement } from './parser.js';
import { blockOf, walkBlock, type BlockSpec } from './block.js';
import { arg, bool, int, ip, loc, port, seconds, type Reporter } from './values.js';

/** Timing knobs of the cascade. Undefined = not written at that level. */
export interface Timing {
  delayLoop?: number;
  connectTimeout?: number;
  retry?: number;
  delayBeforeRetry?: number;
  warmup?: number;
  alpha?: boolean;
}

/** What a checker inherits: the real server's value, else the virtual server's (undefined = neither wrote it). */
export interface InheritedTiming {
  delayLoop: number;
  connectTimeout: number;
  retry?: number;
  delayBeforeRetry?: number;
  warmup?: number;
}

export function timingHandlers<T extends { timing: Timing }>(r: Reporter): Record<string, (st: Statement, t: T) => void> {
  return {
    // delay_loop must be at least 1 µs (check_api.c delay_handler reads it with min 1).
    delay_loop: (st, t) => { t.timing.delayLoop = seconds(r, st, 0.001, 86400) ?? undefined; },
    connect_timeout: (st, t) => { t.timing.connectTimeout = seconds(r, st, 0.001, 86400) ?? undefined; },
    retry: (st, t) => { t.timing.retry = int(r, st, 0, 1_000_000) ?? undefined; },
    delay_before_retry: (st, t) => { t.timing.delayBeforeRetry = seconds(r, st, 0, 86400) ?? undefined; },
    warmup: (st, t) => { t.timing.warmup = seconds(r, st, 0, 86400) ?? undefined; },
    alpha: (st, t) => { t.timing.alpha = bool(r, st); },
  };
}

export const CHECKER_TYPES = [
  'TCP_CHECK', 'HTTP_GET', 'SSL_GET', 'MISC_CHECK', 'SMTP_CHECK', 'DNS_CHECK', 'UDP_CHECK', 'PING_CHECK', 'FILE_CHECK', 'BFD_CHECK',
] as const;

interface Draft {
  timing: Timing;
  conn: ConnOpts;
  logAllFailures?: boolean;
  /** Per type fields, filled by the handlers. */
  f: Record<string, unknown>;
  urls: HttpUrl[];
}

// Specs are built once per load (they close over the Reporter), not once per checker.
const specCache = new WeakMap<Reporter, Map<string, BlockSpec<Draft>>>();
function spec(r: Reporter, type: Checker['type']): BlockSpec<Draft> {
  let m = specCache.get(r);
  if (!m) specCache.set(r, (m = new Map()));
  let s = m.get(type);
  if (!s) m.set(type, (s = checkerSpec(r, type)));
  return s;
}

/** keepalived's install_checker_common_keywords (check_api.c:430-470): with or without the connection ones. */
function common(r: Reporter, withConn: boolean): BlockSpec<Draft>['handlers'] {
  const h: BlockSpec<Draft>['handlers'] = {
    ...timingHandlers<Draft>(r),
    log_all_failures: (st, d) => { d.logAllFailures = bool(r, st); },
  };
  if (!withConn) return h;
  return {
    ...h,
    connect_ip: (st, d) => { d.conn.connectIp = ip(r, st, st.args[0])?.ip ?? null; },
    connect_port: (st, d) => { d.conn.connectPort = port(r, st, st.args[0]); },
    bindto: (st, d) => { d.conn.bindto = ip(r, st, st.args[0])?.ip ?? null; },
    bind_port: (st, d) => { d.conn.bindPort = port(r, st, st.args[0]); },
    bind_if: (st, d) => { d.conn.bindIf = arg(r, st, 'an interface name'); },
    fwmark: (st, d) => { d.conn.fwmark = int(r, st, 0, 0xffffffff); },
  };
}

/** keepalived's check_true_false: a bare keyword is true. */
const flag = (r: Reporter, key: string) => (st: Statement, d: Draft): void => { d.f[key] = bool(r, st); };

function checkerSpec(r: Reporter, type: Checker['type']): BlockSpec<Draft> {
  switch (type) {
    case 'TCP_CHECK': {
      const h = common(r, true);
      // keepalived only knows nb_get_retry under HTTP_GET/SSL_GET, but published TCP_CHECK configs
      // use it widely: accept it as `retry` and say so.
      h.nb_get_retry = (st, d) => {
        r.warn(loc(st), "'nb_get_retry' is an old name for 'retry' (keepalived ignores it inside TCP_CHECK; hakeep applies it as retry)");
        h.retry!({ ...st, keyword: 'retry' }, d);
      };
      return { name: type, handlers: h };
    }
    case 'HTTP_GET':
    case 'SSL_GET': {
      const h: BlockSpec<Draft>['handlers'] = {
        ...common(r, true),
        // check_http.c:440-454: "nb_get_retry is deprecated - please use 'retry'".
        nb_get_retry: (st, d) => {
          r.note(loc(st), "'nb_get_retry' is deprecated (keepalived says so too); it works as 'retry', but prefer 'retry'");
          d.timing.retry = int(r, st, 0, 1_000_000) ?? d.timing.retry;
        },
        url: (st, d) => { const u = readUrl(r, st, type); if (u) d.urls.push(u); },
        http_protocol: (st, d) => {
          const v = st.args[0];
          // check_http.c:599-619: 1.0, 1.1, 1.0C or 1.0c.
          if (v === '1.0' || v === '1.1') d.f.httpProtocol = v;
          else if (v === '1.0C' || v === '1.0c') d.f.httpProtocol = '1.0C';
          else r.error(loc(st), `http_protocol '${v ?? ''}' is not valid; use 1.0, 1.0C or 1.1`);
        },
        virtualhost: (st, d) => { d.f.virtualhost = arg(r, st, 'a host name'); },
        fast_recovery: flag(r, 'fastRecovery'),
        enable_sni: flag(r, 'enableSni'),
        // Newer keepalived (2.3): sni_name NAME sets the SNI and turns enable_sni on.
        sni_name: (st, d) => {
          const v = arg(r, st, 'a server name');
          if (v !== null) { d.f.sniName = v; d.f.enableSni = true; }
        },
        tls_compliant: flag(r, 'tlsCompliant'),
      };
      return { name: type, handlers: h };
    }
    case 'MISC_CHECK':
      return {
        name: type,
        handlers: {
          ...common(r, false),
          misc_path: (st, d) => { d.f.miscPath = miscPath(st); },
          misc_timeout: (st, d) => {
            // check_misc.c:145-158: whole seconds.
            const v = int(r, st, 0, 0xffffffff);
            if (v !== null) d.f.miscTimeout = v === 0 ? null : v;
          },
          misc_dynamic: (_st, d) => { d.f.miscDynamic = true; },
          user: (st, d) => {
            if (st.args.length === 0) r.error(loc(st), 'user needs a user name (user USER [GROUP])');
            else d.f.user = st.args.join(' ');
          },
        },
      };
    case 'SMTP_CHECK':
      return {
        name: type,
        handlers: {
          ...common(r, true),
          helo_name: (st, d) => { const v = arg(r, st, 'a host name'); if (v !== null) d.f.heloName = v; },
          host: (st, d) => {
            // check_smtp.c:186-227: deprecated, still read: one more checker per host block.
            r.note(loc(st), 'The SMTP_CHECK host block is deprecated (keepalived says so too): each one is an SMTP_CHECK of its own; prefer writing them so');
            const h: Draft = { timing: {}, f: {}, urls: [], conn: { connectIp: null, connectPort: null, bindto: null, bindPort: null, bindIf: null, fwmark: null } };
            walkBlock(r, { name: 'host', handlers: common(r, true) }, blockOf(r, st), h);
            ((d.f.hosts ??= []) as { conn: ConnOpts; connectTimeout?: number }[]).push({ conn: h.conn, ...(h.timing.connectTimeout !== undefined ? { connectTimeout: h.timing.connectTimeout } : {}) });
          },
        },
      };
    case 'DNS_CHECK':
      return {
        name: type,
        handlers: {
          ...common(r, true),
          type: (st, d) => {
            const v = (st.args[0] ?? '').toUpperCase();
            // check_dns.c:483-495: unknown types are reported and ignored.
            if (v in DNS_TYPES) d.f.dnsType = v;
            else r.error(loc(st), `DNS_CHECK type '${st.args[0] ?? ''}' is not known; use one of ${Object.keys(DNS_TYPES).join(' ')}`);
          },
          name: (st, d) => {
            const v = arg(r, st, 'a domain name');
            if (v === null) return;
            // check_dns.c:497-529: no empty label.
            if ((v.startsWith('.') && v !== '.') || v.includes('..')) r.error(loc(st), `DNS_CHECK name '${v}' has an empty label`);
            else d.f.dnsName = v;
          },
        },
      };
    case 'UDP_CHECK':
      return {
        name: type,
        handlers: {
          ...common(r, true),
          payload: (st, d) => {
            const h = readHex(st.args.join(' '), false);
            if (!h) r.error(loc(st), 'UDP_CHECK payload needs a hex string, e.g. payload 0102abcd');
            else d.f.payload = h.data;
          },
          require_reply: (st, d) => {
            d.f.requireReply = true;
            if (st.args.length === 0) return;
            const h = readHex(st.args.join(' '), true);
            if (!h) r.error(loc(st), 'UDP_CHECK require_reply: not a hex string (X is a wildcard nibble)');
            else { d.f.replyData = h.data; d.f.replyMask = h.mask; }
          },
          min_reply_length: (st, d) => { d.f.minReplyLength = int(r, st, 0, 65535) ?? d.f.minReplyLength; },
          max_reply_length: (st, d) => { d.f.maxReplyLength = int(r, st, 0, 65535) ?? d.f.maxReplyLength; },
        },
      };
    case 'PING_CHECK':
      return { name: type, handlers: common(r, true) };
    case 'FILE_CHECK':
      return {
        name: type,
        handlers: {
          // check_file.c:43-130: only track_file and weight.
          track_file: (st, d) => { d.f.trackFile = arg(r, st, 'the name of a track_file block'); },
          weight: (st, d) => {
            const w = int(r, st, -2147483647, 2147483647);
            const opt = st.args[1];
            if (opt !== undefined && opt !== 'reverse' && opt !== 'noreverse') {
              r.error(loc(st), `unknown track file weight option '${opt}'; use reverse or noreverse`);
              return;
            }
            if (w !== null) { d.f.weight = w; d.f.weightReverse = opt === 'reverse'; }
          },
          dynamic: (st) => {
            r.note(loc(st), "'dynamic' is not a keepalived FILE_CHECK keyword: the weight follows the file whenever the track_file (or FILE_CHECK) weight is not 0");
          },
        },
      };
    case 'BFD_CHECK':
      return { name: type, handlers: { name: (st, d) => { d.f.name = st.args[0] ?? null; }, alpha: (st, d) => { d.timing.alpha = bool(r, st); } } };
  }
}

/** misc_path: keepalived re-reads the line quoted/escaped (check_misc.c:129-143); keep the text as one command. */
function miscPath(st: Statement): string {
  if (st.args.length === 1) return st.args[0]!;
  // Several words: keep quoting of words that had spaces so the runner splits them back the same way.
  return st.args.map((a, i) => (st.argTokens[i]?.quoted && /\s/.test(a) ? `"${a.replace(/(["\\])/g, '\\$1')}"` : a)).join(' ');
}

/**
 * keepalived's read_hex_str (lib/parser.c:720-790): hex digits, optionally in space separated
 * groups; a lone digit before a space is one byte; with wildcards allowed, X is a nibble that
 * matches anything. Null when it is not such a string.
 */
export function readHex(text: string, wildcards: boolean): { data: number[]; mask: number[] | null } | null {
  const data: number[] = [];
  const mask: number[] = [];
  let masked = false;
  let i = 0;
  const nib = (c: string | undefined): number => {
    if (c === undefined) return -1;
    if (/[0-9a-fA-F]/.test(c)) return parseInt(c, 16);
    if (wildcards && c === 'X') return -2;
    return -1;
  };
  while (true) {
    while (text[i] === ' ' || text[i] === '\t') i++;
    if (i >= text.length) break;
    let v = nib(text[i++]);
    if (v === -1) return null;
    let m = 0;
    if (v === -2) { v = 0; m = 0x0f; masked = true; }
    if (i < text.length && text[i] !== ' ') {
      let v2 = nib(text[i++]);
      if (v2 === -1) return null;
      let m2 = 0;
      if (v2 === -2) { v2 = 0; m2 = 0x0f; masked = true; }
      v = (v << 4) | v2;
      m = (m << 4) | m2;
    }
    data.push(v);
    mask.push(m);
  }
  if (data.length === 0) return null;
  return { data, mask: masked ? mask : null };
}

/** PCRE2 options keepalived accepts (check_http.c:67-93) and what JavaScript's RegExp can do of them. */
const REGEX_FLAGS: Record<string, string> = { caseless: 'i', multiline: 'm', dotall: 's', utf: 'u', ucp: 'u' };
const REGEX_OPTIONS = new Set([
  'allow_empty_class', 'alt_bsux', 'auto_callout', 'caseless', 'dollar_endonly', 'dotall', 'dupnames', 'extended', 'firstline',
  'match_unset_backref', 'multiline', 'never_ucp', 'never_utf', 'no_auto_capture', 'no_auto_possess', 'no_dotstar_anchor',
  'no_start_optimize', 'ucp', 'ungreedy', 'utf', 'never_backslash_c', 'alt_circumflex', 'alt_verbnames', 'use_offset_limit',
]);
/** Options that only tune PCRE2's engine: the match result is the same without them. */
const REGEX_HARMLESS = new Set(['auto_callout', 'dupnames', 'never_ucp', 'never_utf', 'no_auto_possess', 'no_dotstar_anchor', 'no_start_optimize', 'never_backslash_c', 'use_offset_limit', 'no_auto_capture']);

function readUrl(r: Reporter, st: Statement, type: 'HTTP_GET' | 'SSL_GET'): HttpUrl | null {
  const u: HttpUrl = { path: '', digest: null, statusCodes: [], virtualhost: null, regex: null, tlsCompliant: false };
  let pattern: string | null = null;
  let flags = '';
  let noMatch = false;
  let minOffset = 0;
  let maxOffset: number | null = null;
  let regexOpts = false;
  for (const s of blockOf(r, st)) {
    switch (s.keyword) {
      case 'path': u.path = s.args.join(' '); break;
      case 'digest': {
        // check_http.c:511-551: 32 hex digits, one per url.
        const v = s.args[0] ?? '';
        if (u.digest !== null) r.error(loc(s), `digest '${v}' is a duplicate; a url has one digest`);
        else if (!/^[0-9a-fA-F]{32}$/.test(v)) r.error(loc(s), `digest '${v}' is not 32 hex digits (an MD5 as genhash prints it: hakeep genhash -s IP -p PORT -u PATH)`);
        else u.digest = v.toLowerCase();
        break;
      }
      case 'status_code':
        // check_http.c:553-582: codes and ranges 100-599, several per line and several lines.
        for (const a of s.args) {
          const m = /^(\d+)(?:-(\d+))?$/.exec(a);
          const lo = m ? Number(m[1]) : NaN;
          const hi = m ? Number(m[2] ?? m[1]) : NaN;
          if (!m || lo < 100 || hi > 599 || lo > hi) r.error(loc(s), `status_code '${a}' is not valid; use codes or ranges within 100-599, e.g. status_code 200 301-302`);
          else u.statusCodes.push([lo, hi]);
        }
        break;
      case 'virtualhost': u.virtualhost = arg(r, s, 'a host name'); break;
      case 'regex':
        // check_http.c:622-635: exactly one (quoted) string.
        if (s.args.length !== 1) r.error(loc(s), 'regex needs exactly one pattern; quote it when it has spaces (keepalived: "regex missing or too many fields")');
        else pattern = s.args[0]!;
        break;
      case 'regex_no_match': noMatch = true; regexOpts = true; break;
      case 'regex_options':
        regexOpts = true;
        for (const o of s.args) {
          if (!REGEX_OPTIONS.has(o)) r.warn(loc(s), `regex option '${o}' is not one keepalived knows; ignored (keepalived ignores it too)`);
          else if (REGEX_FLAGS[o]) { if (!flags.includes(REGEX_FLAGS[o]!)) flags += REGEX_FLAGS[o]; }
          else if (!REGEX_HARMLESS.has(o)) r.warn(loc(s), `regex option '${o}' (PCRE2) has no JavaScript RegExp equivalent; hakeep matches without it`);
        }
        break;
      case 'regex_min_offset':
      case 'regex_max_offset': {
        regexOpts = true;
        const v = s.args.length === 1 && /^\d+$/.test(s.args[0]!) ? Number(s.args[0]) : null;
        if (v === null) r.error(loc(s), `${s.keyword} needs one offset in bytes`);
        else if (s.keyword === 'regex_min_offset') minOffset = v;
        else maxOffset = v;
        break;
      }
      case 'regex_stack':
        // A PCRE2 JIT stack size: nothing to tune with JavaScript's engine.
        r.note(loc(s), 'regex_stack tunes PCRE2\'s JIT stack; hakeep matches with JavaScript RegExp and ignores it');
        break;
      case 'tls_compliant':
        u.tlsCompliant = bool(r, s);
        if (type !== 'SSL_GET') r.note(loc(s), 'tls_compliant only applies to SSL_GET');
        break;
      default:
        r.warn(loc(s), `Unknown keyword '${s.keyword}' in url, ignored`);
    }
  }
  // check_http.c:839-888 url_check.
  if (!u.path) {
    r.error(loc(st), 'url has no path; add path /something (keepalived ignores such a url)');
    return null;
  }
  if (u.statusCodes.length === 0) u.statusCodes.push([200, 299]);
  if (pattern !== null) {
    try {
      new RegExp(pattern, flags);
    } catch (e) {
      r.error(loc(st), `regex "${pattern}" is not valid (${(e as Error).message}); hakeep uses JavaScript RegExp, which differs from PCRE2 in places`);
      return u;
    }
    if (maxOffset !== null && minOffset > maxOffset) {
      r.warn(loc(st), `regex_min_offset ${minOffset} > regex_max_offset ${maxOffset}: both ignored (as keepalived does)`);
      minOffset = 0;
      maxOffset = null;
    }
    const rx: HttpRegex = { pattern, flags, noMatch, minOffset, maxOffset };
    u.regex = rx;
  } else if (regexOpts) {
    r.warn(loc(st), 'regex parameters specified without regex; ignored (keepalived ignores them too)');
  }
  return u;
}

/**
 * Read one checker block (several for an SMTP_CHECK with deprecated host blocks, as keepalived
 * splits it: check_smtp.c:120-180) with the cascade resolved (check_data.c:1347-1385).
 */
export function readCheckers(r: Reporter, st: Statement, type: Checker['type'], inh: InheritedTiming): Checker[] {
  const hostsOut: { conn: ConnOpts; connectTimeout?: number }[] & { connectTimeoutSet?: boolean } = [];
  const c = readChecker(r, st, type, inh, hostsOut);
  if (c.type !== 'SMTP_CHECK' || hostsOut.length === 0) return [c];
  const own = c.connectIp !== null || c.connectPort !== null || c.bindto !== null || c.bindPort !== null || c.bindIf !== null || c.fwmark !== null || hostsOut.connectTimeoutSet === true;
  const out: Checker[] = own ? [c] : [];
  for (const h of hostsOut) out.push({ ...c, ...h.conn, connectTimeout: h.connectTimeout ?? inh.connectTimeout });
  return out;
}

function readChecker(r: Reporter, st: Statement, type: Checker['type'], inh: InheritedTiming, hostsOut: { conn: ConnOpts; connectTimeout?: number }[] & { connectTimeoutSet?: boolean }): Checker {
  const d: Draft = {
    timing: {}, f: {}, urls: [],
    conn: { connectIp: null, connectPort: null, bindto: null, bindPort: null, bindIf: null, fwmark: null },
  };
  walkBlock(r, spec(r, type), st.block ?? [], d);
  const delayLoop = d.timing.delayLoop ?? inh.delayLoop;
  // Per type defaults: retry 1 (check_api.c:170), MISC_CHECK 0 (check_misc.c:125), DNS_CHECK 3
  // (check_dns.c:478); delay_before_retry 1 s, HTTP/SSL_GET 3 s (check_http.c:437), DNS_CHECK
  // delay_loop (check_dns.c:479).
  const retryDefault = type === 'MISC_CHECK' ? 0 : type === 'DNS_CHECK' ? 3 : 1;
  const dbrDefault = type === 'HTTP_GET' || type === 'SSL_GET' ? 3 : type === 'DNS_CHECK' ? delayLoop : 1;
  const base: CheckerBase = {
    connectTimeout: d.timing.connectTimeout ?? inh.connectTimeout,
    retry: d.timing.retry ?? inh.retry ?? retryDefault,
    delayBeforeRetry: d.timing.delayBeforeRetry ?? inh.delayBeforeRetry ?? dbrDefault,
    delayLoop,
    warmup: d.timing.warmup ?? inh.warmup ?? null,
    alpha: d.timing.alpha ?? null,
    // global_defs' checker_log_all_failures is added by the loader once the whole file is read.
    logAllFailures: d.logAllFailures ?? false,
    loc: loc(st),
  };
  const f = d.f;
  const l = loc(st);
  switch (type) {
    case 'TCP_CHECK': {
      const c: TcpCheck = { type, ...base, ...d.conn };
      return c;
    }
    case 'HTTP_GET':
    case 'SSL_GET': {
      const c: HttpCheck = {
        type, ...base, ...d.conn, urls: d.urls, httpProtocol: (f.httpProtocol as HttpProtocol) ?? '1.0',
        virtualhost: (f.virtualhost as string) ?? null, enableSni: (f.enableSni as boolean) ?? false,
        sniName: (f.sniName as string) ?? null, fastRecovery: (f.fastRecovery as boolean) ?? false,
        tlsCompliant: (f.tlsCompliant as boolean) ?? false,
      };
      // check_http.c:469-482: keepalived drops such a checker (the server then stays up unchecked).
      if (c.urls.length === 0) r.error(l, `${type} has no url block; add url { path / } (keepalived ignores such a checker, which would leave the server unchecked)`);
      if (type === 'HTTP_GET' && (c.enableSni || c.tlsCompliant)) r.note(l, 'enable_sni, sni_name and tls_compliant only apply to SSL_GET');
      return c;
    }
    case 'MISC_CHECK': {
      const c: MiscCheck = {
        type, ...base, miscPath: (f.miscPath as string) ?? '', miscTimeout: (f.miscTimeout as number) ?? null,
        miscDynamic: (f.miscDynamic as boolean) ?? false, user: (f.user as string) ?? null,
      };
      if (!c.miscPath) r.error(l, 'MISC_CHECK has no misc_path; add misc_path "/path/to/check args" (keepalived skips such a checker)');
      return c;
    }
    case 'SMTP_CHECK': {
      hostsOut.push(...((f.hosts as typeof hostsOut) ?? []));
      hostsOut.connectTimeoutSet = d.timing.connectTimeout !== undefined;
      // check_smtp.c:45 SMTP_DEFAULT_HELO.
      const c: SmtpCheck = { type, ...base, ...d.conn, heloName: (f.heloName as string) ?? 'smtpchecker.keepalived.org' };
      return c;
    }
    case 'DNS_CHECK': {
      // check_dns.c:473 and 531-545: SOA for ".".
      const c: DnsCheck = { type, ...base, ...d.conn, dnsType: (f.dnsType as DnsType) ?? 'SOA', dnsName: (f.dnsName as string) ?? '.' };
      return c;
    }
    case 'UDP_CHECK': {
      const c: UdpCheck = {
        type, ...base, ...d.conn, payload: (f.payload as number[]) ?? null, requireReply: (f.requireReply as boolean) ?? false,
        replyData: (f.replyData as number[]) ?? null, replyMask: (f.replyMask as number[] | null) ?? null,
        minReplyLength: (f.minReplyLength as number) ?? 0, maxReplyLength: (f.maxReplyLength as number) ?? 255,
      };
      // check_udp.c:160-170: keepalived warns and keeps it (it always fails).
      if (c.minReplyLength > c.maxReplyLength) r.warn(l, `UDP_CHECK min_reply_length ${c.minReplyLength} > max_reply_length ${c.maxReplyLength}: this check always fails`);
      return c;
    }
    case 'PING_CHECK': {
      const c: PingCheck = { type, ...base, ...d.conn };
      if (c.connectPort !== null || c.bindPort !== null) r.note(l, 'PING_CHECK has no ports: connect_port and bind_port are ignored');
      return c;
    }
    case 'FILE_CHECK': {
      const c: FileCheck = {
        type, ...base, trackFile: (f.trackFile as string) ?? '', weight: (f.weight as number) ?? null,
        weightReverse: (f.weightReverse as boolean) ?? null,
      };
      if (!c.trackFile) r.error(l, 'FILE_CHECK has no track_file; add track_file NAME (a top-level track_file block)');
      return c;
    }
    case 'BFD_CHECK': {
      const c: BfdCheck = { type, ...base, name: (f.name as string) ?? null };
      return c;
    }
  }
}

/** The top-level `SSL { password; ca; certificate; key }` (check_parser.c:60-100, 988-991). */
export function readSsl(r: Reporter, st: Statement): SslConfig {
  const s: SslConfig = { loc: loc(st), ca: null, certificate: null, key: null, password: null };
  const one = (key: 'ca' | 'certificate' | 'key' | 'password') => (x: Statement): void => {
    const v = arg(r, x, key === 'password' ? 'a password' : 'a file path');
    if (v !== null) s[key] = v;
  };
  walkBlock(r, { name: 'SSL', handlers: { ca: one('ca'), certificate: one('certificate'), key: one('key'), password: one('password') } }, blockOf(r, st), s);
  return s;
}
