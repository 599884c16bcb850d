// Pure pieces of the script runner: the bounded output tail, line splitting, "USER [GROUP]".
import { describe, expect, it } from 'vitest';
import { LineSplitter, MAX_LINE_CHARS, OutputTail } from '../../src/script/output.js';
import { parseUserSpec } from '../../src/script/users.js';

describe('OutputTail', () => {
  it('keeps the last N bytes across chunks', () => {
    const t = new OutputTail(8);
    for (const c of ['abc', 'defg', 'hijkl', 'm']) t.push(Buffer.from(c));
    expect(t.text()).toBe('fghijklm');
    t.push(Buffer.from('0123456789'));
    expect(t.text()).toBe('23456789');
  });

  it('is empty until something is pushed', () => {
    expect(new OutputTail(4096).text()).toBe('');
  });
});

describe('LineSplitter', () => {
  const split = (chunks: Array<string | Buffer>): string[] => {
    const out: string[] = [];
    const s = new LineSplitter((l) => out.push(l));
    for (const c of chunks) s.push(typeof c === 'string' ? Buffer.from(c) : c);
    s.end();
    return out;
  };

  it('splits on newlines across chunks, drops \\r, and keeps a last line without newline', () => {
    expect(split(['a\nb', 'c\r\n', '\nlast'])).toEqual(['a', 'bc', '', 'last']);
  });

  it('does not break a UTF-8 character cut between chunks', () => {
    const euro = Buffer.from('€\n');
    expect(split([euro.subarray(0, 1), euro.subarray(1)])).toEqual(['€']);
  });

  it('cuts an over-long line once and skips the rest of it', () => {
    const long = 'x'.repeat(MAX_LINE_CHARS * 3);
    const lines = split([long.slice(0, 1000), long.slice(1000), '\nnext\n']);
    expect(lines).toEqual([`${'x'.repeat(MAX_LINE_CHARS)}… (cut)`, 'next']);
  });
});

describe('parseUserSpec', () => {
  it.each([
    ['nobody', { user: 'nobody' }],
    ['nobody nogroup', { user: 'nobody', group: 'nogroup' }],
    ['nobody:nogroup', { user: 'nobody', group: 'nogroup' }],
    ['  a  b ', { user: 'a', group: 'b' }],
    ['', null],
    ['a b c', null],
  ])('%j', (spec, want) => {
    expect(parseUserSpec(spec)).toEqual(want);
  });
});
