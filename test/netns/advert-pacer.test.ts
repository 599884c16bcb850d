// The advert pacer (native/src/advert-pacer.c) against a really stalled event loop: a hakeep
// master whose main thread is blocked on purpose (HAKEEP_TEST_STALL_MS, Atomics.wait) while an
// advert falls due, its adverts timestamped by tcpdump on another host of the segment.
//  - With the pacer (the default), the advert due inside the stall leaves on time.
//  - Without it (HAKEEP_ADVERT_PACER=0, as before), the same advert waits for the loop: proof that
//    the stall is real and that the first figure is the pacer's doing.
//  - A loop blocked for several intervals lets at most one advert out (the one already armed):
//    the thread never repeats adverts on its own, so a hung daemon falls silent and its backup
//    takes over as it would from keepalived.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab, type LabHost } from '../helpers/netns.js';
import {
  AdvertWatch, buildHakeep, hasAddress, HakeepDaemon, longestOverlapMs, requireTool, tempDir, VipWatch, vrrpConf, type LogLine,
} from './fixtures/vrrp-harness.js';

const SUBNET = '10.241.1';
const VIP = `${SUBNET}.100`;
const MASTER_IP = `${SUBNET}.10`; // d1, the lab's first host

interface Covered {
  /** When the advert was due (ms since the epoch): one interval after the one before it. */
  due: number;
  /** How late tcpdump saw it (ms). */
  lateMs: number;
  stall: { start: number; end: number };
}

