// Parse `ipvsadm -S -n` (the save format: one -A line per service, then one -a line per
// destination) into the table model. It reads what ipvsadm 1.26 to 1.31 print:
//   1.31: `-A -t 10.0.0.1:80 -s sh -p 300 -M 255.255.255.0 --pe sip -o -b sh-port`,
//         `-a -f 7 -6 -r [2001:db8::2]:0 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum`
//   1.26: `-A -u 10.0.0.1:53 -s rr -p 300 pe sip ops` (no dashes, no -b, no tunnel options)
// A line with an option it does not know is still attributed by its service key (and -r address):
// the service is never taken as absent, and what is unknown is marked so the diff does not trust
// it (see diff.ts). Lines that cannot be attributed at all are reported.
import type { IpvsDest, IpvsForward, IpvsService, IpvsServiceAddr, IpvsTable, IpvsTunnel } from './model.js';
import { serviceKey } from './model.js';
import { canonicalSchedFlag } from './desired.js';
import { canonicalIp } from './format.js';

export interface ParseResult {
  table: IpvsTable;
  /** Lines not fully read, with their number and why (services and destinations stay in `table`). */
  errors: string[];
}

/** `10.0.0.1:80` or `[2001:db8::1]:80` (port optional for destinations of fwmark services). */
export function parseHostPort(text: string): { ip: string; port: number; family: 4 | 6 } | null {
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(text);
  if (v6) return { ip: canonicalIp(v6[1]!, 6), port: v6[2] ? Number(v6[2]) : 0, family: 6 };
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d+))?$/.exec(text);
  if (v4) return { ip: v4[1]!, port: v4[2] ? Number(v4[2]) : 0, family: 4 };
  return null;
}

interface Parsed {
  addr: IpvsServiceAddr | null;
  scheduler: string | null;
  persistence: number | null;
  netmask: string | null;
  ops: boolean;
  pe: string | null;
  schedFlags: string[];
  dest: { ip: string; port: number; family: 4 | 6 } | null;
  forward: IpvsForward;
  weight: number;
  upper: number;
  lower: number;
  tunType: IpvsTunnel['type'] | null;
  tunPort: number;
  csum: IpvsTunnel['csum'];
  /** Why part of the line could not be read; the key and -r address may still be known. */
  problem: string | null;
}

const SERVICE_OPTS: Record<string, 'tcp' | 'udp' | 'sctp'> = {
  '-t': 'tcp', '--tcp-service': 'tcp', '-u': 'udp', '--udp-service': 'udp', '--sctp-service': 'sctp',
};

const DIGITS = /^\d+$/;

function parseOptions(tokens: string[]): Parsed {
  const p: Parsed = {
    addr: null, scheduler: null, persistence: null, netmask: null, ops: false, pe: null, schedFlags: [],
    dest: null, forward: 'route', weight: 1, upper: 0, lower: 0, tunType: null, tunPort: 0, csum: 'nocsum',
    problem: null,
  };
  let v6 = false;
  let fwmark: number | null = null;
  const problem = (msg: string): void => { p.problem ??= msg; };
  // The helpers are made once per line, not per token (a 10,000-destination table is read in one
  // synchronous stretch of the checker child); `i` is the current option's index.
  let i = 0;
  const arg = (): string | null => {
    const v = tokens[i + 1];
    if (v === undefined) {
      problem(`${tokens[i]!} needs a value`);
      return null;
    }
    i++;
    return v;
  };
  const num = (v: string | null, what: string): number | null => {
    if (v === null) return null;
    if (!DIGITS.test(v)) {
      problem(`bad ${what} '${v}'`);
      return null;
    }
    return Number(v);
  };
  for (; i < tokens.length; i++) {
    const opt = tokens[i]!;
    const protocol = SERVICE_OPTS[opt];
    if (protocol !== undefined) {
      const v = arg();
      const hp = v === null ? null : parseHostPort(v);
      if (!hp) problem(`bad service address after ${opt}`);
      else p.addr = { kind: 'ip', protocol, ...hp };
      continue;
    }
    switch (opt) {
      case '-f':
      case '--fwmark-service': {
        const v = num(arg(), 'fwmark');
        if (v !== null) fwmark = v;
        break;
      }
      case '-6': case '--ipv6': v6 = true; break;
      case '-s': case '--scheduler': p.scheduler = arg(); break;
      case '-p': case '--persistent': p.persistence = num(arg(), 'persistence timeout'); break;
      case '-M': case '--netmask': p.netmask = arg(); break;
      case '-o': case '--ops': case 'ops': p.ops = true; break;
      // 1.26 writes `pe NAME`, 1.31 `--pe NAME`.
      case '--pe': case 'pe': p.pe = arg(); break;
      case '-b': case '--sched-flags': {
        // 1.31 prints a bare `-b ` when the only flag is one it does not show (flag-3 on sh or mh).
        if (tokens[i + 1] === undefined || tokens[i + 1]!.startsWith('-')) break;
        const v = tokens[++i]!;
        p.schedFlags = [...new Set(v.split(',').filter(Boolean).map(canonicalSchedFlag))].sort();
        break;
      }
      case '-r': case '--real-server': {
        const v = arg();
        const hp = v === null ? null : parseHostPort(v);
        if (!hp) problem('bad destination address after -r');
        else p.dest = hp;
        break;
      }
      case '-m': case '--masquerading': p.forward = 'masq'; break;
      case '-g': case '--gatewaying': p.forward = 'route'; break;
      case '-i': case '--ipip': p.forward = 'tunnel'; break;
      case '-w': case '--weight': p.weight = num(arg(), 'weight') ?? p.weight; break;
      case '-x': case '--u-threshold': p.upper = num(arg(), 'threshold') ?? 0; break;
      case '-y': case '--l-threshold': p.lower = num(arg(), 'threshold') ?? 0; break;
      case '--tun-type': {
        const v = arg();
        if (v === 'ipip' || v === 'gue' || v === 'gre') p.tunType = v;
        else problem(`unknown tunnel type '${v ?? ''}'`);
        break;
      }
      case '--tun-port': p.tunPort = num(arg(), 'tunnel port') ?? 0; break;
      case '--tun-nocsum': p.csum = 'nocsum'; break;
      case '--tun-csum': p.csum = 'csum'; break;
      case '--tun-remcsum': p.csum = 'remcsum'; break;
      default:
        problem(`unknown option ${opt}`);
    }
  }
  if (fwmark !== null) p.addr = { kind: 'fwmark', fwmark, family: v6 ? 6 : 4 };
  return p;
}

