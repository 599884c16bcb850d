// Splitting a script string the way keepalived does, and keepalived's one reason to use a shell.
// Pure: no I/O. The rules are keepalived 2.2.7's alloc_strvec_quoted_escaped() (lib/parser.c:1014),
// which notify_script_init()/set_script_params_array() (lib/notify.c:1018-1105) apply to the
// command string. They differ from sh: backslash escapes work inside single quotes too, there is
// no globbing, variable expansion or redirection, and shell metacharacters are ordinary text
// (`echo a > /tmp/x` passes ">" and "/tmp/x" to echo), because keepalived execve()s the words.

export type SplitResult = { ok: true; args: string[] } | { ok: false; error: string };

/** lib/parser.c:100 (WHITE_SPACE_STR). */
const WHITE = ' \t\f\n\r\v';
const HEX = /^[0-9a-fA-F]$/;

const SIMPLE_ESCAPES: Record<string, string> = {
  // lib/parser.c:1097-1124
  a: '\x07', b: '\b', E: '\x1b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v',
};

/**
 * Split `command` into words: whitespace separates words outside quotes; '…' and "…" group
 * (and may be glued to other text: a"b c"d is one word); \ escapes in and out of quotes.
 * A word may be empty ('' or ""). keepalived copies each word with strndup, so a \0 or \x00
 * escape ends its word there. Escapes that make a byte ≥ 0x80 give that code point here (Node
 * passes arguments as UTF-8), not the raw byte keepalived would pass.
 */
export function splitCommand(command: string): SplitResult {
  const words: string[] = [];
  let i = 0;
  const n = command.length;
  while (i < n) {
    while (i < n && WHITE.includes(command[i]!)) i++;
    if (i >= n) break;
    let word = '';
    let quote: '' | '"' | "'" = '';
    for (;;) {
      if (i >= n) {
        // lib/parser.c:1047-1049
        if (quote) return { ok: false, error: `missing terminating ${quote} in '${command}'` };
        break;
      }
      const c = command[i]!;
      if (c === '\\') {
        i++;
        // lib/parser.c:1067-1069
        if (i >= n) return { ok: false, error: `missing escaped character after the final \\ in '${command}'` };
        const r = readEscape(command, i);
        word += r.char;
        i = r.next;
        continue;
      }
      if (quote) {
        if (c === quote) quote = '';
        else word += c;
        i++;
        continue;
      }
      if (c === '"' || c === "'") {
        quote = c;
        i++;
        continue;
      }
      if (WHITE.includes(c)) break;
      word += c;
      i++;
    }
    const nul = word.indexOf('\0');
    words.push(nul >= 0 ? word.slice(0, nul) : word);
  }
  // lib/parser.c:1155-1158 and lib/notify.c:1077-1078: nothing to run.
  if (words.length === 0) return { ok: false, error: 'empty command' };
  return { ok: true, args: words };
}

/** The escape after a backslash at `s[i]` (lib/parser.c:1072-1127); values wrap to a byte as C's char does. */
function readEscape(s: string, i: number): { char: string; next: number } {
  const c = s[i]!;
  if (c === 'x' && i + 1 < s.length && HEX.test(s[i + 1]!)) {
    // Every following hex digit is consumed, not just two.
    let v = 0;
    i++;
    while (i < s.length && HEX.test(s[i]!)) v = ((v << 4) | parseInt(s[i++]!, 16)) & 0xff;
    return { char: String.fromCharCode(v), next: i };
  }
  if (c === 'c' && i + 1 < s.length) {
    return { char: String.fromCharCode(s.charCodeAt(i + 1) & 0x1f), next: i + 2 };
  }
  if (c >= '0' && c <= '7') {
    let v = c.charCodeAt(0) - 48;
    i++;
    for (let k = 0; k < 2 && i < s.length && s[i]! >= '0' && s[i]! <= '7'; k++) v = (v << 3) + (s.charCodeAt(i++) - 48);
    return { char: String.fromCharCode(v & 0xff), next: i };
  }
  return { char: SIMPLE_ESCAPES[c] ?? c, next: i + 1 };
}

/**
 * keepalived runs a command through a shell (system(), i.e. /bin/sh -c) only when its first word
 * is a file-existence test written as a redirection: "<" then optional blanks then "/"
 * (lib/notify.c:712-717 marks it SC_SYSTEM; lib/notify.c:210-211 runs it with system()).
 * Everything else is execve()d directly (lib/notify.c:201-206). (A keepalived built with libmagic
 * also uses system() for an executable without a #! line; hakeep gets the same effect from
 * execvp's ENOEXEC fallback to /bin/sh, see executor.ts.)
 */
export function needsShell(args: readonly string[]): boolean {
  const first = args[0] ?? '';
  if (first[0] !== '<') return false;
  let k = 1;
  while (first[k] === ' ' || first[k] === '\t') k++;
  return first[k] === '/';
}

/**
 * The string keepalived hands to system() (cmd_str_r, lib/notify.c:103-135): every word wrapped
 * in single quotes, except a first word starting with < or > so the redirection still works.
 * Like keepalived, quotes inside a word are not escaped.
 */
export function shellCommandString(args: readonly string[]): string {
  return args
    .map((a, i) => (i === 0 && (a[0] === '<' || a[0] === '>') ? a : `'${a}'`))
    .join(' ');
}
