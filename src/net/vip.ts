// Adding and removing virtual IPs. Normally in-process over rtnetlink (the native addon): all
// VIPs go to the kernel in one netlink send and their ACKs are read back at once, so a failover
// costs a syscall or two, as in keepalived. Without the addon (not built), or for another
// namespace (`opts.netns`), ONE `ip -force -batch -` run does the same. Either way one bad VIP
// does not stop the rest, and adding an address that is already there, or deleting one that is
// already gone, is the desired state and not an error. Nothing here throws: failures are logged
// and returned, with the equivalent `ip address …` command so operators can retry it by hand.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import type { VirtualIp } from '../config/model.js';
import type { Logger } from '../daemon/log.js';
import { nativeLoadError, tryNative, type AddrRequest, type AddrResult } from './native.js';

const execFileP = promisify(execFile);

export type VipOp = 'add' | 'del';

export interface IpOptions {
  /** Run in this network namespace (`ip -n NS`); tests use it, the daemon does not. */
  netns?: string;
  /** Kill `ip` after this long (default 10 s). */
  timeoutMs?: number;
  /** Use `ip -batch` even when the native addon is there (tests, benchmarks). */
  useIp?: boolean;
}

export interface VipFailure {
  vip: string;
  dev: string;
  /** The iproute2 command line (also on the netlink path: what to run by hand to retry),
   * e.g. `ip address add 10.0.0.100/32 dev eth0`. */
  command: string;
  error: string;
}

export interface VipResult {
  ok: boolean;
  /** Requests sent (netlink) or lines sent to ip: one per VIP that passed validation. */
  lines: number;
  failures: VipFailure[];
}

interface BatchLine {
  vip: VirtualIp;
  dev: string;
  text: string;
}

/** A token must not be able to break out of its batch line or be read as two arguments. */
function token(value: string, what: string, vip: VirtualIp): string {
  if (value === '' || /[\s"'\\#]/.test(value)) {
    throw new Error(`VIP ${vip.address}: invalid ${what} ${JSON.stringify(value)}`);
  }
  return value;
}

function lineFor(op: VipOp, vip: VirtualIp, defaultDev: string): BatchLine {
  const dev = token(vip.dev ?? defaultDev, 'device', vip);
  const addr = token(vip.address, 'address', vip);
  const words = ['address', op];
  if (vip.peer) {
    // With a peer the prefix length belongs to the peer (as `ip addr add A peer P/len`).
    const peer = token(vip.peer, 'peer', vip);
    words.push(addr, 'peer', peer.includes('/') ? peer : `${peer}/${vip.prefixLen}`);
  } else {
    words.push(`${addr}/${vip.prefixLen}`);
  }
  words.push('dev', dev);
  if (op === 'add') {
    if (vip.brd) words.push('brd', token(vip.brd, 'brd', vip));
    if (vip.scope) words.push('scope', vip.scope);
    if (vip.label) words.push('label', token(vip.label, 'label', vip));
    if (vip.noPrefixRoute) words.push('noprefixroute');
    if (vip.noDad && vip.family === 6) words.push('nodad');
  }
  return { vip, dev, text: words.join(' ') };
}

function vipName(v: VirtualIp): string {
  return `${v.address}/${v.prefixLen}`;
}

/** The `ip -batch` input for `op` on `vips`, one line per VIP. Throws on unsafe tokens. */
export function buildIpBatch(op: VipOp, vips: VirtualIp[], defaultDev: string): string {
  return vips.map((v) => lineFor(op, v, defaultDev).text + '\n').join('');
}

/** The error texts that mean "already in the desired state", old (errno) and new (extack) forms. */
const BENIGN: Record<VipOp, RegExp> = {
  add: /File exists|address already assigned/i,
  del: /Cannot assign requested address|address not found/i,
};

interface IpRun {
  code: number | null;
  stderr: string;
  spawnError: string | null;
}

function runIp(args: string[], input: string, timeoutMs: number): Promise<IpRun> {
  return new Promise((resolve) => {
    let stderr = '';
    let settled = false;
    const done = (r: IpRun): void => {
      if (!settled) {
        settled = true;
        resolve(r);
      }
    };
    const child = spawn('ip', args, { stdio: ['pipe', 'ignore', 'pipe'], timeout: timeoutMs });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (stderr += d));
    child.on('error', (e: NodeJS.ErrnoException) => {
      const msg = e.code === 'ENOENT' ? '`ip` (iproute2) is not installed: apt-get install -y iproute2' : e.message;
      done({ code: null, stderr, spawnError: msg });
    });
    child.on('close', (code, signal) => {
      done({ code, stderr, spawnError: signal ? `ip was killed by ${signal} (timeout ${timeoutMs} ms?)` : null });
    });
    child.stdin.on('error', () => { /* ip exited early; reported through close */ });
    child.stdin.end(input);
  });
}

/**
 * Split `ip -batch` stderr into per-line errors: each failed line prints its message(s) and then
 * `Command failed -:N`. Text after the last marker means ip aborted (a parse error stops a batch
 * even with -force); it is returned as `trailing`.
 */
