// hakeep and keepalived 2.2.7 in one VRRP group, both directions: election, crash and graceful
// failover, preemption back; then keepalived peers with a wrong password, VRID or interval,
// which hakeep must ignore and count.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab, type LabHost } from '../helpers/netns.js';
import {
  AdvertWatch, buildHakeep, hasAddress, HakeepDaemon, KeepalivedDaemon, longestOverlapMs, requireTool, tempDir, VipWatch, vrrpConf,
} from './fixtures/vrrp-harness.js';

const SUBNET = '10.233.1';
const VIP = `${SUBNET}.100`;
const MASTER_DOWN_MS = 3 * 1000 + ((256 - 100) * 1000) / 256; // backup priority 100: 3609 ms
const SKEW_MS = ((256 - 100) * 1000) / 256; // 609 ms

type Peer = HakeepDaemon | KeepalivedDaemon;

describe('VRRP interop between hakeep and keepalived 2.2.7 (netns)', () => {
  let lab: Lab;
  let tmp: ReturnType<typeof tempDir>;
  let d1: LabHost;
  let d2: LabHost;
  let w1: VipWatch;
  let w2: VipWatch;
  let adv: AdvertWatch;
  const all: Peer[] = [];
  const dumpAll = (): string => all.map((d) => d.dump()).join('\n');

  const master = vrrpConf({ priority: 150, state: 'MASTER', vips: [`${VIP}/24`], routerId: 'd1' });
  const backup = vrrpConf({ priority: 100, vips: [`${VIP}/24`], routerId: 'd2' });
  const masterNopreempt = vrrpConf({ priority: 150, state: 'BACKUP', nopreempt: true, vips: [`${VIP}/24`], routerId: 'd1' });

  const startHakeep = (h: LabHost, name: string, conf: string): HakeepDaemon => {
    const d = HakeepDaemon.start(h, name, conf, tmp.dir);
    all.push(d);
    return d;
  };
  const startKeepalived = (h: LabHost, name: string, conf: string): KeepalivedDaemon => {
    const d = KeepalivedDaemon.start(h, name, conf, tmp.dir);
    all.push(d);
    return d;
  };
  const crash = async (d: Peer): Promise<void> => {
    if (d instanceof KeepalivedDaemon) await d.crash();
    else {
      d.kill('SIGKILL');
      await d.exited;
    }
  };

  beforeAll(async () => {
    await requireTool('keepalived', ['-v'], 'keepalived');
    await buildHakeep();
    lab = await createLab('hkv', ['d1', 'd2', 'client'], SUBNET);
    tmp = tempDir('interop');
    d1 = lab.hosts.d1!;
    d2 = lab.hosts.d2!;
    w1 = await VipWatch.start(d1, VIP);
    w2 = await VipWatch.start(d2, VIP);
    adv = await AdvertWatch.start(lab.hosts.client!);
  });

  afterAll(async () => {
    for (const d of all) {
      if (d instanceof KeepalivedDaemon) await d.crash().catch(() => undefined);
      else d.kill('SIGKILL');
    }
    w1?.stop();
    w2?.stop();
    adv?.stop();
    await lab?.destroy();
    tmp?.remove();
  });

  /**
   * The four scenarios with `M` (priority 150 on d1) and `B` (priority 100 on d2):
   * election, crash of M, return of M (preempts back), SIGTERM of M, and M returning with
   * nopreempt (`M2`), which must stay backup.
   */
  async function scenario(startM: () => Peer, startB: () => Peer, startM2: () => Peer, masterIsHakeep: boolean): Promise<void> {
    const s0 = Date.now();
    // The master first: with `state MASTER` below 255 both implementations wait the full
    // Master_Down_Interval at start (RFC 3768 6.4.1), so starting both together would be a race
    // decided by process start-up time (node starts slower than keepalived), not by the protocol.
    let m = startM();
    await m.waitLog(/^\(VI_1\) Entering MASTER STATE$/, MASTER_DOWN_MS + 5000);
    const b = startB();
    await w1.next(true, s0, 3000);
    await new Promise((r) => setTimeout(r, MASTER_DOWN_MS + 500));
    // The backup accepts the other implementation's adverts: it never took over.
    expect(b.has(/Entering MASTER STATE/), dumpAll()).toBe(false);
    expect(b.has(/\(VI_1\) Entering BACKUP STATE \(init\)/), dumpAll()).toBe(true);
    expect(w2.events.filter((e) => e.present && e.t >= s0)).toEqual([]);

    // Crash of the master: the backup takes over after Master_Down_Interval.
    let t0 = Date.now();
    await crash(m);
    let up = await w2.next(true, t0, MASTER_DOWN_MS + 3000);
    // From the crashed master's last advert on the wire, where the backup's timer starts.
    const took = up.t - adv.lastFrom(d1.ip, up.t)!.t;
    expect(took, dumpAll()).toBeGreaterThan(MASTER_DOWN_MS - 10);
    expect(took, dumpAll()).toBeLessThan(MASTER_DOWN_MS + 300);

    // The master returns (clearing the VIP its crash left behind) and preempts back.
    t0 = Date.now();
    const seenB = b.lines.length;
    m = startM();
    const cleared = await w1.next(false, t0, 5000);
    await m.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 8000);
    await b.waitLog(/^\(VI_1\) Master received advert from 10\.233\.1\.10 with higher priority 150, ours 100$/, 5000, seenB);
    await w2.next(false, t0, 3000);
    await w1.next(true, cleared.t, 3000);
    await new Promise((r) => setTimeout(r, 200));
    expect(longestOverlapMs(w1, w2, cleared.t, Date.now()), dumpAll()).toBeLessThan(1000);

    // Graceful stop of the master: priority 0, the backup takes over after Skew_Time.
    t0 = Date.now();
    m.kill('SIGTERM');
    up = await w2.next(true, t0, 5000);
    // From the priority-0 advert the stopping master sends (both implementations send one).
    const prio0 = await adv.next(d1.ip, 0, t0, 1000);
    expect(up.t - prio0.t, dumpAll()).toBeGreaterThan(SKEW_MS - 10);
    expect(up.t - prio0.t, dumpAll()).toBeLessThan(SKEW_MS + 300);
    expect(await m.exited).toBe(0);
    await w1.next(false, t0, 2000);
    if (masterIsHakeep) {
      expect((m as HakeepDaemon).stopSummary()?.advertsSent).toBeGreaterThan(0);
    } else {
      const taken = await b.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 1000, seenB);
      expect((taken.raw as { reason?: string }).reason).toBe('priority_zero_seen');
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(longestOverlapMs(w1, w2, t0, Date.now())).toBeLessThan(1000);

    // nopreempt (on the higher priority, with state BACKUP): the returning node stays backup.
    m = startM2();
    await m.waitLog(/\(VI_1\) Entering BACKUP STATE \(init\)/, 10_000);
    await new Promise((r) => setTimeout(r, MASTER_DOWN_MS + 1000));
    expect(m.has(/Entering MASTER STATE/), dumpAll()).toBe(false);
    expect(await hasAddress(d2, VIP)).toBe(true);
    expect(await hasAddress(d1, VIP)).toBe(false);
    m.kill('SIGTERM');
    expect(await m.exited).toBe(0);

    // Leave the segment clean for the next scenario.
    t0 = Date.now();
    b.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    await w2.next(false, t0, 2000);
  }

  it('keepalived master, hakeep backup', async () => {
    await scenario(() => startKeepalived(d1, 'k-m', master), () => startHakeep(d2, 'h-b', backup),
      () => startKeepalived(d1, 'k-m-np', masterNopreempt), false);
  });

  it('hakeep master, keepalived backup', async () => {
    await scenario(() => startHakeep(d1, 'h-m', master), () => startKeepalived(d2, 'k-b', backup),
      () => startHakeep(d1, 'h-m-np', masterNopreempt), true);
  });

  it('ignores and counts adverts with a wrong password, VRID or interval from keepalived peers', async () => {
    const h = startHakeep(d1, 'h-rej', master);
    await h.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 5000);
    // Higher priorities than ours: had any of them been accepted, hakeep would have yielded.
    // The peers send unicast to hakeep: a keepalived master restarts its advert timer on every
    // packet it receives for its VRID, even a rejected one, so hearing hakeep's multicast adverts
    // would silence it (keepalived 2.2.7 vrrp_dispatcher_read).
    const unicast = (src: string): string[] => [`    unicast_src_ip ${src}`, '    unicast_peer {', `        ${d1.ip}`, '    }'];
    const instance = (name: string, vrid: number, pass: string, vip: string): string[] => [
      `vrrp_instance ${name} {`, '    state BACKUP', '    interface eth0', `    virtual_router_id ${vrid}`,
      '    priority 200', '    advert_int 1',
      '    authentication {', '        auth_type PASS', `        auth_pass ${pass}`, '    }',
      ...unicast(d2.ip), '    virtual_ipaddress {', `        ${vip}/24 dev eth0`, '    }', '}',
    ];
    const wrong = ['global_defs {', '    router_id wrong', '}',
      ...instance('VI_PW', 51, 'nothat1', `${SUBNET}.201`), ...instance('VI_ID', 52, 'hkvpass1', `${SUBNET}.202`), ''].join('\n');
    const client = lab.hosts.client!;
    const kw = startKeepalived(d2, 'k-wrong', wrong);
    const ki = startKeepalived(client, 'k-int', vrrpConf({
      priority: 200, advertInt: 2, vips: [`${SUBNET}.203/24`], routerId: 'int', unicastSrc: client.ip, unicastPeers: [d1.ip],
    }));
    await kw.waitLog(/^\(VI_PW\) Entering MASTER STATE$/, 10_000);
    await kw.waitLog(/^\(VI_ID\) Entering MASTER STATE$/, 10_000);
    await ki.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 15_000);
    await new Promise((r) => setTimeout(r, 4000));
    const st = (await h.vrrpStatus()).instances[0]!;
    expect(st, dumpAll()).toMatchObject({ name: 'VI_1', state: 'MASTER', masterIp: d1.ip });
    expect(st.counters.advertsReceived).toBe(0);
    expect(st.counters.rejected.bad_password).toBeGreaterThanOrEqual(4);
    expect(st.counters.rejected.wrong_vrid).toBeGreaterThanOrEqual(4);
    expect(st.counters.rejected.advert_interval_mismatch).toBeGreaterThanOrEqual(2);
    expect(st.timer.fired).toBeGreaterThan(4);
    h.kill('SIGTERM');
    expect(await h.exited).toBe(0);
    await kw.crash();
    await ki.crash();

    expect(h.has(/Entering BACKUP STATE$/), dumpAll()).toBe(false);
    // The stop summary carries the final counters too.
    const c = h.stopSummary();
    expect(c?.rejected.bad_password).toBeGreaterThanOrEqual(st.counters.rejected.bad_password!);
    // Logged once each (rate-limited), with keepalived's wording.
    expect(h.lines.filter((l) => l.msg === '(VI_1) received an invalid passwd!')).toHaveLength(1);
    expect(h.lines.filter((l) => l.msg === "(VI_1) advertisement interval mismatch mine=1 sec rcv'd=2 sec")).toHaveLength(1);
    expect(h.lines.find((l) => l.msg === '(VI_1) received an invalid passwd!')?.raw).toMatchObject({ reason: 'bad_password', from: d2.ip });
  });
});
