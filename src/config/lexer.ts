// keepalived.conf lexing: comments, quoting, `\` continuations, `@id` conditional lines,
// `$NAME=value` definitions with substitution, and `include` (globs, relative to the including
// file, nested, loop-checked). Output: tokens that each remember their file and line.
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { expandGlob } from './glob.js';
import type { Diagnostic } from './model.js';

export interface Token {
  text: string;
  file: string;
  line: number;
  /** True when the token came from a quoted string (so `{` in quotes is not a brace). */
  quoted: boolean;
}

/** A physical line after preprocessing, with its tokens. */
export interface TokenLine {
  file: string;
  line: number;
  tokens: Token[];
}

export interface LexOptions {
  /** The `-i/--config-id` value; `@id` lines are kept only when id matches. */
  configId: string;
  /** Read a file's text (injectable for tests and the property test). */
  readFile?: (path: string) => string;
  /** Maximum include depth (keepalived's nesting is bounded too). */
  maxIncludeDepth?: number;
}

/** Raised for problems that make the whole input unreadable (e.g. the main file is missing). */
export class ConfigError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map((d) => `${d.file}:${d.line}: ${d.message}`).join('\n'));
    this.name = 'ConfigError';
  }
}

interface LexState {
  opts: Required<LexOptions>;
  defs: Map<string, string>;
  stack: string[];
  diagnostics: Diagnostic[];
  seqCounter: number;
  /** Every file read, in the order it was opened (display names, as in diagnostics). */
  files: string[];
}

const DEF_RE = /^\$([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/;

/**
 * Token lines as they are read, one at a time: a big file's tokens never exist all at once (at
 * 10,000 real servers they are ~27 MiB of heap; the daemon's peak memory was the parse). The
 * diagnostics and the list of files read fill up as the lines are consumed.
 */
export interface LexStream {
  lines: Iterable<TokenLine>;
  diagnostics: Diagnostic[];
  files: string[];
}

/** Lex a file (with its includes) as a stream. The main file is read now, so a missing one throws here. */
export function lexFileStream(path: string, opts: LexOptions): LexStream {
  const readFile = opts.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  let text: string;
  try {
    text = readFile(path);
  } catch (e) {
    throw new ConfigError([
      { severity: 'error', file: path, line: 0, message: `cannot read configuration file: ${errText(e)}` },
    ]);
  }
  return lexStringStream(text, path, opts);
}

/** Lex a string as if it were the file `name` (tests, fuzzing); includes resolve against its folder. */
export function lexStringStream(text: string, name: string, opts: LexOptions): LexStream {
  const state: LexState = {
    opts: {
      configId: opts.configId,
      readFile: opts.readFile ?? ((p) => readFileSync(p, 'utf8')),
      maxIncludeDepth: opts.maxIncludeDepth ?? 16,
    },
    defs: new Map(),
    stack: [],
    diagnostics: [],
    seqCounter: 0,
    files: [],
  };
  return { lines: lexText(state, resolve(name), name, text), diagnostics: state.diagnostics, files: state.files };
}

function errText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOENT') return 'no such file';
  if (err.code === 'EACCES') return 'permission denied';
  if (err.code === 'EISDIR') return 'is a directory';
  return err.message ?? String(e);
}

function* lexText(state: LexState, absPath: string, displayPath: string, text: string): Generator<TokenLine, void, undefined> {
  if (state.stack.includes(absPath)) {
    state.diagnostics.push({
      severity: 'error',
      file: displayPath,
      line: 0,
      message: `include loop: ${[...state.stack, absPath].join(' -> ')}; remove one of the include lines`,
    });
    return;
  }
  state.stack.push(absPath);
  state.files.push(displayPath);
  try {
    const rawLines = text.split(/\r?\n/);
    for (let i = 0; i < rawLines.length; i++) {
      const lineNo = i + 1;
      let line = stripComment(rawLines[i]!);
      // `\` at the end of a line continues it on the next one.
      while (line.endsWith('\\') || /\\\s+$/.test(line)) {
        if (i + 1 >= rawLines.length) break;
        line = line.replace(/\\\s*$/, ' ') + stripComment(rawLines[++i]!);
      }
      line = line.trim();
      if (line === '') continue;

      if (line.startsWith('@')) {
        const m = /^@(\^?)(\S*)\s*(.*)$/.exec(line)!;
        const negate = m[1] === '^';
        const id = m[2]!;
        const matches = id === state.opts.configId;
        if (matches === negate) continue;
        line = m[3]!.trim();
        if (line === '') continue;
      }

      const def = DEF_RE.exec(line);
      if (def) {
        state.defs.set(def[1]!, substitute(state, def[2]!.trim(), displayPath, lineNo));
        continue;
      }
      line = substitute(state, line, displayPath, lineNo);

      if (/^include\s/.test(line)) {
        // Globs may hold csh braces (`{a,b}`), so these words are not split at braces.
        const words = tokenize(line.slice(8), displayPath, lineNo, state.diagnostics, false);
        yield* handleInclude(state, absPath, displayPath, lineNo, words);
        continue;
      }
      const tokens = tokenize(line, displayPath, lineNo, state.diagnostics);
      if (tokens.length === 0) continue;
      yield { file: displayPath, line: lineNo, tokens };
    }
  } finally {
    state.stack.pop();
  }
}

function* handleInclude(state: LexState, absPath: string, displayPath: string, lineNo: number, args: Token[]): Generator<TokenLine, void, undefined> {
  if (args.length === 0) {
    state.diagnostics.push({ severity: 'error', file: displayPath, line: lineNo, message: 'include needs a file name or glob' });
    return;
  }
  if (state.stack.length >= state.opts.maxIncludeDepth) {
    state.diagnostics.push({
      severity: 'error', file: displayPath, line: lineNo,
      message: `includes nested deeper than ${state.opts.maxIncludeDepth} levels; flatten them`,
    });
    return;
  }
  for (const arg of args) {
    const pattern = resolve(dirname(absPath), arg.text);
    const matches = expandGlob(pattern);
    if (matches.length === 0) {
      // keepalived carries on when an include matches nothing; say so, it is usually a typo.
      state.diagnostics.push({ severity: 'warning', file: displayPath, line: lineNo, message: `include ${arg.text} matches no file` });
      continue;
    }
    for (const file of matches) {
      let text: string;
      try {
        if (statSync(file, { throwIfNoEntry: false })?.isDirectory()) continue;
        text = state.opts.readFile(file);
      } catch (e) {
        state.diagnostics.push({ severity: 'error', file: displayPath, line: lineNo, message: `cannot read included file ${file}: ${errText(e)}` });
        continue;
      }
      yield* lexText(state, file, file, text);
    }
  }
}

/** Drop a `!` or `#` comment that starts outside quotes. */
export function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '!' || c === '#') {
      return line.slice(0, i);
    }
  }
  return line;
}

