// `ipvsadm -S -n` at 10,000 destinations (what the checker child re-reads in one synchronous
// stretch): every destination read with its fields, and text with other spacing (tabs, runs of
// spaces) read the same as ipvsadm's single spaces (the parser splits on ' ' when it can).
import { describe, expect, it } from 'vitest';
import { parseIpvsadmSave } from '../../src/ipvs/ipvsadm-parse.js';

function saveText(sep: string): string {
  let t = '';
  for (let v = 0; v < 100; v++) {
    t += ['-A', '-t', `10.78.9.${v + 1}:80`, '-s', 'rr'].join(sep) + '\n';
    for (let i = 0; i < 100; i++) t += ['-a', '-t', `10.78.9.${v + 1}:80`, '-r', `10.78.1.${11 + (i % 10)}:${20000 + i}`, i % 2 ? '-m' : '-g', '-w', String(i % 5), '-x', '7', '-y', '3'].join(sep) + '\n';
  }
  return t;
}

describe('ipvsadm -S at 10,000 destinations', () => {
  it('reads every destination, whatever the spacing', () => {
    const r = parseIpvsadmSave(saveText(' '));
    expect(r.errors).toEqual([]);
    expect(r.table.size).toBe(100);
    const dests = [...r.table.values()].flatMap((s) => s.dests);
    expect(dests.length).toBe(10_000);
    expect(r.table.get('-t 10.78.9.42:80')?.dests[7]).toEqual({ ip: '10.78.1.18', port: 20007, family: 4, forward: 'masq', weight: 2, upperThreshold: 7, lowerThreshold: 3 });
    expect(r.table.get('-t 10.78.9.42:80')?.dests[8]).toMatchObject({ forward: 'route', weight: 3 });
    for (const sep of ['  ', '\t', ' \t ']) expect(parseIpvsadmSave(saveText(sep))).toEqual(r);
  });
});
