// use_vmac against real peers (netns): hakeep and keepalived 2.2.7 both on a VMAC, then hakeep
// and FRR's vrrpd (VRRPv2, which always runs on a macvlan). Failover both ways; a client on the
// same bridge pings the VIP and its neighbour entry holds 00:00:5e:00:01:VRID before and after,
// without relearning. Then the VMAC's life: removed on SIGTERM, left by SIGKILL and adopted by
// the next start, a wrong MAC corrected, an interface of that name that is not a macvlan refused.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, waitFor, type Lab, type LabHost } from '../helpers/netns.js';
import { buildHakeep, HAKEEP_BIN, HakeepDaemon, KeepalivedDaemon, requireTool, tempDir } from './fixtures/vrrp-harness.js';

const SUBNET = '10.233.12';
const VIP = `${SUBNET}.100`;
const VRID = 51;
const VMAC = '00:00:5e:00:01:33';
const FRR = '/usr/lib/frr';

const kaConf = (priority: number, state: 'MASTER' | 'BACKUP', extra: string[] = []): string => [
  'global_defs {', `    router_id r${priority}`, '}',
  'vrrp_instance VI_1 {', `    state ${state}`, '    interface eth0', `    virtual_router_id ${VRID}`,
  `    priority ${priority}`, '    advert_int 1', '    use_vmac', ...extra.map((e) => `    ${e}`),
  '    virtual_ipaddress {', `        ${VIP}/24`, '    }', '}', '',
].join('\n');

interface LinkInfo { ifname: string; address: string; linkinfo?: { info_kind?: string; info_data?: { mode?: string } }; ifindex: number }

async function link(h: LabHost, name: string): Promise<LinkInfo | null> {
  const r = await h.exec(['ip', '-j', '-d', 'link', 'show', 'dev', name]);
  if (r.code !== 0) return null;
  return (JSON.parse(r.stdout) as LinkInfo[])[0] ?? null;
}

async function addrsOn(h: LabHost, dev: string): Promise<string[]> {
  const r = await h.exec(['ip', '-j', '-4', 'addr', 'show', 'dev', dev]);
  if (r.code !== 0) return [];
  return (JSON.parse(r.stdout) as Array<{ addr_info: Array<{ local: string }> }>).flatMap((x) => x.addr_info.map((a) => a.local));
}

/** One ping from the client; then the MAC its neighbour table holds for the VIP. */
async function pingVip(client: LabHost): Promise<{ ok: boolean; mac: string | null }> {
  const p = await client.exec(['ping', '-c', '1', '-W', '1', VIP], 5000);
  const n = await client.exec(['ip', '-j', 'neigh', 'show', VIP, 'dev', 'eth0']);
  const e = (JSON.parse(n.stdout || '[]') as Array<{ lladdr?: string }>)[0];
  return { ok: p.code === 0, mac: e?.lladdr ?? null };
}

/** Ping until one answers (bounded): a takeover may still be announcing. */
async function pingUntil(client: LabHost, ms: number): Promise<{ ok: boolean; mac: string | null }> {
  let last = { ok: false, mac: null as string | null };
  await waitFor(`a ping of ${VIP} answered`, async () => (last = await pingVip(client)).ok, ms, 200).catch(() => undefined);
  return last;
}

/** Source MACs of `count` VRRP adverts from `ip` seen on `on` (tcpdump -e). */
async function advertMacs(on: LabHost, ip: string, count: number): Promise<string[]> {
  const r = await on.exec(['timeout', '6', 'tcpdump', '-e', '-n', '-l', '-i', 'eth0', '-c', String(count), 'proto', '112', 'and', 'src', 'host', ip], 10_000);
  return [...r.stdout.matchAll(/^\S+ ([0-9a-f:]{17}) > /gm)].map((m) => m[1]!);
}

/** FRR's zebra + vrrpd in a namespace, config, sockets and pid files in `dir`, stopped by PID. */
class FrrRouter {
  private constructor(readonly dir: string, private readonly procs: Array<ReturnType<LabHost['spawn']>>) {}

