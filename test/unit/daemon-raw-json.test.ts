// stringifyStatus: the status socket splices the checker child's JSON text in instead of
// serialising the parsed copy again; the result must read back exactly as JSON.stringify's.
import { describe, expect, it } from 'vitest';
import { stringifyStatus, withRawTail } from '../../src/daemon/raw-json.js';

function marked(head: Record<string, unknown>, json: string): Record<string, unknown> {
  const parsed = JSON.parse(json) as Record<string, unknown>;
  return withRawTail({ ...head, ...parsed }, { json, keys: Object.keys(parsed) });
}

describe('stringifyStatus', () => {
  it('reads back as JSON.stringify would, with the raw text spliced in', () => {
    const check = marked({ name: 'check', child: { pid: 7, lastExit: null } },
      ' {"virtualServers":[{"vs":"10.0.0.1:80","rs":[{"ip":"10.0.0.2","up":true,"note":"a \\"quoted\\" }, {"}]}],"ipvs":null} ');
    const doc = { version: '1', services: { vrrp: { instances: [{ name: 'VI_1' }] }, check }, drained: [] };
    const text = stringifyStatus(doc);
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(doc)));
    // The raw text went in as it was (its own spacing inside), not serialised again.
    expect(text).toContain('"note":"a \\"quoted\\" }, {"}]}],"ipvs":null}');
  });

  it('an empty head or an empty raw object; several marked objects; unmarked documents unchanged', () => {
    const a = marked({}, '{"x":1}');
    const b = marked({ y: 2 }, '{}');
    const doc = { a, b, list: [marked({ z: 3 }, '{"w":[1,2]}')] };
    expect(JSON.parse(stringifyStatus(doc))).toEqual({ a: { x: 1 }, b: { y: 2 }, list: [{ z: 3, w: [1, 2] }] });
    const plain = { s: 'a\u0000hakeep-raw-0\u0000', n: [1, { m: null }] };
    expect(stringifyStatus(plain)).toBe(JSON.stringify(plain));
  });

  it('a field of the head that the raw text also has is written once, from the raw text', () => {
    const json = '{"ipvs":{"ok":true}}';
    const o = withRawTail({ name: 'check', ipvs: { ok: true } }, { json, keys: ['ipvs'] });
    expect(stringifyStatus(o)).toBe('{"name":"check","ipvs":{"ok":true}}');
  });

  it('never reads the fields the raw text stands for (they may be getters that parse)', () => {
    const json = '{"virtualServers":[{"vs":"a"}],"ipvs":null}';
    let reads = 0;
    const o: Record<string, unknown> = { name: 'check' };
    for (const k of ['virtualServers', 'ipvs']) {
      Object.defineProperty(o, k, { enumerable: true, get: () => { reads++; return (JSON.parse(json) as Record<string, unknown>)[k]; } });
    }
    withRawTail(o, { json, keys: ['virtualServers', 'ipvs'] });
    expect(stringifyStatus({ services: { check: o } })).toBe('{"services":{"check":{"name":"check","virtualServers":[{"vs":"a"}],"ipvs":null}}}');
    expect(reads).toBe(0);
  });

  it('costs less than serialising again (10,000 real servers)', () => {
    const rs = Array.from({ length: 10_000 }, (_, i) => ({ ip: `10.1.${i >> 8}.${i & 255}`, port: 80, up: i % 7 !== 0, weight: 1, checks: [{ type: 'TCP_CHECK', last: 'ok', at: 1234.5 + i }] }));
    const json = JSON.stringify({ virtualServers: [{ vs: '10.0.0.1:80', realServers: rs }] });
    const o = marked({ name: 'check' }, json);
    const plain = { name: 'check', ...(JSON.parse(json) as object) };
    const time = (f: () => string): number => {
      const runs: number[] = [];
      for (let i = 0; i < 7; i++) { const t = performance.now(); f(); runs.push(performance.now() - t); }
      return runs.sort((x, y) => x - y)[3]!;
    };
    const spliced = time(() => stringifyStatus({ services: { check: o } }));
    const again = time(() => JSON.stringify({ services: { check: plain } }));
    console.log(`status text at 10,000 real servers: spliced ${spliced.toFixed(2)} ms, serialised again ${again.toFixed(2)} ms (medians of 7)`);
    expect(JSON.parse(stringifyStatus({ services: { check: o } }))).toEqual({ services: { check: plain } });
    expect(spliced).toBeLessThan(again);
  });
});