export function parseBatchErrors(stderr: string): { byLine: Map<number, string>; trailing: string } {
  const byLine = new Map<number, string>();
  let pending: string[] = [];
  for (const raw of stderr.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const m = /^Command failed -:(\d+)$/.exec(line);
    if (m) {
      byLine.set(Number(m[1]), pending.join('; ') || 'failed');
      pending = [];
    } else {
      pending.push(line);
    }
  }
  return { byLine, trailing: pending.join('; ') };
}

/** Scope names of `ip address … scope` and their numbers (RT_SCOPE_*). */
export const SCOPE_NUMBERS: Readonly<Record<string, number>> = { global: 0, site: 200, link: 253, host: 254, nowhere: 255 };

/**
 * The rtnetlink request for `op` on `vip`, carrying what its `ip address` line would.
 * Throws an Error saying what is wrong (unsafe token, label not named after the device, bad scope).
 */
export function addrRequestOf(op: VipOp, vip: VirtualIp, defaultDev: string): AddrRequest {
  const ifname = token(vip.dev ?? defaultDev, 'device', vip);
  const address = token(vip.address, 'address', vip);
  const req: AddrRequest = { op, ifname, family: vip.family, address, prefixLen: vip.prefixLen };
  if (vip.peer) {
    // As `ip addr add A peer P/len`: the prefix length is the peer's (the VIP's own when P has none).
    const [peer, len] = token(vip.peer, 'peer', vip).split('/');
    req.peer = peer!;
    if (len !== undefined) {
      if (!/^\d{1,3}$/.test(len)) throw new Error(`VIP ${vip.address}: invalid peer prefix length ${JSON.stringify(len)}`);
      req.prefixLen = Number(len);
    }
  }
  if (op === 'add') {
    if (vip.brd) req.brd = token(vip.brd, 'brd', vip);
    if (vip.scope !== null) {
      const n = SCOPE_NUMBERS[vip.scope] ?? (/^\d{1,3}$/.test(vip.scope) ? Number(vip.scope) : NaN);
      if (!(n >= 0 && n <= 255)) {
        throw new Error(`VIP ${vip.address}: scope ${JSON.stringify(vip.scope)} is not one of ${Object.keys(SCOPE_NUMBERS).join(', ')} or 0-255`);
      }
      req.scope = n;
    }
    if (vip.label) {
      const label = token(vip.label, 'label', vip);
      // The kernel reports an IPv4 label as the alias name, so it must be the device's (eth0:1).
      if (!label.startsWith(ifname)) {
        throw new Error(`VIP ${vip.address}: label '${label}' must start with the interface name '${ifname}' (e.g. ${ifname}:1)`);
      }
      if (label.length > 15) throw new Error(`VIP ${vip.address}: label '${label}' is longer than 15 characters`);
      req.label = label;
    }
    if (vip.noPrefixRoute) req.noPrefixRoute = true;
    if (vip.noDad && vip.family === 6) req.noDad = true;
  }
  return req;
}

/** Which way applyVips will change addresses with these options. */
export function vipBackend(opts: IpOptions = {}): 'netlink' | 'ip' {
  return opts.netns === undefined && !opts.useIp && tryNative() !== null ? 'netlink' : 'ip';
}

/** What the netlink path needs from the addon (a fake in unit tests). */
export interface AddrBatcher {
  addrChangeBatch(requests: AddrRequest[]): AddrResult[];
}

const BENIGN_ERRNO: Record<VipOp, string> = { add: 'EEXIST', del: 'EADDRNOTAVAIL' };

/** A netlink failure worded for the operator. */
function netlinkError(r: AddrResult, dev: string): string {
  if (r.code === 'ENODEV') return `Cannot find device "${dev}"`;
  const text = `${r.message || 'failed'} (${r.code || `errno ${r.errno}`})`;
  return r.code === 'EPERM' || r.code === 'EACCES' ? `${text}: changing addresses needs root or CAP_NET_ADMIN` : text;
}

/**
 * The netlink half of applyVips, synchronous: validate every VIP, send the valid ones in one
 * batch, and turn each answer into success, "already so", or a failure entry.
 */
export function applyVipsNetlink(
  addon: AddrBatcher,
  op: VipOp,
  vips: VirtualIp[],
  defaultDev: string,
): { lines: number; failures: VipFailure[] } {
  const failures: VipFailure[] = [];
  const sent: { line: BatchLine; req: AddrRequest }[] = [];
  for (const v of vips) {
    let line: BatchLine | null = null;
    try {
      line = lineFor(op, v, defaultDev);
      sent.push({ line, req: addrRequestOf(op, v, defaultDev) });
    } catch (e) {
      failures.push({ vip: vipName(v), dev: v.dev ?? defaultDev, command: line ? `ip ${line.text}` : '', error: (e as Error).message });
    }
  }
  if (sent.length > 0) {
    let results: AddrResult[];
    try {
      results = addon.addrChangeBatch(sent.map((s) => s.req));
    } catch (e) {
      // Only a programming error gets here (the addon answers per request); report, never throw.
      const err: AddrResult = { errno: 0, code: 'EUNKNOWN', message: (e as Error).message };
      results = sent.map(() => err);
    }
    sent.forEach(({ line }, i) => {
      const r = results[i] ?? { errno: 0, code: 'EUNKNOWN', message: 'no answer from the addon' };
      if (r.errno === 0 && r.code === '') return;
      if (r.code === BENIGN_ERRNO[op]) return;
      failures.push({ vip: vipName(line.vip), dev: line.dev, command: `ip ${line.text}`, error: netlinkError(r, line.dev) });
    });
  }
  return { lines: sent.length, failures };
}

