// JSON text for the status socket without serialising twice what arrived as JSON. The checker
// child sends its status as JSON text (10,000 real servers: megabytes); the daemon parses it once
// per snapshot for in-process readers (metrics, STATUS=), but stringifying that object again on
// every `hakeep status` cost 20-37 ms of the VRRP loop. An object marked with withRawTail carries
// the text its fields came from, and stringifyStatus splices that text in unchanged.

const RAW_TAIL = Symbol('hakeep.rawJsonTail');

export interface RawJsonTail {
  /** The JSON text of an object whose fields were spread into the marked object. */
  json: string;
  /** Those fields' names: the marked object's other fields are serialised normally. */
  keys: readonly string[];
}

type Marked = Record<string, unknown> & { [RAW_TAIL]?: RawJsonTail };

/** Marks `o` (non-enumerable, so in-process readers see a plain object). */
export function withRawTail<T extends object>(o: T, tail: RawJsonTail): T {
  Object.defineProperty(o, RAW_TAIL, { value: tail, enumerable: false });
  return o;
}

/** JSON.stringify, compact, with marked objects' raw text spliced in. */
export function stringifyStatus(value: unknown): string {
  return statusParts(value).join('');
}

/**
 * The same text as stringifyStatus, as parts whose concatenation is that text, with each raw
 * text a part of its own (not copied): the status socket writes the parts out in slices
 * (status.ts), so a 2.5 MB answer never holds the VRRP loop for one long copy and encode.
 */
export function statusParts(value: unknown): string[] {
  const spliced: string[][] = [];
  // A nonce, so that no string in the data can pass for a placeholder.
  const tag = `hakeep-raw-${Math.random().toString(36).slice(2)}-`;
  const text = JSON.stringify(value, (_key, v: unknown) => {
    const tail = v !== null && typeof v === 'object' ? (v as Marked)[RAW_TAIL] : undefined;
    if (!tail) return v;
    const head: Record<string, unknown> = {};
    // Keys first, values only outside the tail: the tail's fields may be getters that parse
    // (src/check/service.ts), and reading them here would undo the point of splicing.
    for (const k of Object.keys(v as Marked)) if (!tail.keys.includes(k)) head[k] = (v as Marked)[k];
    const h = statusParts(head);
    const body = tail.json.trim();
    const hText = h.length === 1 ? h[0]! : null;
    let merged: string[];
    if (body === '{}') merged = h;
    else if (hText === '{}') merged = [body];
    else {
      // The head's closing brace becomes a comma; the body's opening brace goes (slices, no copy).
      const last = h[h.length - 1]!;
      merged = [...h.slice(0, -1), `${last.slice(0, -1)},`, body.slice(1)];
    }
    spliced.push(merged);
    return `\u0000${tag}${spliced.length - 1}\u0000`;
  });
  if (spliced.length === 0) return [text];
  const out: string[] = [];
  const re = new RegExp(`"\\\\u0000${tag}(\\d+)\\\\u0000"`, 'g');
  let at = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m.index > at) out.push(text.slice(at, m.index));
    out.push(...spliced[Number(m[1])]!);
    at = m.index + m[0].length;
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}
