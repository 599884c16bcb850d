// Every VRRP keyword that used to be accepted and silently not applied, proven on the wire in
// namespaces: unicast_peer min_ttl, per-instance check_unicast_src, dont_track_primary,
// vrrp_startup_delay, strict_mode (authentication dropped); and accept/no_accept, which hakeep
// cannot honour, said so by `hakeep -t`.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLab, sh, type Lab, type LabHost } from '../helpers/netns.js';
import { buildHakeep, HAKEEP_BIN, HakeepDaemon, requireTool, tempDir, tcpdumpVrrp, vrrpConf } from '../netns/fixtures/vrrp-harness.js';

const run = promisify(execFile);
const SUBNET = '10.237.3';
const VIP = `${SUBNET}.100`;
const MASTER_DOWN_100 = 3000 + ((256 - 100) * 1000) / 256;

describe('VRRP keywords that change behaviour (netns)', () => {
  let lab: Lab;
  let tmp: ReturnType<typeof tempDir>;
  let d1: LabHost;
  let d2: LabHost;
  let x: LabHost;
  let running: HakeepDaemon[] = [];
  const start = (host: LabHost, name: string, conf: string): HakeepDaemon => {
    const d = HakeepDaemon.start(host, name, conf, tmp.dir);
    running.push(d);
    return d;
  };
  const dumpAll = (): string => running.map((d) => d.dump()).join('\n');

  beforeAll(async () => {
    await requireTool('tcpdump', ['--version'], 'tcpdump');
    await buildHakeep();
    lab = await createLab('hkkw', ['d1', 'd2', 'x'], SUBNET);
    tmp = tempDir('keywords');
    d1 = lab.hosts.d1!;
    d2 = lab.hosts.d2!;
    x = lab.hosts.x!;
  });

  afterEach(async () => {
    for (const d of running) d.kill('SIGTERM');
    await Promise.all(running.map((d) => Promise.race([d.exited, new Promise((r) => setTimeout(r, 5000))])));
    for (const d of running) d.kill('SIGKILL');
    running = [];
  });

  afterAll(async () => {
    await lab?.destroy();
    tmp?.remove();
  });

  it('unicast_peer min_ttl: adverts arriving with a lower TTL are dropped and counted', async () => {
    // d1 sends with TTL 64; d2 wants at least 100 from d1, so it never hears a valid master.
    start(d1, 'ttl-d1', vrrpConf({ priority: 150, vips: [`${VIP}/24`], unicastSrc: d1.ip, unicastPeers: [d2.ip], extra: ['unicast_ttl 64'] }));
    const h2 = start(d2, 'ttl-d2', vrrpConf({ priority: 100, vips: [`${VIP}/24`], unicastSrc: d2.ip, unicastPeers: [`${d1.ip} min_ttl 100`] }));
    await h2.waitLog(/TTL\/HL 64 not in range 100 - 255 for unicast peer/, 8000);
    const st = await h2.vrrpStatus();
    expect(st.instances[0]!.counters.rejected.peer_ttl_out_of_range, dumpAll()).toBeGreaterThan(0);
    expect(st.instances[0]!.counters.advertsReceived).toBe(0);
  });

  it('per-instance check_unicast_src: adverts from a host that is not a peer are dropped', async () => {
    // d2's only peer is x (silent); d1 sends to d2 anyway.
    start(d1, 'cus-d1', vrrpConf({ priority: 150, vips: [`${VIP}/24`], unicastSrc: d1.ip, unicastPeers: [d2.ip] }));
    const h2 = start(d2, 'cus-d2', vrrpConf({ priority: 100, vips: [`${VIP}/24`], unicastSrc: d2.ip, unicastPeers: [x.ip], extra: ['check_unicast_src'] }));
    await h2.waitLog(new RegExp(`unicast source address ${d1.ip.replace(/\./g, '\\.')} not a unicast peer`), 8000);
    const st = await h2.vrrpStatus();
    expect(st.instances[0]!.counters.rejected.not_unicast_peer, dumpAll()).toBeGreaterThan(0);
    expect(st.instances[0]!.counters.advertsReceived).toBe(0);
  });

  it('dont_track_primary: losing the carrier does not fault the instance', async () => {
    const h1 = start(d1, 'dtp-d1', vrrpConf({ priority: 255, state: 'MASTER', vips: [`${VIP}/24`], extra: ['dont_track_primary'] }));
    await h1.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 5000);
    const sw = `${lab.prefix}-sw`;
    const from = h1.lines.length;
    expect((await sh(['ip', '-n', sw, 'link', 'set', 'p0', 'down'])).code).toBe(0);
    try {
      await h1.waitLog(/^Netlink reports eth0 down$/, 3000, from);
      await new Promise((r) => setTimeout(r, 500));
      expect(h1.has(/FAULT/, from), h1.dump()).toBe(false);
      expect((await h1.vrrpStatus()).instances[0]!.state).toBe('MASTER');
    } finally {
      await sh(['ip', '-n', sw, 'link', 'set', 'p0', 'up']);
    }
  });

  it('vrrp_startup_delay: no takeover before the delay plus Master_Down_Interval', async () => {
    const conf = vrrpConf({ priority: 100, vips: [`${VIP}/24`] }).replace('global_defs {', 'global_defs {\n    vrrp_startup_delay 2');
    const h1 = start(d1, 'delay-d1', conf);
    const init = await h1.waitLog(/^\(VI_1\) Entering BACKUP STATE \(init\)$/, 10_000);
    expect(h1.has(/^Delaying startup for 2 seconds$/)).toBe(true);
    const m = await h1.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 10_000);
    const took = m.at - init.at;
    expect(took, h1.dump()).toBeGreaterThan(2000 + MASTER_DOWN_100 - 150);
    expect(took, h1.dump()).toBeLessThan(2000 + MASTER_DOWN_100 + 600);
  });

  it('strict_mode: authentication is dropped from the adverts on the wire (as keepalived does)', async () => {
    const h1 = start(d1, 'strict-d1', vrrpConf({ priority: 255, state: 'MASTER', vips: [`${VIP}/24`], pass: 'secret12', extra: ['strict_mode'] }));
    await h1.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 5000);
    const dump = await tcpdumpVrrp(d2, 2);
    expect(dump).toContain(`${d1.ip} > 224.0.0.18: VRRPv2, Advertisement, vrid 51, prio 255, authtype none`);
    expect(dump).not.toContain('secret12');
  });

  it('accept / no_accept: hakeep -t says it cannot honour no_accept (no firewall rules)', async () => {
    const file = join(tmp.dir, 'accept.conf');
    writeFileSync(file, vrrpConf({ priority: 100, vips: [`${VIP}/24`], extra: ['no_accept'] }));
    const r = await run(process.execPath, [HAKEEP_BIN, '-t', '-f', file]).then((o) => ({ code: 0, ...o }), (e: { code: number; stdout: string; stderr: string }) => e);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/accept\.conf:\d+: warning: \(VI_1\) no_accept cannot be honoured: .*hakeep adds no firewall rules, so VIP traffic is always accepted/);
  });
});
