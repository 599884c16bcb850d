// The fault lab against the behavioural reference: two keepalived 2.2.7 directors (d1 priority
// 100 state MASTER, d2 priority 90 BACKUP) with the client probing the VIP. Proves the lab's
// faults and measurements, and records keepalived's figures as the baseline for hakeep
// (test/faults/hakeep-faults.test.ts). Every measured figure is printed.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/netns.js';
import { FaultLab, sleep, type ClientProbe, type FaultDaemon, type LinkFlavour } from './lab.js';

describe('keepalived 2.2.7 under faults (reference for the fault lab)', () => {
  let lab: FaultLab;

  beforeAll(async () => {
    lab = await FaultLab.create({ needKeepalived: true });
  }, 60_000);

  afterEach(async () => {
    await lab?.reset();
  }, 30_000);

  afterAll(async () => {
    await lab?.destroy();
  }, 30_000);

  /** d2 BACKUP 90 and d1 MASTER 100, the probe running; returns once d1 serves the client. */
  async function elect(): Promise<{ k1: FaultDaemon; k2: FaultDaemon; probe: ClientProbe }> {
    const k2 = lab.start('d2', { kind: 'keepalived', priority: 90 });
    const k1 = lab.start('d1', { kind: 'keepalived', priority: 100, state: 'MASTER' });
    const probe = await lab.startProbe(60_000);
    await k1.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 8000);
    await k2.waitLog(/^\(VI_1\) Entering BACKUP STATE \(init\)$/, 8000);
    const s = await lab.settle(lab.vip, 5000);
    expect(s.holder, lab.logs()).toBe('d1');
    return { k1, k2, probe };
  }

  it.each<LinkFlavour>(['admin', 'carrier'])('master link down (%s): FAULT, d2 takes over; link up: d1 preempts back', async (flavour) => {
    const { k1, k2, probe } = await elect();

    // Down: keepalived sees the link go, enters FAULT and drops the VIP; d2 waits out
    // Master_Down_Interval (no priority 0 can get out) and takes over.
    let m1 = k1.mark();
    let m2 = k2.mark();
    const tDown = await lab.linkDown('d1', flavour);
    await k1.waitLog(/^Netlink reports eth0 down$/, 3000, m1);
    await k1.waitLog(/^\(VI_1\) Entering FAULT STATE$/, 3000, m1);
    const gone = await lab.watches.d1.next(false, tDown, 3000);
    await k2.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 8000, m2);
    const down = await lab.settle(lab.vip, 5000);
    expect(down.holder, lab.logs()).toBe('d2');
    expect(await lab.arpDirector()).toBe('d2');
    const d2Up = await lab.watches.d2.next(true, tDown, 1000);
    await probe.caughtUp(down.at);
    console.log(`[keepalived ${flavour}] link down: VIP left d1 ${Math.round(gone.t - tDown)} ms after the fault, ` +
      `on d2 after ${Math.round(d2Up.t - tDown)} ms; client outage ${probe.longestGapMs(tDown, down.at)} ms`);

    // Up: FAULT → BACKUP, then d1 (100) discards d2's (90) adverts and preempts.
    m1 = k1.mark();
    m2 = k2.mark();
    const tUp = await lab.linkUp('d1', flavour);
    await k1.waitLog(/^Netlink reports eth0 up$/, 3000, m1);
    await k1.waitLog(/^\(VI_1\) Entering BACKUP STATE$/, 3000, m1);
    await k1.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 8000, m1);
    expect(k1.indexOf(/^\(VI_1\) Entering BACKUP STATE$/, m1)).toBeLessThan(k1.indexOf(/^\(VI_1\) Entering MASTER STATE$/, m1));
    await k2.waitLog(/^\(VI_1\) Entering BACKUP STATE$/, 3000, m2);
    const up = await lab.settle(lab.vip, 5000);
    expect(up.holder, lab.logs()).toBe('d1');
    await sleep(500);
    const tEnd = Date.now();
    await probe.caughtUp(tEnd);
    const gap = probe.longestGapMs(tUp, tEnd);
    const dbl = lab.longestDoubleHolderMs(tUp, tEnd);
    const d1Up = await lab.watches.d1.next(true, tUp, 1000);
    const ho = lab.handover('d2', 'd1', tUp);
    console.log(`[keepalived ${flavour}] link up: d1 MASTER after ${Math.round(d1Up.t - tUp)} ms; client longest gap after link up ` +
      `${gap} ms (${probe.summary(tUp, tEnd)}); handover d1 add → d2 drop ${ho?.overlapMs ?? '?'} ms; two holders for ${dbl} ms; ` +
      `settled ${up.ms} ms after d1's MASTER line`);
    expect(lab.macOf('d1')).toBe(await lab.arpEntry());
    expect(await lab.assertOneHolder()).toBe('d1');
    expect(probe.servers(tUp, tEnd)).toEqual(['d2', 'd1']);
    expect(gap, probe.summary(tUp, tEnd)).toBeLessThan(1000);
  }, 40_000);

  it('partition then heal: one master after the heal, the client follows it', async () => {
    const { k1, k2, probe } = await elect();
    const m2 = k2.mark();
    const tPart = await lab.partition();
    // d2 no longer hears d1: it takes over after Master_Down_Interval; the client follows its GARPs.
    await k2.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 8000, m2);
    await lab.waitArp('d2', 3000);
    expect(await lab.holders()).toEqual(['d1', 'd2']);
    expect(k1.has(/^\(VI_1\) Entering BACKUP STATE$/), k1.dump()).toBe(false);
    console.log(`[keepalived partition] d2 MASTER ${Math.round((await lab.watches.d2.next(true, tPart, 1000)).t - tPart)} ms after the partition`);
    await sleep(500);

    const m1 = k1.mark();
    const m2b = k2.mark();
    const tHeal = await lab.heal();
    const s = await lab.settle(lab.vip, 5000);
    expect(s.holder, lab.logs()).toBe('d1');
    await k2.waitLog(/^\(VI_1\) Entering BACKUP STATE$/, 3000, m2b);
    const d2Gone = await lab.watches.d2.next(false, tHeal, 3000);
    const told = k1.find(/Received advert from \S+ with lower priority 90, ours 100/, m1);
    await sleep(300);
    const tEnd = Date.now();
    await probe.caughtUp(tEnd);
    console.log(`[keepalived partition] heal → one holder and the client's ARP on d1 after ${s.at - tHeal} ms ` +
      `(d2 dropped the VIP after ${Math.round(d2Gone.t - tHeal)} ms; d1 logged "${told?.msg ?? 'no lower-priority line'}"); ` +
      `client after heal: ${probe.summary(tHeal, tEnd)}`);
    expect(await lab.assertOneHolder()).toBe('d1');
    expect(await lab.arpDirector()).toBe('d1');
  }, 40_000);

  it('state MASTER priority 100 joining a running master of priority 90 waits Master_Down_Interval', async () => {
    // The bound hakeep is held to in hakeep-faults.test.ts ("joining a running master").
    // Past its second GARP burst (garp_master_delay, 1 s here): a takeover at that moment would race it.
    const k2 = lab.start('d2', { kind: 'keepalived', priority: 90, state: 'MASTER', conf: { extra: ['garp_master_delay 1'] } });
    await waitFor('k2 to send its second GARP burst', () => k2.lines.filter((l) => /Sending\/queueing gratuitous ARPs/.test(l.msg)).length >= 2, 10_000);
    await lab.settle(lab.vip, 3000);
    const tStart = Date.now();
    const k1 = lab.start('d1', { kind: 'keepalived', priority: 100, state: 'MASTER' });
    const init = await k1.waitLog(/^\(VI_1\) Entering BACKUP STATE \(init\)$/, 8000);
    const master = await k1.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 8000);
    const wire = await lab.adverts.next(lab.host('d1').ip, 100, tStart, 1000);
    const took = master.at - init.at;
    console.log(`[keepalived join] BACKUP (init) → MASTER ${took} ms (log arrival); first advert from d1 ${Math.round(wire.t - init.at)} ms ` +
      `after the init line; ${k1.lines.filter((l) => /received lower priority \(90\)/.test(l.msg)).length} lower-priority adverts discarded`);
    const s = await lab.settle(lab.vip, 3000);
    expect(s.holder).toBe('d1');
    expect(took).toBeGreaterThanOrEqual(3500);
    expect(took).toBeLessThanOrEqual(4200);
  }, 40_000);
});
