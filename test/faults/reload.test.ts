// Reload without disruption (SIGHUP), on the fault lab: two directors, a client fetching through
// the VIP every 10 ms. An unchanged file changes nothing on the wire (no transition, no advert gap,
// no notify); a new priority is in the next advert; a new VIP comes up on the master without a
// transition; a broken file is refused and the old configuration keeps running; 100 reloads in a
// row lose no request; `hakeep plan` says what the reload then does.
import { appendFileSync, chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/netns.js';
import { buildHakeep, HAKEEP_BIN, vrrpConf } from '../netns/fixtures/vrrp-harness.js';
import { FaultLab, sleep, type FaultDaemon } from './lab.js';

let lab: FaultLab;

/** HAKEEP_FAULTS_BIN runs the scenarios against another build (the lab honours it too). */
const BIN = process.env.HAKEEP_FAULTS_BIN ?? HAKEEP_BIN;

beforeAll(async () => {
  if (!process.env.HAKEEP_FAULTS_BIN) await buildHakeep();
  lab = await FaultLab.create({ needKeepalived: false });
}, 240_000);
afterEach(async () => { await lab?.reset(); }, 30_000);
afterAll(async () => { await lab?.destroy(); }, 30_000);

const RE = {
  master: /^\(VI_1\) Entering MASTER STATE$/,
  transition: /Entering (MASTER|BACKUP|FAULT) STATE/,
  reloaded: /^Reload finished$/,
};

/** d1 master (100) and d2 backup (90), both hakeep, the client probing; returns d1's config path. */
async function pair(extra: string[] = []): Promise<{ h1: FaultDaemon; file: string; conf: (o?: { prio?: number; vips?: string[] }) => string }> {
  lab.start('d2', { kind: 'hakeep', priority: 90 });
  const conf = (o: { prio?: number; vips?: string[] } = {}): string => vrrpConf({
    routerId: 'd1', priority: o.prio ?? 100, state: 'MASTER', vips: o.vips ?? [`${lab.vip}/24`], extra,
  });
  const h1 = lab.start('d1', { kind: 'hakeep', priority: 100, state: 'MASTER', conf: { extra } });
  await h1.waitLog(RE.master, 10_000);
  await lab.settle(lab.vip, 3000);
  const file = join(h1.tmpDir, `${h1.name}.conf`);
  return { h1, file, conf };
}

async function reload(h: FaultDaemon): Promise<void> {
  const from = h.mark();
  h.kill('SIGHUP');
  await h.waitLog(/^(Reload finished|.*not reloaded, the running configuration stays.*)$/, 10_000, from);
}

describe('reload (SIGHUP)', () => {
  it('an unchanged file: no transition, no advert gap beyond the interval, no notify', async () => {
    const rec = join('/tmp', `hkf-reload-notify-${process.pid}`);
    const notify = `${rec}.sh`;
    writeFileSync(notify, `#!/bin/sh\necho "$@" >> ${rec}\n`);
    chmodSync(notify, 0o755);
    const { h1 } = await pair([`notify "${notify}"`]);
    const probe = await lab.startProbe(60_000);
    await waitFor('the notify record', () => existsSync(rec), 5000);
    await sleep(300);
    const before = readFileSync(rec, 'utf8');
    const t0 = Date.now();
    const from = h1.mark();
    for (let i = 0; i < 3; i++) {
      await reload(h1);
      await sleep(700);
    }
    await sleep(1500);
    const t1 = Date.now();
    expect(h1.has(RE.transition, from), h1.tail()).toBe(false);
    expect(readFileSync(rec, 'utf8')).toBe(before);
    const adverts = lab.adverts.adverts.filter((a) => a.src === lab.host('d1').ip && a.t >= t0 && a.t <= t1).map((a) => a.t);
    const gaps = adverts.slice(1).map((t, i) => t - adverts[i]!);
    expect(Math.max(...gaps), `advert times ${adverts.join(', ')}`).toBeLessThan(1100);
    expect(probe.failures(t0, t1)).toEqual([]);
  });

  it('a new priority is in the next advert, a new VIP comes up on the master, without a transition', async () => {
    const { h1, file, conf } = await pair();
    const vip2 = `${lab.subnet}.101`;
    const from = h1.mark();
    writeFileSync(file, conf({ prio: 120, vips: [`${lab.vip}/24`, `${vip2}/24`] }));
    const t0 = Date.now();
    await reload(h1);
    expect(h1.has(/reload: instance VI_1: changed in place: priority, virtual_ipaddress/, from), h1.tail()).toBe(true);
    await lab.adverts.next(lab.host('d1').ip, 120, t0, 3000);
    await waitFor(`${vip2} on d1`, async () => (await lab.holders(vip2)).join() === 'd1', 3000);
    expect(h1.has(RE.transition, from)).toBe(false);
  });

  it('a broken file is refused with its errors (file:line) and the running configuration stays', async () => {
    const { h1, file, conf } = await pair();
    const good = conf();
    const from = h1.mark();
    writeFileSync(file, `${good}\nvrrp_instance VI_2 {\n    interface eth0\n    virtual_router_id 999\n    priority 100\n}\n`);
    await reload(h1);
    expect(h1.has(/not reloaded, the running configuration stays/, from), h1.tail()).toBe(true);
    expect(h1.has(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+: `), from)).toBe(true);
    expect(h1.has(RE.transition, from)).toBe(false);
    expect((await lab.holders()).join()).toBe('d1');
  });

  it('100 reloads in a row under client traffic lose no request; `hakeep plan` says what a reload does', async () => {
    const { h1, file, conf } = await pair();
    const probe = await lab.startProbe(120_000);
    await sleep(500);
    const t0 = Date.now();
    const from = h1.mark();
    for (let i = 0; i < 100; i++) {
      // Alternate two equivalent files (a comment differs) so every reload reads a new file;
      // written as editors do (a new file renamed over the old), never half-written.
      writeFileSync(`${file}.new`, `${conf()}${i % 2 ? '! again\n' : ''}`);
      renameSync(`${file}.new`, file);
      h1.kill('SIGHUP');
      await sleep(20);
    }
    await waitFor('the reloads to finish', () => h1.lines.slice(from).filter((l) => RE.reloaded.test(l.msg)).length >= 2 && !h1.lines.at(-1)!.msg.startsWith('Reloading'), 30_000);
    await sleep(1000);
    const t1 = Date.now();
    expect(probe.failures(t0, t1), `${probe.summary(t0, t1)}\n${lab.logs(60)}`).toEqual([]);
    expect(h1.has(RE.transition, from)).toBe(false);
    console.log(`[reload] 100 SIGHUPs in 2 s: ${h1.lines.slice(from).filter((l) => RE.reloaded.test(l.msg)).length} reloads ran (bursts collapse), ${probe.summary(t0, t1)}`);

    // plan: ask the daemon what a reload to a new file would do, then do it and compare.
    const next = join(h1.tmpDir, 'next.conf');
    writeFileSync(next, conf({ prio: 110 }));
    const plan = await lab.host('d1').exec(['node', BIN, 'plan', '-f', next, '--status-socket', h1.statusSocket!]);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout.trim()).toBe('vrrp: instance VI_1: changed in place: priority');
    writeFileSync(file, readFileSync(next, 'utf8'));
    const mark = h1.mark();
    await reload(h1);
    const applied = h1.lines.slice(mark).filter((l) => l.msg.startsWith('reload: ')).map((l) => `vrrp: ${l.msg.slice('reload: '.length)}`);
    expect(applied).toEqual(plan.stdout.trim().split('\n'));
    appendFileSync(file, '');
  });
});