/** One ipvsadm command line (`-A`, `-E`, `-D`, `-a`, `-e`, `-d` with their options). */
export interface IpvsadmLine {
  cmd: '-A' | '-E' | '-D' | '-a' | '-e' | '-d';
  service: IpvsService;
  dest: IpvsDest | null;
}

const COMMANDS = new Set(['-A', '-E', '-D', '-a', '-e', '-d']);

function toService(p: Parsed, addr: IpvsServiceAddr): IpvsService {
  const s: IpvsService = {
    addr, scheduler: p.scheduler ?? 'wlc', persistence: p.persistence,
    netmask: p.persistence !== null ? p.netmask : null, ops: p.ops, schedFlags: p.schedFlags, dests: [],
  };
  if (p.pe !== null) s.persistenceEngine = p.pe;
  return s;
}

function toDest(p: Parsed): IpvsDest | null {
  if (!p.dest) return null;
  // Spelled out, not spread: the spread was a third of the time of reading a 10,000-destination table.
  const d: IpvsDest = { ip: p.dest.ip, port: p.dest.port, family: p.dest.family, forward: p.forward, weight: p.weight, upperThreshold: p.upper, lowerThreshold: p.lower };
  if (p.forward === 'tunnel' && p.tunType !== null && p.tunType !== 'ipip') {
    d.tunnel = { type: p.tunType, port: p.tunType === 'gue' ? p.tunPort : 0, csum: p.csum };
  }
  return d;
}

/** Strictly one command line; any option it does not know makes it an error string. */
export function parseIpvsadmLine(line: string): IpvsadmLine | string {
  const tokens = line.trim().split(/\s+/);
  const cmd = tokens[0] ?? '';
  if (!COMMANDS.has(cmd)) return 'expected one of -A -E -D -a -e -d';
  const p = parseOptions(tokens.slice(1));
  if (p.problem !== null) return p.problem;
  if (!p.addr) return 'no service address';
  const isDest = cmd === '-a' || cmd === '-e' || cmd === '-d';
  if (isDest && !p.dest) return 'no -r destination';
  return { cmd: cmd as IpvsadmLine['cmd'], service: toService(p, p.addr), dest: toDest(p) };
}

export function parseIpvsadmSave(text: string): ParseResult {
  const table: IpvsTable = new Map();
  const errors: string[] = [];
  /** ipvsadm prints each service's destinations right after it: the block we are in. */
  let current: IpvsService | null = null;
  text.split('\n').forEach((raw, idx) => {
    const line = raw.trim();
    if (line === '') return;
    // Only lines with a problem need their place spelled out.
    const where = (): string => `ipvsadm -S line ${idx + 1} "${line}"`;
    // ipvsadm separates with single spaces: the regular expression only for other text.
    const tokens = /\s\s|\t/.test(line) ? line.split(/\s+/) : line.split(' ');
    const cmd = tokens[0]!;
    if (cmd !== '-A' && cmd !== '-a') {
      errors.push(`${where()}: expected -A or -a`);
      current = null;
      return;
    }
    const p = parseOptions(tokens.slice(1));
    if (p.problem !== null) errors.push(`${where()}: ${p.problem}`);
    if (cmd === '-A') {
      if (!p.addr) {
        // Unattributable: the destinations that follow cannot be placed either.
        current = null;
        return;
      }
      const svc = toService(p, p.addr);
      if (p.problem !== null) svc.unreadable = line;
      table.set(serviceKey(p.addr), svc);
      current = svc;
      return;
    }
    const svc = p.addr ? table.get(serviceKey(p.addr)) : current;
    if (!svc) {
      if (p.addr) errors.push(`${where()}: destination before its service`);
      return;
    }
    const dest = toDest(p);
    if (!dest) {
      (svc.unreadableDests ??= []).push(line);
      return;
    }
    if (p.problem !== null) dest.unreadable = line;
    svc.dests.push(dest);
  });
  return { table, errors };
}
