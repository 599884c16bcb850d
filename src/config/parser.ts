// Token lines → a tree of statements. A statement is a keyword, its arguments, and an optional
// `{ … }` block; the `{` may sit on the keyword's line or start the next line (as keepalived
// allows), and `}` may close a block on the same line as its last statement.
import type { Diagnostic } from './model.js';
import type { Token, TokenLine } from './lexer.js';

export interface Statement {
  keyword: string;
  args: string[];
  /** Tokens of the arguments (for per-argument locations). */
  argTokens: Token[];
  block: Statement[] | null;
  file: string;
  line: number;
}

interface Cursor {
  toks: (Token | null)[]; // null = end of line
  pos: number;
}

const isBrace = (t: Token | null | undefined, b: '{' | '}'): boolean => !!t && !t.quoted && t.text === b;

export function parseTree(lines: TokenLine[]): { statements: Statement[]; diagnostics: Diagnostic[] } {
  const toks: (Token | null)[] = [];
  for (const l of lines) {
    toks.push(...l.tokens, null);
  }
  const cur: Cursor = { toks, pos: 0 };
  const diagnostics: Diagnostic[] = [];
  const statements = parseBlock(cur, diagnostics, null);
  return { statements, diagnostics };
}

function skipEol(cur: Cursor): void {
  while (cur.pos < cur.toks.length && cur.toks[cur.pos] === null) cur.pos++;
}

function parseBlock(cur: Cursor, diagnostics: Diagnostic[], opener: Token | null): Statement[] {
  const out: Statement[] = [];
  for (;;) {
    skipEol(cur);
    if (cur.pos >= cur.toks.length) {
      if (opener) {
        diagnostics.push({
          severity: 'error', file: opener.file, line: opener.line,
          message: 'this `{` is never closed; add the missing `}`',
        });
      }
      return out;
    }
    const t = cur.toks[cur.pos]!;
    if (isBrace(t, '}')) {
      cur.pos++;
      if (opener) return out;
      diagnostics.push({ severity: 'error', file: t.file, line: t.line, message: 'unexpected `}` with no open block; remove it' });
      continue;
    }
    if (isBrace(t, '{')) {
      // A block with no keyword: parse and drop it, so one stray brace does not derail the rest.
      diagnostics.push({ severity: 'error', file: t.file, line: t.line, message: '`{` without a keyword before it' });
      cur.pos++;
      parseBlock(cur, diagnostics, t);
      continue;
    }
    cur.pos++;
    const argTokens: Token[] = [];
    while (cur.pos < cur.toks.length) {
      const a = cur.toks[cur.pos];
      if (a === null || isBrace(a, '{') || isBrace(a, '}')) break;
      argTokens.push(a!);
      cur.pos++;
    }
    let block: Statement[] | null = null;
    if (isBrace(cur.toks[cur.pos], '{')) {
      const open = cur.toks[cur.pos]!;
      cur.pos++;
      block = parseBlock(cur, diagnostics, open);
    } else if (cur.toks[cur.pos] === null) {
      // `{` on the following line belongs to this keyword.
      let p = cur.pos;
      while (p < cur.toks.length && cur.toks[p] === null) p++;
      if (isBrace(cur.toks[p], '{')) {
        const open = cur.toks[p]!;
        cur.pos = p + 1;
        block = parseBlock(cur, diagnostics, open);
      }
    }
    out.push({
      keyword: t.text,
      args: argTokens.map((a) => a.text),
      argTokens,
      block,
      file: t.file,
      line: t.line,
    });
  }
}
