// The record of managed IPVS services (/run/hakeep/ipvs-owned.json by default): written atomically,
// read back, and a damaged record never leads to removing anything.
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_OWNED_PATH, fileOwnedStore } from '../../src/ipvs/owned.js';
import { Reconciler } from '../../src/ipvs/reconciler.js';
import type { IpvsServiceAddr } from '../../src/ipvs/model.js';
import { FakeClock } from './ipvs-fixtures.js';
import { FakeKernel } from './ipvs-kernel-fake.js';

const a1: IpvsServiceAddr = { kind: 'ip', protocol: 'tcp', ip: '10.0.0.1', port: 80, family: 4 };
const a2: IpvsServiceAddr = { kind: 'fwmark', fwmark: 7, family: 6 };

describe('fileOwnedStore', () => {
  it('defaults to /run/hakeep/ipvs-owned.json', () => {
    expect(DEFAULT_OWNED_PATH).toBe('/run/hakeep/ipvs-owned.json');
    expect(fileOwnedStore().where).toBe('/run/hakeep/ipvs-owned.json');
  });

  it('has no record at first, then reads back what it wrote (creating the directory), leaving no temporary file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hku-owned-'));
    const store = fileOwnedStore(join(dir, 'sub', 'ipvs-owned.json'));
    expect(await store.load()).toBeNull();
    await store.save([a1, a2]);
    expect(await store.load()).toEqual([a1, a2]);
    expect(JSON.parse(readFileSync(join(dir, 'sub', 'ipvs-owned.json'), 'utf8'))).toMatchObject({ version: 1, writer: 'hakeep' });
    expect(readdirSync(join(dir, 'sub'))).toEqual(['ipvs-owned.json']);
  });

  it('refuses a file that is not its record, naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hku-owned-'));
    const path = join(dir, 'ipvs-owned.json');
    writeFileSync(path, '{"version":1,"services":[{"kind":"ip"}]}');
    await expect(fileOwnedStore(path).load()).rejects.toThrow(`${path} is not a hakeep IPVS record (version 1)`);
  });

  it('a damaged record: the reconciler says so and removes nothing it was not told to manage', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hku-owned-'));
    const path = join(dir, 'ipvs-owned.json');
    writeFileSync(path, 'not json');
    const kernel = new FakeKernel();
    kernel.restore(['-A -t 10.0.0.9:80 -s rr']);
    const clock = new FakeClock();
    const logs: string[] = [];
    const fake = kernel.backend();
    const rec = new Reconciler({ backend: fake, timers: clock, log: (_l, m) => logs.push(m), owned: fileOwnedStore(path) });
    rec.setDesired([]);
    rec.start();
    await clock.advance(1);
    await rec.firstSync; // real file I/O: wait for the sync itself
    expect(kernel.save()).toBe('-A -t 10.0.0.9:80 -s rr\n');
    expect(logs[0]).toMatch(new RegExp(`^IPVS: cannot read the record of managed services ${path} \\(.*\\); services removed from the config since the last run stay in the kernel\\. Delete the file if it is damaged$`));
    await rec.stop();
  });
});
