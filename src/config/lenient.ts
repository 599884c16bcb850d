// Value readers that follow keepalived 2.2.7 where it reports a bad value and runs on: the rule
// (README, "Configs keepalived runs, hakeep runs") is that hakeep runs what keepalived runs, with a
// warning at the line saying what keepalived does, what hakeep does and what to write instead.
//
// keepalived facts used here (read for behaviour only):
//   - a line with a keyword but no value stops keepalived ("is missing a parameter", exit:
//     lib/parser.c:419-428): those stay errors;
//   - check_true_false (lib/parser.c:2272-2280) knows only true/on/yes and false/off/no, in lower
//     case; anything else is reported and the line ignored by the handler that asked;
//   - read_unsigned/read_int (lib/parser.c:430-520) report a number out of range (or not a number)
//     and the handler then ignores the line, or uses a default it names ("Using default 100",
//     "Setting to 1", "defaulting to 1").
import type { SourceLoc } from './model.js';
import type { Statement } from './parser.js';
import { ipFamily, loc, type Reporter } from './values.js';

/** Missing value: keepalived exits (lib/parser.c:419-428), so hakeep refuses too. */
function missing(r: Reporter, st: Statement, what: string): null {
  r.error(loc(st), `${st.keyword} needs ${what}: keepalived refuses a line without it ("is missing a parameter") and does not start; add the value or remove the line`);
  return null;
}

/**
 * keepalived's check_true_false: a bare keyword is true; true/on/yes and false/off/no (lower case)
 * are honoured; anything else is reported (`kaWords`) and the line ignored. `keeps` says what stays
 * in effect then. Returns null for an ignored line.
 */
export function kaBool(r: Reporter, st: Statement, kaWords: string, keeps: string, who = ''): boolean | null {
  const v = st.args[0];
  if (v === undefined) return true;
  if (v === 'true' || v === 'on' || v === 'yes') return true;
  if (v === 'false' || v === 'off' || v === 'no') return false;
  r.warn(loc(st), `${who ? `${who} ` : ''}${st.keyword} '${v}' is not one of on/off, true/false, yes/no (lower case): keepalived ignores the line ("${kaWords}"), so does hakeep; ${keeps}. Write ${st.keyword} on or ${st.keyword} off`);
  return null;
}

export interface KaNumberOptions {
  /** keepalived's own words for this line, quoted in the warning. */
  ka: string;
  /** What stays in effect when the line is ignored ("the default 100 is used"). */
  keeps: string;
  /** Whole numbers only (read_unsigned/read_int); otherwise a decimal (read_decimal_unsigned). */
  integer?: boolean;
  /** The text to read; the first argument by default. */
  value?: string;
  /** How to describe the unit in the fix ("seconds"). */
  unit?: string;
  /** Who the line belongs to, before the keyword in the message ("(VI_1)"). */
  who?: string;
  /** What to write instead; "Write a value between MIN and MAX" by default. */
  fix?: string;
}

/**
 * A number keepalived reads and, when it is not a number or out of [min, max], reports and ignores
 * (or replaces with a default the caller applies). Returns null in that case, after a warning.
 */
export function kaNumber(r: Reporter, st: Statement, min: number, max: number, o: KaNumberOptions): number | null {
  const v = o.value ?? st.args[0];
  if (v === undefined) return missing(r, st, `a number between ${min} and ${max}`);
  const ok = o.integer ? /^[+-]?\d+$/.test(v) : /^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(v);
  const n = ok ? Number(v) : NaN;
  if (ok && n >= min && n <= max) return n;
  const why = ok ? `is out of range (${min} to ${max}${o.unit ? ` ${o.unit}` : ''})` : `is not ${o.integer ? 'a whole number' : 'a number'}`;
  r.warn(loc(st), `${o.who ? `${o.who} ` : ''}${st.keyword} '${v}' ${why}: keepalived ignores it ("${o.ka}"), so does hakeep; ${o.keeps}. ${o.fix ?? `Write a value between ${min} and ${max}`}`);
  return null;
}

/**
 * An address as keepalived's inet_stosockaddr reads it (lib/utils.c:537-583): whatever follows a
 * '-' (a range) or a '/' (a prefix length) is dropped before the address is parsed, without a word.
 * hakeep drops it too and says so. `null` when what remains is not an address (keepalived then
 * reports the line as malformed and skips it; the caller decides what that means).
 */
export function kaAddress(r: Reporter, at: SourceLoc, label: string, text: string): { ip: string; family: 4 | 6 } | null {
  const cut = text.search(/[-/]/);
  const addr = cut >= 0 ? text.slice(0, cut) : text;
  const family = ipFamily(addr);
  if (!family) return null;
  if (cut >= 0) {
    const what = text[cut] === '/' ? `the prefix length '${text.slice(cut)}'` : `the range '${text.slice(cut)}'`;
    r.warn(at, `${label} ${text}: keepalived drops ${what} and uses the address ${addr} (only an address is read here), so does hakeep. Write ${addr}`);
  }
  return { ip: addr, family };
}

/** "k.conf:12" */
export const where = (l: SourceLoc): string => `${l.file}:${l.line}`;
