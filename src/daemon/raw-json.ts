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
  const spliced: string[] = [];
  // A nonce, so that no string in the data can pass for a placeholder.
  const tag = `hakeep-raw-${Math.random().toString(36).slice(2)}-`;
  const text = JSON.stringify(value, (_key, v: unknown) => {
    const tail = v !== null && typeof v === 'object' ? (v as Marked)[RAW_TAIL] : undefined;
    if (!tail) return v;
    const head: Record<string, unknown> = {};
    // Keys first, values only outside the tail: the tail's fields may be getters that parse
    // (src/check/service.ts), and reading them here would undo the point of splicing.
    for (const k of Object.keys(v as Marked)) if (!tail.keys.includes(k)) head[k] = (v as Marked)[k];
    const h = stringifyStatus(head);
    const body = tail.json.trim();
    const merged = body === '{}' ? h : h === '{}' ? body : `${h.slice(0, -1)},${body.slice(1)}`;
    spliced.push(merged);
    return `\u0000${tag}${spliced.length - 1}\u0000`;
  });
  if (spliced.length === 0) return text;
  return text.replace(new RegExp(`"\\\\u0000${tag}(\\d+)\\\\u0000"`, 'g'), (_m, i: string) => spliced[Number(i)]!);
}