describe('advert pacer: a stalled event loop does not delay a master\'s adverts (netns)', () => {
  let lab: Lab;
  let tmp: ReturnType<typeof tempDir>;
  let d1: LabHost;
  let d2: LabHost;
  let adv: AdvertWatch;
  const daemons: HakeepDaemon[] = [];

  beforeAll(async () => {
    await requireTool('tcpdump', ['--version'], 'tcpdump');
    await buildHakeep();
    lab = await createLab('hkp', ['d1', 'd2', 'obs'], SUBNET);
    tmp = tempDir('pacer');
    d1 = lab.hosts.d1!;
    d2 = lab.hosts.d2!;
    adv = await AdvertWatch.start(lab.hosts.obs!);
  });

  afterAll(async () => {
    for (const d of daemons) d.kill('SIGKILL');
    adv?.stop();
    await lab?.destroy();
    tmp?.remove();
  });

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const fromMaster = () => adv.adverts.filter((a) => a.src === MASTER_IP && a.prio === 150);
  /** The stall's own log lines carry pino's `time` (written synchronously around Atomics.wait). */
  const timeOf = (l: LogLine) => Number(l.raw.time);

  /** The pacer thread's scheduling, from /proc: [policy (1 = SCHED_FIFO), rt_priority]. */
  function pacerSched(pid: number): [number, number] | null {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      if (readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim() !== 'hakeep-advert') continue;
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
      return [Number(f[38]), Number(f[37])]; // fields 41 (policy) and 40 (rt_priority)
    }
    return null;
  }

  async function startMaster(name: string, stallMs: number, env: NodeJS.ProcessEnv, globalExtra = ''): Promise<{ d: HakeepDaemon; trigger: string }> {
    const trigger = join(tmp.dir, `${name}.stall`);
    const conf = vrrpConf({ priority: 150, state: 'MASTER', vips: [`${VIP}/24`], routerId: name }).replace('global_defs {\n', `global_defs {\n${globalExtra}`);
    const d = HakeepDaemon.start(d1, name, conf, tmp.dir, [], {
      HAKEEP_TEST_STALL_MS: String(stallMs), HAKEEP_TEST_STALL_FILE: trigger, ...env,
    });
    daemons.push(d);
    await d.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 10_000);
    await d.waitLog(/HAKEEP_TEST_STALL_MS is set/, 5000);
    const n = fromMaster().length;
    for (let i = 0; i < 50 && fromMaster().length < n + 2; i++) await sleep(100);
    expect(fromMaster().length).toBeGreaterThanOrEqual(n + 2);
    return { d, trigger };
  }

  /** Block the master's loop once (its trigger file). Once the loop runs again and `afterMs` more
   * have passed: when the stall started and ended, and the master's adverts in between. */
  async function stallOnce(d: HakeepDaemon, trigger: string, endWithinMs: number, afterMs: number): Promise<{ start: number; end: number; during: typeof adv.adverts }> {
    const from = d.lines.length;
    writeFileSync(trigger, '');
    const start = timeOf(await d.waitLog(/blocking the main thread/, 5000, from));
    const end = timeOf(await d.waitLog(/the main thread runs again/, endWithinMs, from));
    await sleep(afterMs);
    return { start, end, during: fromMaster().filter((a) => a.t > start + 5 && a.t < end - 5) };
  }

  /** Stall the loop right after an advert (the next one falls due inside the stall) until
   * `want` stalls covered a due time by 50 ms or more on both sides; at most 6 tries. */
  async function stallOverAdverts(d: HakeepDaemon, trigger: string, want: number): Promise<Covered[]> {
    const covered: Covered[] = [];
    for (let tries = 0; tries < 6 && covered.length < want; tries++) {
      const before = fromMaster().length;
      for (let i = 0; i < 30 && fromMaster().length === before; i++) await sleep(50);
      const prev = fromMaster().at(-1)!;
      const { start, end } = await stallOnce(d, trigger, 10_000, 1300); // 1.3 s: the adverts after it, captured
      const stall = { start, end };
      const due = prev.t + 1000;
      if (!(stall.start + 50 < due && due < stall.end - 50)) continue;
      const next = fromMaster().find((a) => a.t > prev.t);
      expect(next, `an advert after ${prev.t}`).toBeDefined();
      covered.push({ due, lateMs: next!.t - due, stall });
    }
    expect(existsSync(trigger)).toBe(false);
    expect(covered.length, 'stalls that covered a due advert').toBe(want);
    console.log(`${d.name}: adverts due inside a stall, late by ${covered.map((c) => `${c.lateMs.toFixed(1)} ms (stall ${(c.stall.end - c.stall.start).toFixed(0)} ms)`).join(', ')}`);
    return covered;
  }

  it('with the pacer, an advert due while the loop is blocked for 900 ms leaves on time', async () => {
    const { d, trigger } = await startMaster('paced', 900, {});
    expect(d.has(/Advert pacer: a real-time thread \(SCHED_FIFO 1\)/)).toBe(true);
    expect(pacerSched(d.pid)).toEqual([1, 1]);
    const covered = await stallOverAdverts(d, trigger, 3);
    for (const c of covered) expect(Math.abs(c.lateMs), JSON.stringify(c)).toBeLessThan(15);
    const st = await d.vrrpStatus();
    const counters = st.instances[0]!.counters as unknown as { advertsPaced: number; sendErrors: number };
    // Every periodic advert went through the pacer, the covered ones included.
    expect(counters.advertsPaced).toBeGreaterThanOrEqual(covered.length);
    expect(counters.sendErrors).toBe(0);
    // SIGTERM: priority 0, and nothing the thread had armed after it.
    const killedAt = Date.now();
    d.kill('SIGTERM');
    await d.exited;
    await sleep(2500);
    const after = adv.adverts.filter((a) => a.src === MASTER_IP && a.t >= killedAt - 50);
    const zero = after.findIndex((a) => a.prio === 0);
    expect(zero, JSON.stringify(after)).toBeGreaterThanOrEqual(0);
    expect(after.slice(zero + 1), JSON.stringify(after)).toEqual([]);
  }, 60_000);

  it('without it (HAKEEP_ADVERT_PACER=0), the same advert waits for the loop', async () => {
    const { d, trigger } = await startMaster('unpaced', 900, { HAKEEP_ADVERT_PACER: '0' });
    expect(d.has(/Advert pacer/)).toBe(false);
    const covered = await stallOverAdverts(d, trigger, 2);
    for (const c of covered) {
      // It leaves when the loop runs again: late by the rest of the stall.
      expect(c.lateMs, JSON.stringify(c)).toBeGreaterThan(40);
      expect(c.lateMs).toBeGreaterThanOrEqual(c.stall.end - c.due - 15);
    }
    d.kill('SIGTERM');
    await d.exited;
  }, 60_000);

  it('a loop blocked for 3.5 s lets at most the one armed advert out, then adverts resume', async () => {
    // vrrp_rt_priority sets the thread's priority (keepalived: its whole VRRP process's).
    const { d, trigger } = await startMaster('hung', 3500, {}, '    vrrp_rt_priority 10\n');
    expect(d.has(/Advert pacer: a real-time thread \(SCHED_FIFO 10\)/), d.dump()).toBe(true);
    expect(pacerSched(d.pid)).toEqual([1, 10]);
    const before = fromMaster().length;
    for (let i = 0; i < 30 && fromMaster().length === before; i++) await sleep(50);
    const { start, end, during } = await stallOnce(d, trigger, 10_000, 2500);
    expect(during.length, JSON.stringify(during)).toBeLessThanOrEqual(1);
    // Silent for at least two intervals: a backup would have counted them (and taken over at 3).
    const gap = fromMaster().filter((a) => a.t > start).map((a) => a.t);
    const silent = Math.max(...gap.slice(1).map((t, i) => t - gap[i]!), gap[0]! - start);
    expect(silent).toBeGreaterThan(2000);
    // And the master advertises again once its loop runs.
    expect(fromMaster().filter((a) => a.t > end).length).toBeGreaterThanOrEqual(2);
    d.kill('SIGTERM');
    await d.exited;
  }, 60_000);

  it('a master hung for 6 s: the backup takes over during the hang, the master takes back when it runs again, one holder after', async () => {
    const { d, trigger } = await startMaster('hung6', 6000, {});
    const bk = HakeepDaemon.start(d2, 'bk', vrrpConf({ priority: 100, vips: [`${VIP}/24`], routerId: 'bk' }), tmp.dir);
    daemons.push(bk);
    await bk.waitLog(/^\(VI_1\) Entering BACKUP STATE \(init\)$/, 10_000);
    const w1 = await VipWatch.start(d1, VIP);
    const w2 = await VipWatch.start(d2, VIP);
    try {
      await sleep(4500); // the backup hears the master for longer than its down interval
      expect(bk.has(/Entering MASTER STATE/), bk.dump()).toBe(false);
      const { start, end, during } = await stallOnce(d, trigger, 15_000, 3000);
      // During the hang the master fell silent (one armed advert at most) and the backup took over.
      expect(during.length, JSON.stringify(during)).toBeLessThanOrEqual(1);
      const took = w2.events.find((e) => e.present && e.t > start);
      expect(took, bk.dump()).toBeDefined();
      expect(took!.t).toBeLessThan(end);
      // Once the master runs again its adverts (150 > 100) send the backup back; one holder remains.
      expect(await hasAddress(d1, VIP)).toBe(true);
      expect(await hasAddress(d2, VIP), bk.dump()).toBe(false);
      const overlap = longestOverlapMs(w1, w2, end, Date.now());
      console.log(`hung 6 s: backup held the VIP ${(took!.t - start).toFixed(0)} ms into the hang; both held it ${overlap.toFixed(1)} ms after the master ran again`);
      expect(overlap).toBeLessThan(1000);
      expect((await bk.vrrpStatus()).instances[0]!.state).toBe('BACKUP');
      const st = (await d.vrrpStatus()).instances[0]!;
      expect(st.state).toBe('MASTER');
      expect(st.counters.advertsSent).toBeGreaterThan(0);
    } finally {
      w1.stop();
      w2.stop();
      bk.kill('SIGTERM');
      d.kill('SIGTERM');
      await Promise.all([bk.exited, d.exited]);
    }
  }, 90_000);
});