/** Replace `$NAME` and `${NAME}` with their definitions; unknown names are left as written. */
function substitute(state: LexState, line: string, file: string, lineNo: number): string {
  if (!line.includes('$')) return line;
  let depth = 0;
  let prev: string;
  do {
    prev = line;
    line = line.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)((?:\s+[^}]*)?)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, braced: string | undefined, args: string | undefined, bare: string | undefined) => {
      const name = braced ?? bare!;
      const builtin = builtinDef(state, name, (args ?? '').trim(), file);
      if (builtin !== null) return builtin;
      return state.defs.get(name) ?? whole;
    });
  } while (line !== prev && ++depth < 8);
  if (depth >= 8) {
    state.diagnostics.push({ severity: 'error', file, line: lineNo, message: 'parameter substitution nests too deeply (a definition refers to itself?)' });
  }
  return line;
}

function builtinDef(state: LexState, name: string, args: string, file: string): string | null {
  switch (name) {
    case '_PWD':
      return dirname(resolve(file));
    case '_INSTANCE':
      return state.opts.configId;
    case '_BANG':
      return '!';
    case '_HASH':
      return '#';
    case '_ENV':
      return args ? process.env[args] ?? '' : null;
    case '_RANDOM': {
      const [a, b] = args.split(/\s+/).map(Number);
      const lo = Number.isFinite(a) ? a! : 0;
      const hi = Number.isFinite(b) ? b! : 32767;
      // Deterministic per run so that -t and the daemon see the same config.
      state.seqCounter = (state.seqCounter * 1103515245 + 12345) & 0x7fffffff;
      return String(lo + (state.seqCounter % Math.max(1, hi - lo + 1)));
    }
    default:
      return null;
  }
}

const WORD_END = new Set([' ', '\t', '\v', '\f', '\r', '"', "'"]);

/** Split a line into tokens: whitespace separated, quotes group, `{`/`}` are tokens of their own. */
export function tokenize(line: string, file: string, lineNo: number, diagnostics: Diagnostic[], braces = true): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    const c = line[i]!;
    if (c === ' ' || c === '\t' || c === '\v' || c === '\f' || c === '\r') {
      i++;
      continue;
    }
    if (braces && (c === '{' || c === '}')) {
      out.push({ text: c, file, line: lineNo, quoted: false });
      i++;
      continue;
    }
    let text = '';
    let quoted = false;
    // A word may mix quoted and unquoted parts (`foo"bar baz"`), as in a shell.
    while (i < n) {
      const ch = line[i]!;
      if (ch === '"' || ch === "'") {
        quoted = true;
        const q = ch;
        i++;
        let closed = false;
        while (i < n) {
          const d = line[i]!;
          if (d === q) { closed = true; i++; break; }
          if (d === '\\' && q === '"' && i + 1 < n) {
            const e = line[i + 1]!;
            text += e === 'n' ? '\n' : e === 't' ? '\t' : e;
            i += 2;
            continue;
          }
          text += d;
          i++;
        }
        if (!closed) {
          diagnostics.push({ severity: 'error', file, line: lineNo, message: `unterminated ${q === '"' ? 'double' : 'single'}-quoted string; add the closing ${q}` });
        }
        continue;
      }
      if (ch === ' ' || ch === '\t' || ch === '\v' || ch === '\f' || ch === '\r') break;
      if (braces && (ch === '{' || ch === '}')) break;
      // Take the whole unquoted run at once (hot path for big configs).
      let j = i + 1;
      while (j < n && !WORD_END.has(line[j]!) && !(braces && (line[j] === '{' || line[j] === '}'))) j++;
      text += line.slice(i, j);
      i = j;
    }
    out.push({ text, file, line: lineNo, quoted });
  }
  return out;
}
