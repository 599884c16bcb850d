// Token lines → statements. A statement is a keyword, its arguments, and an optional `{ … }`
// block; the `{` may sit on the keyword's line or start the next line (as keepalived allows), and
// `}` may close a block on the same line as its last statement. Top-level statements come out one
// at a time as the lines are read (parseStatements), so a big file's tokens and tree never exist
// all at once; parseTree collects them.
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

/** Reads token lines as they come; an end of line separates a keyword's arguments from what follows. */
class Cursor {
  private readonly it: Iterator<TokenLine>;
  private toks: Token[] = [];
  private i = 0;
  private done = false;

  constructor(lines: Iterable<TokenLine>) {
    this.it = lines[Symbol.iterator]();
  }

  /** The token here; null at the end of a line; undefined at the end of the input. */
  peek(): Token | null | undefined {
    if (this.i < this.toks.length) return this.toks[this.i];
    return this.done ? undefined : null;
  }

  advance(): void {
    this.i++;
  }

  /** Move past ends of line to the next token (or the end of the input). */
  skipEol(): void {
    while (!this.done && this.i >= this.toks.length) {
      const n = this.it.next();
      if (n.done) {
        this.done = true;
        this.toks = [];
      } else {
        this.toks = n.value.tokens;
      }
      this.i = 0;
    }
  }
}

const isBrace = (t: Token | null | undefined, b: '{' | '}'): boolean => !!t && !t.quoted && t.text === b;

export function parseTree(lines: Iterable<TokenLine>): { statements: Statement[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const statements = [...parseStatements(lines, diagnostics)];
  return { statements, diagnostics };
}

/** The top-level statements, each as soon as its block is closed; problems go to `diagnostics`. */
export function* parseStatements(lines: Iterable<TokenLine>, diagnostics: Diagnostic[]): Generator<Statement, void, undefined> {
  const cur = new Cursor(lines);
  for (;;) {
    const s = step(cur, diagnostics, null);
    if (s === END) return;
    if (s !== CLOSE && s !== null) yield s;
  }
}

const END = Symbol('end of input');
const CLOSE = Symbol('end of block');

function parseBlock(cur: Cursor, diagnostics: Diagnostic[], opener: Token): Statement[] {
  const out: Statement[] = [];
  for (;;) {
    const s = step(cur, diagnostics, opener);
    if (s === END || s === CLOSE) return out;
    if (s !== null) out.push(s);
  }
}

/** The next statement of the block `opener` opened (null: the top level); null when a stray brace was skipped. */
function step(cur: Cursor, diagnostics: Diagnostic[], opener: Token | null): Statement | typeof END | typeof CLOSE | null {
  cur.skipEol();
  const t = cur.peek();
  if (t === undefined || t === null) {
    if (opener) {
      diagnostics.push({
        severity: 'error', file: opener.file, line: opener.line,
        message: 'this `{` is never closed; add the missing `}`',
      });
    }
    return END;
  }
  if (isBrace(t, '}')) {
    cur.advance();
    if (opener) return CLOSE;
    diagnostics.push({ severity: 'error', file: t.file, line: t.line, message: 'unexpected `}` with no open block; remove it' });
    return null;
  }
  if (isBrace(t, '{')) {
    // A block with no keyword: parse and drop it, so one stray brace does not derail the rest.
    diagnostics.push({ severity: 'error', file: t.file, line: t.line, message: '`{` without a keyword before it' });
    cur.advance();
    parseBlock(cur, diagnostics, t);
    return null;
  }
  cur.advance();
  const argTokens: Token[] = [];
  for (let a = cur.peek(); a !== null && a !== undefined && !isBrace(a, '{') && !isBrace(a, '}'); a = cur.peek()) {
    argTokens.push(a);
    cur.advance();
  }
  let block: Statement[] | null = null;
  if (cur.peek() === null) {
    // `{` on the following line belongs to this keyword. (Moving past the end of line changes
    // nothing otherwise: the next statement starts there anyway.)
    cur.skipEol();
  }
  const open = cur.peek();
  if (open && isBrace(open, '{')) {
    cur.advance();
    block = parseBlock(cur, diagnostics, open);
  }
  return {
    keyword: t.text,
    args: argTokens.map((a) => a.text),
    argTokens,
    block,
    file: t.file,
    line: t.line,
  };
}
