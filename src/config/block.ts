// Table-driven interpretation of a block's statements: each known keyword has a handler; keywords
// hakeep accepts but does not act on yet are kept raw and reported once as a warning; anything
// else is an unknown keyword, reported with the nearest known one.
import type { Statement } from './parser.js';
import { loc, nearest, type Reporter } from './values.js';

export type Handler<T> = (st: Statement, target: T) => void;

export interface BlockSpec<T> {
  /** Used in messages: "in vrrp_instance". */
  name: string;
  handlers: Record<string, Handler<T>>;
  /** Parsed and kept (in `extra`), but without effect yet: a warning says so. */
  notYet?: readonly string[];
  /** Accepted and deliberately without effect (a note explains why). */
  noEffect?: Record<string, string>;
  /** Old spelling → current keyword; the current keyword's handler runs, with a note. */
  deprecated?: Record<string, string>;
}

export function walkBlock<T>(
  r: Reporter,
  spec: BlockSpec<T>,
  statements: readonly Statement[],
  target: T,
  extra?: Record<string, string[]>,
): void {
  for (const st of statements) {
    const kw = st.keyword;
    const handler = spec.handlers[kw];
    if (handler) {
      handler(st, target);
      continue;
    }
    const renamed = spec.deprecated?.[kw];
    if (renamed && spec.handlers[renamed]) {
      r.note(loc(st), `'${kw}' is a deprecated spelling of '${renamed}'; it works the same, but prefer '${renamed}'`);
      spec.handlers[renamed]!({ ...st, keyword: renamed }, target);
      continue;
    }
    if (spec.notYet?.includes(kw)) {
      if (extra) extra[kw] = st.args;
      r.warn(loc(st), `'${kw}' in ${spec.name} is accepted but not implemented by hakeep yet; it has no effect`);
      continue;
    }
    const why = spec.noEffect?.[kw];
    if (why !== undefined) {
      if (extra) extra[kw] = st.args;
      r.note(loc(st), `'${kw}' has no effect in hakeep: ${why}`);
      continue;
    }
    const known = [
      ...Object.keys(spec.handlers),
      ...(spec.notYet ?? []),
      ...Object.keys(spec.noEffect ?? {}),
      ...Object.keys(spec.deprecated ?? {}),
    ];
    const hint = nearest(kw, known);
    r.warn(loc(st), `Unknown keyword '${kw}' in ${spec.name}, ignored${hint ? `; did you mean '${hint}'?` : ''}`);
  }
}

/** Require a `{ … }` block; report and return [] when a keyword that needs one has none. */
export function blockOf(r: Reporter, st: Statement): Statement[] {
  if (st.block === null) {
    r.error(loc(st), `${st.keyword} needs a { … } block`);
    return [];
  }
  return st.block;
}