  static async start(h: LabHost, dir: string, priority: number): Promise<FrrRouter> {
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o777); // the daemons drop to the frr user
    // FRR does not create the macvlan: the system does (FRR's VRRP docs, mode bridge), VIP on it.
    for (const argv of [
      ['ip', 'link', 'add', 'vrrp4-2-1', 'link', 'eth0', 'type', 'macvlan', 'mode', 'bridge'],
      ['ip', 'link', 'set', 'dev', 'vrrp4-2-1', 'address', VMAC],
      ['ip', 'addr', 'add', `${VIP}/24`, 'dev', 'vrrp4-2-1'],
      ['ip', 'link', 'set', 'vrrp4-2-1', 'up'],
    ]) {
      const r = await h.exec(argv);
      if (r.code !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
    }
    writeFileSync(join(dir, 'zebra.conf'), 'hostname z\n');
    writeFileSync(join(dir, 'vrrpd.conf'), [
      'hostname v', 'debug vrrp protocol', 'interface eth0', ` vrrp ${VRID} version 2`, ` vrrp ${VRID} priority ${priority}`,
      ` vrrp ${VRID} advertisement-interval 1000`, ` vrrp ${VRID} ip ${VIP}`, '',
    ].join('\n'));
    const common = (d: string): string[] => ['-f', join(dir, `${d}.conf`), '-i', join(dir, `${d}.pid`), '-z', join(dir, 'zserv.api'),
      '--vty_socket', dir, '-u', 'frr', '-g', 'frr', '-P', '0', '--log', `file:${join(dir, `${d}.log`)}`];
    const zebra = h.spawn([join(FRR, 'zebra'), ...common('zebra')]);
    await waitFor('zebra socket', () => existsSync(join(dir, 'zserv.api')), 10_000);
    const vrrpd = h.spawn([join(FRR, 'vrrpd'), ...common('vrrpd')]);
    return new FrrRouter(dir, [vrrpd, zebra]);
  }

  async status(h: LabHost): Promise<string | null> {
    const r = await h.exec(['vtysh', '--vty_socket', this.dir, '-c', 'show vrrp json'], 5000);
    try {
      const doc = JSON.parse(r.stdout) as Array<{ v4?: { status?: string } }>;
      return doc[0]?.v4?.status ?? null;
    } catch {
      return null;
    }
  }

  log(): string {
    try { return readFileSync(join(this.dir, 'vrrpd.log'), 'utf8'); } catch { return ''; }
  }

  async stop(): Promise<void> {
    for (const p of this.procs) {
      if (p.pid && p.exitCode === null && p.signalCode === null) {
        const gone = new Promise((r) => p.once('exit', r));
        process.kill(p.pid, 'SIGTERM');
        await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
        if (p.exitCode === null && p.signalCode === null) process.kill(p.pid, 'SIGKILL');
      }
    }
  }
}

