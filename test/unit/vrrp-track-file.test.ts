// track_file against real files in a temporary directory: written, replaced by rename, deleted,
// created again, garbage; plus keepalived's number parsing and weight table.
import { mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/daemon/log.js';
import { parseConfigText } from '../../src/config/load.js';
import { fileEffect, parseTrackFileValue, startTrackers, type TrackerSink } from '../../src/vrrp/trackers/index.js';

class Sink implements TrackerSink {
  weights = new Map<string, number>();
  faults = new Map<string, string>();
  setWeight(i: string, k: string, w: number): void { if (w === 0) this.weights.delete(`${i} ${k}`); else this.weights.set(`${i} ${k}`, w); }
  setFault(i: string, src: string, subj: string, d: string): void { this.faults.set(`${i} ${src}:${subj}`, d); }
  clearFault(i: string, src: string, subj: string): void { this.faults.delete(`${i} ${src}:${subj}`); }
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function until(what: string, ok: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function setup(body: (dir: string) => string) {
  const dir = mkdtempSync(join(tmpdir(), 'hakeep-track-file-'));
  dirs.push(dir);
  const loaded = parseConfigText(body(dir));
  expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const sink = new Sink();
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (l: string) => { lines.push(String(JSON.parse(l).msg)); } } });
  const trackers = startTrackers(loaded.config, {
    sink, log, kernel: { link: () => null, subscribe: () => () => {} }, runner: { run: () => new Promise(() => {}) }, procEvents: null,
  });
  return { dir, sink, lines, trackers, diagnostics: loaded.diagnostics };
}

const inst = (track: string): string =>
  `vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n priority 100\n virtual_ipaddress { 10.0.0.1 }\n track_file {\n ${track}\n }\n}\n`;

describe('track_file value parsing (strtol base 0, keepalived\'s range)', () => {
  const cases: Array<[string, number | 'invalid']> = [
    ['5', 5], ['  -12\n', -12], ['+7', 7], ['0x1f', 31], ['010', 8], ['09', 0], ['12abc', 12], ['abc', 0], ['', 0],
    ['0x', 0], ['2147483648', 2147483648], ['2147483649', 'invalid'], ['-2147483648', -2147483648], ['-2147483649', 'invalid'],
    ['99999999999999999999999', 'invalid'],
  ];
  for (const [text, want] of cases) {
    it(`${JSON.stringify(text)} → ${want}`, () => {
      const v = parseTrackFileValue(text);
      expect(v.ok ? v.value : 'invalid').toBe(want);
    });
  }

  it('weights: value × weight (× -1 reverse), clamped to -254..253, -254 = FAULT; weight 0: non-zero = FAULT', () => {
    expect(fileEffect(3, { weight: 10, reverse: false })).toMatchObject({ fault: false, weight: 30 });
    expect(fileEffect(3, { weight: 10, reverse: true })).toMatchObject({ fault: false, weight: -30 });
    expect(fileEffect(100, { weight: 10, reverse: false })).toMatchObject({ fault: false, weight: 253 });
    expect(fileEffect(-100, { weight: 10, reverse: false })).toMatchObject({ fault: true, weight: 0, status: -254 });
    expect(fileEffect(-253, { weight: 1, reverse: false })).toMatchObject({ fault: false, weight: -253 });
    expect(fileEffect(-254, { weight: 1, reverse: false })).toMatchObject({ fault: true });
    expect(fileEffect(1, { weight: 0, reverse: false })).toMatchObject({ fault: true });
    expect(fileEffect(0, { weight: 0, reverse: false })).toMatchObject({ fault: false });
    expect(fileEffect(0, { weight: 0, reverse: true })).toMatchObject({ fault: true });
    expect(fileEffect(7, { weight: 0, reverse: true })).toMatchObject({ fault: false });
  });
});

describe('track_file on real files', () => {
  it('follows writes, replacement by rename, deletion, re-creation and garbage', async () => {
    const s = setup((d) => `track_file tf {\n file ${d}/value\n weight 10\n}\n${inst('tf')}`);
    const path = join(s.dir, 'value');
    const w = (): number => s.sink.weights.get('VI_1 file:tf') ?? 0;
    expect(w()).toBe(0); // missing = 0
    writeFileSync(path, '3\n');
    await until('value 3', () => w() === 30);
    writeFileSync(join(s.dir, 'tmp'), '-2\n');
    renameSync(join(s.dir, 'tmp'), path);
    await until('value -2 by rename', () => w() === -20);
    unlinkSync(path);
    await until('deleted = 0', () => w() === 0);
    writeFileSync(path, '5');
    await until('created again', () => w() === 50);
    writeFileSync(path, 'garbage');
    await until('garbage = 0', () => w() === 0);
    writeFileSync(path, '99999999999');
    await new Promise((r) => setTimeout(r, 100));
    expect(w()).toBe(0); // an invalid number keeps the previous value
    expect(s.lines.some((l) => l.startsWith('Invalid number 99999999999 read from'))).toBe(true);
    writeFileSync(path, '-30');
    await until('-300 clamps to FAULT', () => s.sink.faults.has('VI_1 file:tf'));
    expect(w()).toBe(0);
    writeFileSync(path, '1');
    await until('out of FAULT', () => !s.sink.faults.has('VI_1 file:tf') && w() === 10);
    await s.trackers.stop();
    expect(s.sink.weights.size).toBe(0);
  });

  it('weight 0 (the sync-group correction of the default weight 1): non-zero = FAULT, logged at start', async () => {
    const s = setup((d) => {
      writeFileSync(join(d, 'flag'), '1\n');
      return `track_file flag {\n file ${d}/flag\n}\n${inst('flag weight 0')}`;
    });
    expect(s.sink.faults.get('VI_1 file:flag')).toBe('has status -254 (value 1)');
    expect(s.lines).toContain('(VI_1): entering FAULT state (tracked file flag has status -254)');
    writeFileSync(join(s.dir, 'flag'), '0\n');
    await until('cleared', () => s.sink.faults.size === 0);
  });

  it('init_file writes the value when the file is missing, and only then without overwrite', () => {
    const s = setup((d) => {
      writeFileSync(join(d, 'kept'), '7\n');
      return `track_file a {\n file ${d}/new\n init_file 4\n}\ntrack_file b {\n file ${d}/kept\n init_file 4\n}\ntrack_file c {\n file ${d}/over\n init_file -3 overwrite\n}\n${inst('a\n b\n c')}`;
    });
    expect(readFileSync(join(s.dir, 'new'), 'utf8')).toBe('4\n');
    expect(readFileSync(join(s.dir, 'kept'), 'utf8')).toBe('7\n');
    expect(readFileSync(join(s.dir, 'over'), 'utf8')).toBe('-3\n');
    expect(s.sink.weights.get('VI_1 file:a')).toBe(4);
    expect(s.sink.weights.get('VI_1 file:b')).toBe(7);
    expect(s.sink.weights.get('VI_1 file:c')).toBe(-3);
  });

  it('a directory that does not exist removes the tracker with keepalived\'s words', () => {
    const s = setup((d) => `track_file gone {\n file ${d}/no/such/dir/x\n}\n${inst('gone')}`);
    expect(s.lines.some((l) => l.startsWith('Track file directory for gone does not exist - removing'))).toBe(true);
    expect(s.sink.faults.size + s.sink.weights.size).toBe(0);
  });
});