let warnedFallback = false;

/**
 * Add or delete `vips` (on their own `dev`, else `defaultDev`). Over rtnetlink when the addon
 * is there and no `opts.netns` is given (the change is done when this returns its promise), else
 * with one `ip -batch` run. Never rejects. Failures other than "already there"/"already gone" are logged with the command.
 */
export async function applyVips(
  op: VipOp,
  vips: VirtualIp[],
  defaultDev: string,
  log: Logger,
  opts: IpOptions = {},
): Promise<VipResult> {
  if (vipBackend(opts) === 'netlink') {
    const r = applyVipsNetlink(tryNative()!, op, vips, defaultDev);
    logFailures(log, op, r.failures);
    return { ok: r.failures.length === 0, lines: r.lines, failures: r.failures };
  }
  if (!opts.netns && !opts.useIp && !warnedFallback) {
    warnedFallback = true;
    log.warn(
      { err: nativeLoadError()?.message },
      `VIPs are changed with ip -batch (a process per change) because the native addon is unavailable: ${nativeLoadError()?.message ?? 'unknown reason'}`,
    );
  }
  const failures: VipFailure[] = [];
  const lines: BatchLine[] = [];
  for (const v of vips) {
    try {
      lines.push(lineFor(op, v, defaultDev));
    } catch (e) {
      failures.push({ vip: vipName(v), dev: v.dev ?? defaultDev, command: '', error: (e as Error).message });
    }
  }
  const base = opts.netns ? ['-n', opts.netns] : [];
  const timeoutMs = opts.timeoutMs ?? 10_000;

  if (lines.length > 0) {
    const input = lines.map((l) => l.text + '\n').join('');
    const r = await runIp([...base, '-force', '-batch', '-'], input, timeoutMs);
    const { byLine, trailing } = parseBatchErrors(r.stderr);
    if (r.spawnError !== null) {
      // ip is missing or was killed: nothing (or an unknown part) was applied.
      for (const l of lines) failures.push(failureOf(l, r.spawnError));
    } else if (trailing !== '') {
      // A parse error aborts a batch even with -force, so we cannot tell which lines ran: redo
      // each line alone. Lines that did run now say "exists"/"not found", which is success.
      for (const l of lines) {
        const one = await runIp([...base, '-batch', '-'], l.text + '\n', timeoutMs);
        const parsed = parseBatchErrors(one.stderr);
        const err = one.spawnError ?? (one.code === 0 ? null : parsed.byLine.get(1) ?? (parsed.trailing || `exit status ${one.code}`));
        if (err !== null && !BENIGN[op].test(err)) failures.push(failureOf(l, err));
      }
    } else {
      for (const [n, err] of byLine) {
        const l = lines[n - 1];
        if (l && !BENIGN[op].test(err)) failures.push(failureOf(l, err));
      }
    }
  }

  logFailures(log, op, failures);
  return { ok: failures.length === 0, lines: lines.length, failures };

  function failureOf(l: BatchLine, error: string): VipFailure {
    return { vip: vipName(l.vip), dev: l.dev, command: `ip ${base.join(' ')}${base.length ? ' ' : ''}${l.text}`, error };
  }
}

function logFailures(log: Logger, op: VipOp, failures: VipFailure[]): void {
  for (const f of failures) {
    log.error(
      { op, vip: f.vip, dev: f.dev, command: f.command, stderr: f.error },
      `Cannot ${op === 'add' ? 'add' : 'delete'} VIP ${f.vip} on ${f.dev}: ${f.error}` +
        (f.command ? ` (command: ${f.command})` : ''),
    );
  }
}

/** `addr/prefixlen` of every address on `dev` (both families), in kernel order. Throws when ip fails. */
export async function listAddresses(dev: string, opts: IpOptions = {}): Promise<string[]> {
  const base = opts.netns ? ['-n', opts.netns] : [];
  let stdout: string;
  try {
    ({ stdout } = await execFileP('ip', [...base, '-j', 'addr', 'show', 'dev', dev], { timeout: opts.timeoutMs ?? 10_000 }));
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`cannot list addresses of ${dev}: ${(err.stderr ?? '').trim() || err.message}`, { cause: e });
  }
  const links = JSON.parse(stdout) as { addr_info?: { local?: string; prefixlen?: number }[] }[];
  return links.flatMap((l) => (l.addr_info ?? []).filter((a) => a.local).map((a) => `${a.local}/${a.prefixlen}`));
}
