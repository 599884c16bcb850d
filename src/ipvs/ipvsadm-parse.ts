// Parse `ipvsadm -S -n` (the save format: one -A line per service, one -a line per destination)
// into the table model. Lines we cannot read are reported, never guessed at.
import type { IpvsDest, IpvsForward, IpvsService, IpvsServiceAddr, IpvsTable } from './model.js';
import { serviceKey } from './model.js';
import { canonicalSchedFlag } from './desired.js';

export interface ParseResult {
  table: IpvsTable;
  errors: string[];
}

/** `10.0.0.1:80` or `[2001:db8::1]:80` (port optional for destinations of fwmark services). */
export function parseHostPort(text: string): { ip: string; port: number; family: 4 | 6 } | null {
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(text);
  if (v6) return { ip: v6[1]!.toLowerCase(), port: v6[2] ? Number(v6[2]) : 0, family: 6 };
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
  schedFlags: string[];
  dest: { ip: string; port: number; family: 4 | 6 } | null;
  forward: IpvsForward;
  weight: number;
  upper: number;
  lower: number;
}

// Options that take one argument and that we do not model (tunnel details, persistence engine).
const IGNORED_WITH_ARG = new Set(['--tun-type', '--tun-port', '--pe']);
const IGNORED_FLAGS = new Set(['--tun-nocsum', '--tun-csum', '--tun-remcsum']);

function parseOptions(tokens: string[]): Parsed | string {
  const p: Parsed = {
    addr: null, scheduler: null, persistence: null, netmask: null, ops: false, schedFlags: [],
    dest: null, forward: 'route', weight: 1, upper: 0, lower: 0,
  };
  let v6 = false;
  let fwmark: number | null = null;
  for (let i = 0; i < tokens.length; i++) {
    const opt = tokens[i]!;
    const arg = (): string => {
      const v = tokens[++i];
      if (v === undefined) throw new Error(`${opt} needs a value`);
      return v;
    };
    try {
      switch (opt) {
        case '-t':
        case '-u':
        case '--sctp-service': {
          const hp = parseHostPort(arg());
          if (!hp) return `bad service address after ${opt}`;
          const protocol = opt === '-t' ? 'tcp' : opt === '-u' ? 'udp' : 'sctp';
          p.addr = { kind: 'ip', protocol, ...hp };
          break;
        }
        case '-f': {
          const v = Number(arg());
          if (!Number.isInteger(v)) return 'bad fwmark';
          fwmark = v;
          break;
        }
        case '-6': v6 = true; break;
        case '-s': p.scheduler = arg(); break;
        case '-p': p.persistence = Number(arg()); break;
        case '-M': p.netmask = arg(); break;
        case '-o': p.ops = true; break;
        case '-b': p.schedFlags = arg().split(',').filter(Boolean).map(canonicalSchedFlag).sort(); break;
        case '-r': {
          const hp = parseHostPort(arg());
          if (!hp) return 'bad destination address after -r';
          p.dest = hp;
          break;
        }
        case '-m': p.forward = 'masq'; break;
        case '-g': p.forward = 'route'; break;
        case '-i': p.forward = 'tunnel'; break;
        case '-w': p.weight = Number(arg()); break;
        case '-x': p.upper = Number(arg()); break;
        case '-y': p.lower = Number(arg()); break;
        default:
          if (IGNORED_WITH_ARG.has(opt)) { arg(); break; }
          if (IGNORED_FLAGS.has(opt)) break;
          return `unknown option ${opt}`;
      }
    } catch (e) {
      return (e as Error).message;
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

export function parseIpvsadmLine(line: string): IpvsadmLine | string {
  const tokens = line.trim().split(/\s+/);
  const cmd = tokens[0] ?? '';
  if (!COMMANDS.has(cmd)) return 'expected one of -A -E -D -a -e -d';
  const p = parseOptions(tokens.slice(1));
  if (typeof p === 'string') return p;
  if (!p.addr) return 'no service address';
  const service: IpvsService = {
    addr: p.addr, scheduler: p.scheduler ?? 'wlc', persistence: p.persistence, netmask: p.netmask,
    ops: p.ops, schedFlags: p.schedFlags, dests: [],
  };
  const isDest = cmd === '-a' || cmd === '-e' || cmd === '-d';
  if (isDest && !p.dest) return 'no -r destination';
  const dest: IpvsDest | null = p.dest
    ? { ...p.dest, forward: p.forward, weight: p.weight, upperThreshold: p.upper, lowerThreshold: p.lower }
    : null;
  return { cmd: cmd as IpvsadmLine['cmd'], service, dest };
}

export function parseIpvsadmSave(text: string): ParseResult {
  const table: IpvsTable = new Map();
  const errors: string[] = [];
  text.split('\n').forEach((raw, idx) => {
    const line = raw.trim();
    if (line === '') return;
    const where = `ipvsadm -S line ${idx + 1} "${line}"`;
    const parsed = parseIpvsadmLine(line);
    if (typeof parsed === 'string') {
      errors.push(`${where}: ${parsed}`);
      return;
    }
    if (parsed.cmd !== '-A' && parsed.cmd !== '-a') {
      errors.push(`${where}: expected -A or -a`);
      return;
    }
    const key = serviceKey(parsed.service.addr);
    if (parsed.cmd === '-A') {
      table.set(key, parsed.service);
      return;
    }
    const svc = table.get(key);
    if (!svc) {
      errors.push(`${where}: destination before its service`);
      return;
    }
    svc.dests.push(parsed.dest!);
  });
  return { table, errors };
}
