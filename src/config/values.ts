// Reading typed values out of statements, with every problem reported at `file:line`.
import { isIPv4, isIPv6 } from 'node:net';
import type { Diagnostic, NotifyCmd, SourceLoc } from './model.js';
import type { Statement } from './parser.js';

export class Reporter {
  readonly diagnostics: Diagnostic[] = [];

  error(at: SourceLoc, message: string): void {
    this.diagnostics.push({ severity: 'error', file: at.file, line: at.line, message });
  }

  warn(at: SourceLoc, message: string): void {
    this.diagnostics.push({ severity: 'warning', file: at.file, line: at.line, message });
  }

  note(at: SourceLoc, message: string): void {
    this.diagnostics.push({ severity: 'note', file: at.file, line: at.line, message });
  }
}

export const loc = (st: Statement): SourceLoc => ({ file: st.file, line: st.line });

export function ipFamily(s: string): 4 | 6 | null {
  if (isIPv4(s)) return 4;
  if (isIPv6(s)) return 6;
  return null;
}

/** What keepalived accepts as a VRRP multicast destination: IPv4 224.0.0.0/4, IPv6 link-local
 * multicast (ffX2::/16). */
export function isVrrpMulticast(addr: string, family: 4 | 6): boolean {
  if (family === 4) {
    const first = Number(addr.split('.')[0]);
    return first >= 224 && first <= 239;
  }
  const g = (addr.split(':')[0] ?? '').padStart(4, '0').toLowerCase();
  return g.startsWith('ff') && g[3] === '2';
}

/** `file:line` of a location, for messages that point elsewhere. */
export const at = (l: SourceLoc): string => `${l.file}:${l.line}`;

/** The first argument, or an error naming what is missing. */
export function arg(r: Reporter, st: Statement, what = 'a value'): string | null {
  const v = st.args[0];
  if (v === undefined) {
    r.error(loc(st), `${st.keyword} needs ${what}`);
    return null;
  }
  return v;
}

/** An integer in [min, max]; null (with an error) when absent or out of range. `value` defaults
 * to the first argument; passing it explicitly as undefined means "missing" (e.g. `weight` last). */
export function int(r: Reporter, st: Statement, min: number, max: number, ...given: [value?: string]): number | null {
  const value = given.length > 0 ? given[0] : st.args[0];
  if (value === undefined) {
    r.error(loc(st), `${st.keyword} needs a number between ${min} and ${max}`);
    return null;
  }
  if (!/^[+-]?\d+$/.test(value)) {
    r.error(loc(st), `${st.keyword}: '${value}' is not a whole number (expected ${min}-${max})`);
    return null;
  }
  const n = Number(value);
  if (n < min || n > max) {
    r.error(loc(st), `${st.keyword} ${value} is out of range; use ${min}-${max}`);
    return null;
  }
  return n;
}

/** A timer in seconds (fractions allowed, as keepalived's <TIMER>). */
export function seconds(r: Reporter, st: Statement, min: number, max: number, ...given: [value?: string]): number | null {
  const value = given.length > 0 ? given[0] : st.args[0];
  if (value === undefined) {
    r.error(loc(st), `${st.keyword} needs a time in seconds`);
    return null;
  }
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(value)) {
    r.error(loc(st), `${st.keyword}: '${value}' is not a time in seconds`);
    return null;
  }
  const n = Number(value);
  if (n < min || n > max) {
    r.error(loc(st), `${st.keyword} ${value} is out of range; use ${min}-${max} seconds`);
    return null;
  }
  return n;
}

const TRUE = new Set(['on', 'true', 'yes', '1']);
const FALSE = new Set(['off', 'false', 'no', '0']);

/** A flag keyword: present alone means true; `on/off/true/false/yes/no` are honoured. */
export function bool(r: Reporter, st: Statement): boolean {
  const v = st.args[0];
  if (v === undefined) return true;
  const l = v.toLowerCase();
  if (TRUE.has(l)) return true;
  if (FALSE.has(l)) return false;
  r.error(loc(st), `${st.keyword}: '${v}' is not a boolean; use on/off, true/false or yes/no`);
  return true;
}

/**
 * A keyword keepalived treats as a bare flag: writing it turns the option on, and keepalived
 * ignores whatever follows (so `vrrp_strict off` turns strict mode ON). hakeep does the same, and
 * says so when a value was written.
 */
export function presentFlag(r: Reporter, st: Statement): true {
  if (st.args.length > 0) {
    r.warn(loc(st), `${st.keyword} takes no value: keepalived ignores '${st.args.join(' ')}' and turns ${st.keyword} ON; hakeep does the same. Remove the line to leave it off`);
  }
  return true;
}

export function ip(r: Reporter, st: Statement, value: string | undefined, what = 'an IP address'): { ip: string; family: 4 | 6 } | null {
  if (value === undefined) {
    r.error(loc(st), `${st.keyword} needs ${what}`);
    return null;
  }
  const fam = ipFamily(value);
  if (!fam) {
    r.error(loc(st), `${st.keyword}: '${value}' is not a valid IP address`);
    return null;
  }
  return { ip: value, family: fam };
}

export function port(r: Reporter, st: Statement, value: string | undefined): number | null {
  return int(r, st, 0, 65535, value);
}

/** `notify_* "cmd args" [user [group]]`: the command is one (usually quoted) string. */
export function notifyCmd(r: Reporter, st: Statement): NotifyCmd | null {
  if (st.args.length === 0) {
    r.error(loc(st), `${st.keyword} needs a script path (quote it when it has arguments)`);
    return null;
  }
  const firstQuoted = st.argTokens[0]?.quoted ?? false;
  if (firstQuoted || st.args.length === 1) {
    return { command: st.args[0]!, user: st.args[1] ?? null };
  }
  // Unquoted `notify_master /path/x.sh arg`: keepalived joins them; keep that, user not given.
  return { command: st.args.join(' '), user: null };
}

/** Edit distance for "did you mean" hints. */
export function nearest(word: string, candidates: Iterable<string>): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = levenshtein(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== null && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : null;
}

function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length > 64 || b.length > 64) return Math.abs(a.length - b.length) + 64;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
