// hakeep + hakeep on a namespaced Ethernet segment: election, crash and graceful failover timing,
// preemption back, nopreempt, equal priorities, the adverts as tcpdump decodes them, and the GARP
// a client sees from the new master.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { createLab, type Lab, type LabHost } from '../helpers/netns.js';
import { ArpCapture } from './fixtures/net-helpers.js';
import {
  AdvertWatch, buildHakeep, hasAddress, HakeepDaemon, longestOverlapMs, requireTool, tcpdumpVrrp, tempDir, VipWatch, vrrpConf,
  type VrrpStatusDoc,
} from './fixtures/vrrp-harness.js';

const SENDER = fileURLToPath(new URL('./fixtures/vrrp-send.mjs', import.meta.url));

const SUBNET = '10.233.1';
const VIP = `${SUBNET}.100`;
// RFC 3768 §6.1 with advert_int 1 and the backup's priority 100.
const MASTER_DOWN_MS = 3 * 1000 + ((256 - 100) * 1000) / 256; // 3609 ms
const SKEW_MS = ((256 - 100) * 1000) / 256; // 609 ms

describe('VRRP failover between two hakeep daemons (netns)', () => {
  let lab: Lab;
  let tmp: ReturnType<typeof tempDir>;
  let d1: LabHost;
  let d2: LabHost;
  let w1: VipWatch;
  let w2: VipWatch;
  let arp: ArpCapture;
  let adv: AdvertWatch;
  const daemons: HakeepDaemon[] = [];
  let h1: HakeepDaemon;
  let h2: HakeepDaemon;

  const start = (host: LabHost, name: string, conf: string): HakeepDaemon => {
    const d = HakeepDaemon.start(host, name, conf, tmp.dir);
    daemons.push(d);
    return d;
  };
  const masterConf = vrrpConf({ priority: 150, state: 'MASTER', vips: [`${VIP}/24`], routerId: 'd1' });
  const backupConf = vrrpConf({ priority: 100, vips: [`${VIP}/24`], routerId: 'd2' });
  const dumpAll = (): string => daemons.map((d) => d.dump()).join('\n');

  beforeAll(async () => {
    await requireTool('tcpdump', ['--version'], 'tcpdump');
    await buildHakeep();
    lab = await createLab('hkv', ['d1', 'd2', 'client'], SUBNET);
    tmp = tempDir('failover');
    d1 = lab.hosts.d1!;
    d2 = lab.hosts.d2!;
    w1 = await VipWatch.start(d1, VIP);
    w2 = await VipWatch.start(d2, VIP);
    arp = await ArpCapture.start(lab.hosts.client!);
    adv = await AdvertWatch.start(lab.hosts.client!);
  });

  afterAll(async () => {
    for (const d of daemons) d.kill('SIGKILL');
    w1?.stop();
    w2?.stop();
    arp?.stop();
    adv?.stop();
    await lab?.destroy();
    tmp?.remove();
  });

  it('elects the higher priority, which holds the VIP and sends valid VRRPv2 adverts', async () => {
    // d1 first: `state MASTER` waits a whole Master_Down_Interval (as keepalived does), so a
    // backup started earlier could win the first election and be preempted.
    h1 = start(d1, 'd1', masterConf);
    await h1.waitLog(/^\(VI_1\) Entering BACKUP STATE \(init\)$/, 10_000);
    h2 = start(d2, 'd2', backupConf);
    await h2.waitLog(/^\(VI_1\) Entering BACKUP STATE \(init\)$/, 10_000);
    const m = await h1.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 8000);
    expect(m.raw).toMatchObject({ instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'master_down_timer' });
    await w1.next(true, 0, 3000);
    // d2 hears d1 and stays backup well past its own Master_Down_Interval.
    await new Promise((r) => setTimeout(r, MASTER_DOWN_MS + 500));
    expect(h2.has(/Entering MASTER STATE/), dumpAll()).toBe(false);
    expect(w2.events.filter((e) => e.present)).toEqual([]);

    const dump = await tcpdumpVrrp(lab.hosts.client!, 3);
    const adverts = dump.split('\n').filter((l) => l.includes('VRRPv2'));
    expect(adverts, dump).toHaveLength(3);
    for (const a of adverts) {
      expect(a).toContain(`${d1.ip} > 224.0.0.18: VRRPv2, Advertisement, vrid 51, prio 150, authtype simple, intvl 1s, length 20, addrs: ${VIP} auth "hkvpass1"`);
    }
    expect(dump).toContain('tos 0xc0, ttl 255');
    expect(dump).not.toMatch(/bad cksum|wrong/i);
  });

  it('counts and ignores malformed and hostile packets without a state change', async () => {
    const total = (st: VrrpStatusDoc): number => Object.values(st.instances[0]!.counters.rejected).reduce((a, b) => a + b, 0);
    const [before1, before2] = [await h1.vrrpStatus(), await h2.vrrpStatus()];
    const r = await lab.hosts.client!.exec(['node', SENDER, lab.hosts.client!.ip, '51', '150'], 30_000);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { sent?: Record<string, number> };
    expect(out.sent, r.stdout + r.stderr).toBeDefined();
    const sent = Object.values(out.sent!).reduce((a, b) => a + b, 0);
    expect(sent).toBe(160);
    await new Promise((res) => setTimeout(res, 300));
    const [after1, after2] = [await h1.vrrpStatus(), await h2.vrrpStatus()];
    for (const [b, a] of [[before1, after1], [before2, after2]] as const) {
      expect(total(a) - total(b), JSON.stringify(a.instances[0]!.counters)).toBe(sent);
      for (const reason of Object.keys(out.sent!).filter((k) => k !== 'random')) {
        expect(a.instances[0]!.counters.rejected[reason] ?? 0, reason).toBeGreaterThan(b.instances[0]!.counters.rejected[reason] ?? 0);
      }
    }
    expect(after1.instances[0]!.counters.advertsReceived).toBe(before1.instances[0]!.counters.advertsReceived);
    expect([after1.instances[0]!.state, after2.instances[0]!.state]).toEqual(['MASTER', 'BACKUP']);
    expect(h1.has(/^\(VI_1\) Invalid VRRPv2 checksum$/)).toBe(true);
    expect(h1.has(/^\(VI_1\) received an invalid passwd!$/)).toBe(true);
    // Rate-limited: one line per reason however many packets.
    expect(h1.lines.filter((l) => l.msg === '(VI_1) Invalid VRRPv2 checksum').length).toBe(1);
    expect(h1.running && h2.running).toBe(true);
  });

  it('kill -9 of the master: the backup holds the VIP after about Master_Down_Interval and GARPs it', async () => {
    const t0 = Date.now();
    h1.kill('SIGKILL');
    const up = await w2.next(true, t0, MASTER_DOWN_MS + 3000);
    // Measured from the dead master's last advert on the wire, where the backup's timer starts.
    const took = up.t - adv.lastFrom(d1.ip, up.t)!.t;
    expect(took, dumpAll()).toBeGreaterThan(MASTER_DOWN_MS - 10);
    expect(took, dumpAll()).toBeLessThan(MASTER_DOWN_MS + 300);
    const m = await h2.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 1000);
    expect(m.raw.reason).toBe('master_down_timer');
    // The client sees a gratuitous ARP: sender IP = VIP, sender MAC = the new master's.
    await new Promise((r) => setTimeout(r, 300));
    const garps = arp.garps(VIP).filter((f) => f.timeMs >= t0);
    expect(garps.length).toBeGreaterThanOrEqual(1);
    expect(garps.every((f) => f.sha === d2.mac && f.ethSrc === d2.mac)).toBe(true);
    // keepalived's first burst: garp_master_repeat (5) per VIP.
    expect(garps.length).toBe(5);
  });

  it('the old master returns, drops its stale VIP, and preempts back', async () => {
    const t0 = Date.now();
    h1 = start(d1, 'd1b', masterConf);
    // kill -9 left the VIP on d1: hakeep clears it at startup, before the election.
    const cleared = await w1.next(false, t0, 5000);
    await h1.waitLog(/^\(VI_1\) received lower priority \(100\) advert from 10\.233\.1\.11 - discarding$/, 5000);
    await h1.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 5000);
    await h2.waitLog(/^\(VI_1\) Master received advert from 10\.233\.1\.10 with higher priority 150, ours 100$/, 5000);
    await h2.waitLog(/^\(VI_1\) Entering BACKUP STATE$/, 1000);
    await w1.next(true, cleared.t, 3000);
    await w2.next(false, t0, 3000);
    await new Promise((r) => setTimeout(r, 200));
    const overlap = longestOverlapMs(w1, w2, cleared.t, Date.now());
    expect(overlap, dumpAll()).toBeLessThan(1000);
  });

  it('SIGTERM of the master: priority 0, the backup holds the VIP after about Skew_Time', async () => {
    const t0 = Date.now();
    const seen2 = h2.lines.length;
    h1.kill('SIGTERM');
    const up = await w2.next(true, t0, 5000);
    // Measured from the priority-0 advert the stopping master sends.
    const took = up.t - (await adv.next(d1.ip, 0, t0, 1000)).t;
    expect(took, dumpAll()).toBeGreaterThan(SKEW_MS - 10);
    expect(took, dumpAll()).toBeLessThan(SKEW_MS + 300);
    expect(await h1.exited).toBe(0);
    await w1.next(false, t0, 1000);
    expect(h1.has(/^\(VI_1\) removing VIPs\.$/)).toBe(true);
    expect((await h2.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 1000, seen2)).raw.reason).toBe('priority_zero_seen');
    expect(h1.stopSummary()?.advertsSent).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(longestOverlapMs(w1, w2, t0, Date.now())).toBeLessThan(1000);
  });

  it('nopreempt: the returning higher-priority node stays backup', async () => {
    h1 = start(d1, 'd1c', vrrpConf({ priority: 150, state: 'BACKUP', nopreempt: true, vips: [`${VIP}/24`] }));
    await h1.waitLog(/^\(VI_1\) Entering BACKUP STATE \(init\)$/, 10_000);
    await new Promise((r) => setTimeout(r, MASTER_DOWN_MS + 1500));
    expect(h1.has(/Entering MASTER STATE|discarding/), dumpAll()).toBe(false);
    expect(h2.running).toBe(true);
    expect(w2.events.at(-1)?.present).toBe(true);
    expect(w1.events.at(-1)?.present).toBe(false);
  });

  it('equal priority after a split brain heals: the higher primary address wins', async () => {
    const t0 = Date.now();
    h1.kill('SIGTERM');
    h2.kill('SIGTERM');
    expect([await h1.exited, await h2.exited]).toEqual([0, 0]);
    await w2.next(false, t0, 2000);
    const conf = vrrpConf({ priority: 100, vips: [`${VIP}/24`] });
    // d1 becomes master first; d2, same priority, accepts it as backup (RFC 3768 §6.4.2).
    h1 = start(d1, 'd1d', conf);
    await h1.waitLog(/^\(VI_1\) Entering MASTER STATE$/, MASTER_DOWN_MS + 3000);
    h2 = start(d2, 'd2d', conf);
    await h2.waitLog(/^\(VI_1\) Entering BACKUP STATE \(init\)$/, 10_000);
    await new Promise((r) => setTimeout(r, 1000));
    // Split d1 from d2 (bridge port isolation on both switch ports: isolated ports cannot reach
    // each other, both still reach the client). A cut link would now be a FAULT, not a split brain.
    const sw = `${lab.prefix}-sw`;
    const isolate = async (on: boolean): Promise<void> => {
      for (const port of ['p0', 'p1']) {
        const r = await lab.hosts.client!.exec(['ip', 'netns', 'exec', sw, 'ip', 'link', 'set', port, 'type', 'bridge_slave', 'isolated', on ? 'on' : 'off']);
        expect(r.code, r.stderr).toBe(0);
      }
    };
    await isolate(true);
    try {
      await h2.waitLog(/^\(VI_1\) Entering MASTER STATE$/, MASTER_DOWN_MS + 3000);
    } finally {
      await isolate(false);
    }
    // Healed: two masters hear each other; the lower address (d1) yields.
    await h1.waitLog(/^\(VI_1\) Master received advert from 10\.233\.1\.11 with same priority 100 but higher IP address than ours$/, 5000);
    await h2.waitLog(/^\(VI_1\) Received advert from 10\.233\.1\.10 with lower priority 100, ours 100, forcing new election$/, 5000);
    await new Promise((r) => setTimeout(r, 500));
    const lastState = (d: HakeepDaemon): string | undefined => d.lines.map((x) => /Entering (\w+) STATE/.exec(x.msg)?.[1]).filter(Boolean).at(-1);
    expect([lastState(h1), lastState(h2)], dumpAll()).toEqual(['BACKUP', 'MASTER']);
    expect(await hasAddress(d2, VIP)).toBe(true);
    expect(await hasAddress(d1, VIP)).toBe(false);
    h1.kill('SIGTERM');
    h2.kill('SIGTERM');
    expect([await h1.exited, await h2.exited]).toEqual([0, 0]);
  });

  it('unicast peers: adverts go to the peer only, and failover still works', async () => {
    const conf = (prio: number, self: LabHost, peer: LabHost): string => vrrpConf({
      priority: prio, state: prio > 100 ? 'MASTER' : 'BACKUP', vips: [`${VIP}/24`], unicastSrc: self.ip, unicastPeers: [peer.ip],
    });
    h1 = start(d1, 'd1u', conf(150, d1, d2));
    await h1.waitLog(/^\(VI_1\) Entering BACKUP STATE \(init\)$/, 10_000);
    h2 = start(d2, 'd2u', conf(100, d2, d1));
    await h1.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 8000);
    const dump = await tcpdumpVrrp(d2, 2);
    expect(dump).toContain(`${d1.ip} > ${d2.ip}: VRRPv2, Advertisement, vrid 51, prio 150`);
    expect(dump).not.toContain('224.0.0.18');
    await new Promise((r) => setTimeout(r, MASTER_DOWN_MS - 1500));
    expect(h2.has(/Entering MASTER STATE/), dumpAll()).toBe(false);
    const t0 = Date.now();
    h1.kill('SIGTERM');
    const up = await w2.next(true, t0, 5000);
    expect(up.t - t0, dumpAll()).toBeGreaterThan(SKEW_MS - 50);
    expect(up.t - t0, dumpAll()).toBeLessThan(SKEW_MS + 600);
    expect((await h2.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 1000)).raw.reason).toBe('priority_zero_seen');
    h2.kill('SIGTERM');
    expect([await h1.exited, await h2.exited]).toEqual([0, 0]);
  });
});