describe('use_vmac against keepalived 2.2.7 and FRR vrrpd (netns)', () => {
  let lab: Lab;
  let tmp: ReturnType<typeof tempDir>;
  let d1: LabHost;
  let d2: LabHost;
  let client: LabHost;
  const hakeeps: HakeepDaemon[] = [];
  const kas: KeepalivedDaemon[] = [];
  const frrs: FrrRouter[] = [];
  const dump = (): string => [...hakeeps, ...kas].map((d) => d.dump()).join('\n') + frrs.map((f) => f.log().slice(-3000)).join('\n');
  const startHakeep = (h: LabHost, name: string, conf: string): HakeepDaemon => {
    const d = HakeepDaemon.start(h, name, conf, tmp.dir);
    hakeeps.push(d);
    return d;
  };

  beforeAll(async () => {
    await requireTool('keepalived', ['-v'], 'keepalived');
    // FRR is a prerequisite like keepalived (scripts/test.mjs installs it): never skipped.
    if (!existsSync(join(FRR, 'vrrpd')) || !existsSync(join(FRR, 'zebra')) || spawnSync('vtysh', ['--version']).error) {
      throw new Error(`FRR is missing (${FRR}/vrrpd, zebra, vtysh): apt-get install -y frr`);
    }
    await buildHakeep();
    lab = await createLab('hkvm', ['d1', 'd2', 'client'], SUBNET);
    tmp = tempDir('vmac');
    chmodSync(tmp.dir, 0o755);
    d1 = lab.hosts.d1!;
    d2 = lab.hosts.d2!;
    client = lab.hosts.client!;
  });

  afterAll(async () => {
    for (const d of hakeeps) d.kill('SIGKILL');
    for (const k of kas) await k.crash().catch(() => undefined);
    for (const f of frrs) await f.stop().catch(() => undefined);
    await lab?.destroy();
    tmp?.remove();
  });

  it('hakeep <-> keepalived, both with use_vmac: failover both ways, the client keeps the virtual MAC', async () => {
    const h = startHakeep(d1, 'h1', kaConf(150, 'MASTER'));
    await h.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 10_000);
    const v = await link(d1, `vrrp.${VRID}`);
    expect(v, dump()).toMatchObject({ address: VMAC, linkinfo: { info_kind: 'macvlan', info_data: { mode: 'private' } } });
    expect(await addrsOn(d1, `vrrp.${VRID}`)).toEqual([VIP]);
    expect(await addrsOn(d1, 'eth0')).toEqual([d1.ip]);
    expect(await advertMacs(client, d1.ip, 2), 'adverts leave from the VMAC').toEqual([VMAC, VMAC]);
    const sys = await d1.exec(['sh', '-c', `cat /proc/sys/net/ipv4/conf/eth0/arp_ignore /proc/sys/net/ipv4/conf/eth0/arp_filter /proc/sys/net/ipv4/conf/eth0/arp_announce /proc/sys/net/ipv4/conf/vrrp.${VRID}/arp_ignore /proc/sys/net/ipv4/conf/vrrp.${VRID}/rp_filter`]);
    expect(sys.stdout.split('\n').filter(Boolean)).toEqual(['1', '1', '2', '1', '0']);

    // keepalived does not set arp_announce on the base: without it, its reply to the client goes
    // out of eth0 (the base's prefix route is first) after an ARP request from eth0's MAC with the
    // VIP as sender, and the client's entry for the VIP flips to eth0's MAC. An operator running
    // keepalived with use_vmac sets it; so does this test on keepalived's node.
    await d2.exec(['sysctl', '-qw', 'net.ipv4.conf.eth0.arp_announce=2']);
    const k = KeepalivedDaemon.start(d2, 'k2', kaConf(100, 'BACKUP'), tmp.dir);
    kas.push(k);
    await k.waitLog(/\(VI_1\) Entering BACKUP STATE/, 10_000);
    await new Promise((r) => setTimeout(r, 4500)); // past keepalived's Master_Down_Interval: it stays backup
    expect(k.has(/Entering MASTER STATE/), dump()).toBe(false);

    const before = await pingUntil(client, 5000);
    expect(before, dump()).toEqual({ ok: true, mac: VMAC });

    // hakeep stops (priority 0): keepalived takes over; its VMAC answers under the same MAC.
    h.kill('SIGTERM');
    expect(await h.exited).toBe(0);
    await k.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 5000);
    expect(await link(d1, `vrrp.${VRID}`), 'hakeep removed its VMAC on stop').toBe(null);
    const base = await d1.exec(['sh', '-c', 'cat /proc/sys/net/ipv4/conf/eth0/arp_ignore /proc/sys/net/ipv4/conf/eth0/arp_filter /proc/sys/net/ipv4/conf/eth0/arp_announce']);
    expect(base.stdout.split('\n').filter(Boolean), 'base ARP settings restored').toEqual(['0', '0', '0']);
    const afterKa = await pingUntil(client, 5000);
    expect(afterKa, dump()).toEqual({ ok: true, mac: VMAC });
    expect(await addrsOn(d2, `vrrp.${VRID}`)).toEqual([VIP]);
    // And with the neighbour entry learned afresh: still the virtual MAC (keepalived answers ARP on its VMAC).
    await client.exec(['ip', 'neigh', 'flush', 'dev', 'eth0']);
    expect(await pingUntil(client, 5000)).toEqual({ ok: true, mac: VMAC });

    // hakeep returns with the higher priority and preempts back.
    const h2 = startHakeep(d1, 'h1b', kaConf(150, 'BACKUP'));
    await h2.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 10_000);
    await k.waitLog(/\(VI_1\) Entering BACKUP STATE/, 5000, k.lines.findIndex((l) => /Entering MASTER STATE/.test(l.msg)));
    const afterBack = await pingUntil(client, 5000);
    expect(afterBack, dump()).toEqual({ ok: true, mac: VMAC });
    expect(await addrsOn(d1, `vrrp.${VRID}`)).toEqual([VIP]);
    await waitFor('keepalived to drop the VIP', async () => (await addrsOn(d2, `vrrp.${VRID}`)).length === 0, 3000);
    const st = (await h2.vrrpStatus()).instances[0]!;
    expect(st).toMatchObject({ state: 'MASTER', interface: `vrrp.${VRID}` });
    expect(st.counters.advertsReceived, 'keepalived adverts reached the VMAC socket').toBeGreaterThan(0);

    h2.kill('SIGTERM');
    expect(await h2.exited).toBe(0);
    await k.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 5000, k.lines.length - 1);
    await k.crash();
    // keepalived was killed: its VMAC stays behind on d2; clear it for the next test.
    await d2.exec(['ip', 'link', 'del', `vrrp.${VRID}`]);
  });

  it('hakeep <-> FRR vrrpd (VRRPv2): failover both ways, the client keeps the virtual MAC', async () => {
    await d2.exec(['ip', 'link', 'del', `vrrp.${VRID}`]); // keepalived's, if the test before stopped early
    // As for keepalived: FRR does not touch the base's ARP settings (its docs leave them to the system).
    await d2.exec(['sysctl', '-qw', 'net.ipv4.conf.eth0.arp_announce=2', 'net.ipv4.conf.eth0.arp_ignore=1']);
    const f = await FrrRouter.start(d2, join(tmp.dir, 'frr'), 100);
    frrs.push(f);
    await waitFor('FRR vrrpd Master', async () => (await f.status(d2)) === 'Master', 10_000, 250);
    const before = await pingUntil(client, 5000);
    expect(before, dump()).toEqual({ ok: true, mac: VMAC });

    // hakeep with the higher priority takes over (preempt) from FRR.
    const h = startHakeep(d1, 'hf', kaConf(150, 'BACKUP'));
    await h.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 10_000);
    await waitFor('FRR vrrpd Backup', async () => (await f.status(d2)) === 'Backup', 5000, 250);
    const onHakeep = await pingUntil(client, 5000);
    expect(onHakeep, dump()).toEqual({ ok: true, mac: VMAC });
    const st = (await h.vrrpStatus()).instances[0]!;
    expect(st.counters.advertsReceived, 'FRR adverts reached the VMAC socket').toBeGreaterThan(0);

    // hakeep stops: FRR takes over again.
    h.kill('SIGTERM');
    expect(await h.exited).toBe(0);
    await waitFor('FRR vrrpd Master again', async () => (await f.status(d2)) === 'Master', 5000, 100);
    expect(await link(d1, `vrrp.${VRID}`)).toBe(null);
    const afterFrr = await pingUntil(client, 5000);
    expect(afterFrr, dump()).toEqual({ ok: true, mac: VMAC });
    await client.exec(['ip', 'neigh', 'flush', 'dev', 'eth0']);
    expect(await pingUntil(client, 5000)).toEqual({ ok: true, mac: VMAC });
    expect(f.log()).toMatch(/\[VRID 51\] \[IPv4\] Backup -> Master/);
    await f.stop();
    await d2.exec(['ip', 'link', 'del', 'vrrp4-2-1']);
  });

  it('vmac_xmit_base (hakeep and keepalived): adverts from the base MAC, heard on the base, VIP on the VMAC, failover both ways', async () => {
    await d2.exec(['ip', 'link', 'del', `vrrp.${VRID}`]);
    const k = KeepalivedDaemon.start(d2, 'kx', kaConf(100, 'MASTER', ['vmac_xmit_base']), tmp.dir);
    kas.push(k);
    await k.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 10_000);
    expect(await pingUntil(client, 5000), dump()).toEqual({ ok: true, mac: VMAC });
    // hakeep (higher priority) starts as backup: it hears keepalived on the base, then preempts.
    const h = startHakeep(d1, 'hx', kaConf(150, 'BACKUP', ['vmac_xmit_base']));
    await h.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 10_000);
    expect(h.has(/\(VI_1\) Entering BACKUP STATE/), 'started as backup').toBe(true);
    const st = (await h.vrrpStatus()).instances[0]!;
    expect(st, dump()).toMatchObject({ state: 'MASTER', interface: 'eth0' });
    expect(st.counters.advertsReceived, 'keepalived adverts heard on the base').toBeGreaterThan(0);
    expect(await advertMacs(client, d1.ip, 2), 'adverts leave from the base').toEqual([d1.mac, d1.mac]);
    expect(await addrsOn(d1, `vrrp.${VRID}`)).toEqual([VIP]);
    expect(await pingUntil(client, 5000)).toEqual({ ok: true, mac: VMAC });
    const seen = k.lines.length;
    h.kill('SIGTERM');
    expect(await h.exited).toBe(0);
    await k.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 5000, seen);
    expect(await link(d1, `vrrp.${VRID}`)).toBe(null);
    expect(await pingUntil(client, 5000), dump()).toEqual({ ok: true, mac: VMAC });
    await k.crash();
    await d2.exec(['ip', 'link', 'del', `vrrp.${VRID}`]);
  });

  it('the VMAC after SIGKILL is adopted by the next start; a wrong MAC is corrected; hakeep cleanup removes a left one; a non-macvlan is refused', async () => {
    const h = startHakeep(d1, 'hk', kaConf(150, 'MASTER'));
    await h.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 10_000);
    const first = (await link(d1, `vrrp.${VRID}`))!;
    h.kill('SIGKILL');
    await h.exited;
    expect(await link(d1, `vrrp.${VRID}`), 'SIGKILL leaves the VMAC').toMatchObject({ ifindex: first.ifindex, address: VMAC });
    const h2 = startHakeep(d1, 'hk2', kaConf(150, 'MASTER'));
    await h2.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 10_000);
    expect(h2.has(/^\(VI_1\) adopting VMAC interface vrrp\.51 \(00:00:5e:00:01:33\) left on eth0$/), h2.dump()).toBe(true);
    expect((await link(d1, `vrrp.${VRID}`))!.ifindex, 'the same interface, adopted').toBe(first.ifindex);
    expect(await pingUntil(client, 5000)).toEqual({ ok: true, mac: VMAC });
    h2.kill('SIGTERM');
    expect(await h2.exited).toBe(0);
    expect(await link(d1, `vrrp.${VRID}`)).toBe(null);

    // Left with a wrong MAC (by hand): keepalived updates it in place, so does hakeep.
    await d1.exec(['ip', 'link', 'add', `vrrp.${VRID}`, 'link', 'eth0', 'address', '00:00:5e:00:01:99', 'type', 'macvlan', 'mode', 'private']);
    const h3 = startHakeep(d1, 'hk3', kaConf(150, 'MASTER'));
    await h3.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 10_000);
    expect(h3.has(/^\(VI_1\) Update old VMAC interface vrrp\.51 due to wrong MAC\/mode: MAC 00:00:5e:00:01:99 \(want 00:00:5e:00:01:33\)$/), h3.dump()).toBe(true);
    expect((await link(d1, `vrrp.${VRID}`))!.address).toBe(VMAC);
    // SIGKILL, then `hakeep cleanup` (the unit's ExecStopPost): the VMAC and its VIP go.
    h3.kill('SIGKILL');
    await h3.exited;
    expect(await addrsOn(d1, `vrrp.${VRID}`)).toEqual([VIP]);
    const c = await d1.exec(['node', HAKEEP_BIN, 'cleanup', '-f', join(tmp.dir, 'hk3.conf'), '-p', join(tmp.dir, 'hk3.pid')]);
    expect(c.code, c.stdout + c.stderr).toBe(0);
    expect(c.stdout + c.stderr).toMatch(/hakeep cleanup: \(VI_1\) removed VMAC interface vrrp\.51 \(and the VIPs on it\), left by a hakeep that did not stop cleanly/);
    expect(await link(d1, `vrrp.${VRID}`)).toBe(null);

    // Something else under that name: refused, untouched, hakeep does not start.
    await d1.exec(['ip', 'link', 'add', `vrrp.${VRID}`, 'type', 'veth', 'peer', 'name', 'vmx']);
    const h4 = startHakeep(d1, 'hk4', kaConf(150, 'MASTER'));
    const code = await h4.exited;
    expect(code, h4.dump()).not.toBe(0);
    expect(h4.dump()).toMatch(/\(VI_1\) use_vmac: vrrp\.51 already exists and is a veth interface: hakeep does not touch it/);
    expect((await link(d1, `vrrp.${VRID}`))?.linkinfo?.info_kind).toBe('veth');
    await d1.exec(['ip', 'link', 'del', `vrrp.${VRID}`]);
  });
});
