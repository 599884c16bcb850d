// `hakeep status --json` against the real state of the namespaces: two hakeep daemons (d1 master
// with a track_file lowering its priority, d2 backup) on one segment. What the document says about
// state, priorities, the master's address and the VIPs is compared with `ip addr` in each
// namespace and with what the backup heard on the wire; then d1's link goes down and the document
// must say FAULT (exit 2) while d2 holds the VIPs. The table is checked for the same facts.
// HAKEEP_STATUS_BIN runs another build (default: this tree's bin/hakeep.js, compiled first).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, sh, waitFor, type Lab, type LabHost } from '../helpers/netns.js';
import { buildHakeep, HAKEEP_BIN, tempDir, vrrpConf } from './fixtures/vrrp-harness.js';
import type { StatusDocument } from '../../src/daemon/status-format.js';
import { parseProm, requirePromParser, sample, type PromFamily } from '../helpers/prom-parse.js';

const SUBNET = '10.239.6';
const VIPS = [`${SUBNET}.100/32`, `${SUBNET}.101/32`];
const BIN = process.env.HAKEEP_STATUS_BIN ?? HAKEEP_BIN;

interface Running {
  name: string;
  pid: number;
  sock: string;
  out: string[];
  kill(): void;
}

async function status(sock: string, json: boolean): Promise<{ code: number; stdout: string; stderr: string }> {
  return sh(['node', BIN, 'status', ...(json ? ['--json'] : []), '--status-socket', sock], 10_000);
}

async function doc(sock: string): Promise<{ code: number; doc: StatusDocument }> {
  const r = await status(sock, true);
  if (r.stdout.trim() === '') throw new Error(`hakeep status --json printed nothing (exit ${r.code}): ${r.stderr}`);
  return { code: r.code, doc: JSON.parse(r.stdout) as StatusDocument };
}

/** The IPv4 addresses on eth0 in a namespace, as the kernel has them (`ip -j addr`). */
async function kernelAddrs(host: LabHost): Promise<string[]> {
  const r = await host.exec(['ip', '-j', '-4', 'addr', 'show', 'dev', 'eth0']);
  const links = JSON.parse(r.stdout) as Array<{ addr_info: Array<{ local: string; prefixlen: number }> }>;
  return links.flatMap((l) => l.addr_info.map((a) => `${a.local}/${a.prefixlen}`)).sort();
}

describe('hakeep status --json matches the namespaces (netns)', () => {
  let lab: Lab;
  let tmp: ReturnType<typeof tempDir>;
  const daemons: Running[] = [];

  const start = (host: LabHost, name: string, conf: string, ini?: string): Running => {
    const file = join(tmp.dir, `${name}.conf`);
    writeFileSync(file, conf);
    const sock = join(tmp.dir, `${name}.sock`);
    const settings: string[] = [];
    if (ini !== undefined) {
      writeFileSync(join(tmp.dir, `${name}.ini`), ini);
      settings.push('--settings', join(tmp.dir, `${name}.ini`));
    }
    const proc = host.spawn(['node', BIN, '-n', '-P', '-f', file, '-p', join(tmp.dir, `${name}.pid`), '--status-socket', sock, '--log-format', 'text', ...settings]);
    const out: string[] = [];
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => out.push(d));
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => out.push(d));
    const r: Running = { name, pid: proc.pid!, sock, out, kill: () => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); } };
    daemons.push(r);
    return r;
  };

  beforeAll(async () => {
    requirePromParser();
    if (!process.env.HAKEEP_STATUS_BIN) await buildHakeep();
    lab = await createLab('hks', ['d1', 'd2'], SUBNET);
    tmp = tempDir('status');
  });

  afterAll(async () => {
    for (const d of daemons) d.kill();
    await lab?.destroy();
    tmp?.remove();
  });

  it('state, priorities, master address, VIPs and trackers as the kernel and the wire have them; FAULT exits 2', async () => {
    const d1 = lab.hosts.d1!;
    const d2 = lab.hosts.d2!;
    const tf = join(tmp.dir, 'weight');
    writeFileSync(tf, '2\n');
    const trackFile = [`track_file tf {`, `    file ${tf}`, '    weight -10', '}', ''].join('\n');
    // d1 also serves metrics on its namespace's loopback.
    const h1 = start(d1, 'd1', trackFile + vrrpConf({ priority: 150, state: 'MASTER', vips: VIPS, routerId: 'd1', extra: ['track_file {', '    tf', '}'] }), '[metrics]\nlisten = 127.0.0.1:9650\n');
    const scrape = async (): Promise<PromFamily[]> => {
      const r = await d1.exec(['curl', '-sS', '--max-time', '5', 'http://127.0.0.1:9650/metrics']);
      if (r.code !== 0) throw new Error(`scraping d1's metrics failed: ${r.stderr}\n${h1.out.join('')}`);
      return parseProm(r.stdout);
    };
    await waitFor('d1 to become MASTER', async () => (await doc(h1.sock).catch(() => null))?.doc.services.vrrp?.instances[0]?.state === 'MASTER', 15_000, 200)
      .catch((e: Error) => { throw new Error(`${e.message}\n${h1.out.join('')}`); });
    const h2 = start(d2, 'd2', vrrpConf({ priority: 100, vips: VIPS, routerId: 'd2' }));
    await waitFor('d2 to hear the master', async () => (await doc(h2.sock).catch(() => null))?.doc.services.vrrp?.instances[0]?.masterIp === d1.ip, 15_000, 200)
      .catch((e: Error) => { throw new Error(`${e.message}\n${h2.out.join('')}`); });

    const s1 = await doc(h1.sock);
    const s2 = await doc(h2.sock);
    expect(s1.code).toBe(0);
    expect(s2.code).toBe(0);
    expect(s1.doc.schemaVersion).toBe(1);
    expect(s1.doc.pid).toBe(h1.pid);
    const i1 = s1.doc.services.vrrp!.instances[0]!;
    const i2 = s2.doc.services.vrrp!.instances[0]!;
    // The kernel: the master has its own address and both VIPs, the backup only its own.
    expect(await kernelAddrs(d1)).toEqual([`${d1.ip}/24`, ...VIPS].sort());
    expect(await kernelAddrs(d2)).toEqual([`${d2.ip}/24`]);
    expect([...i1.vipsPresent].sort()).toEqual(VIPS);
    expect(i2.vipsPresent).toEqual([]);
    expect(i1).toMatchObject({ state: 'MASTER', priority: 150, vips: VIPS, vipsConfigured: true, sourceIp: d1.ip });
    // The tracker: 2 × -10. The effective priority is what the backup hears in the adverts.
    expect(i1.trackWeights).toEqual({ 'file:tf': -20 });
    expect(i1.effectivePriority).toBe(130);
    expect(i2).toMatchObject({ state: 'BACKUP', priority: 100, effectivePriority: 100, masterIp: d1.ip, masterPriority: 130 });
    expect(i1.lastTransition).toMatchObject({ from: 'BACKUP', to: 'MASTER', reason: 'master_down_timer' });
    expect(Math.abs(Date.parse(i1.lastTransition!.atWall) - Date.now())).toBeLessThan(60_000);
    expect(i2.counters.advertsReceived).toBeGreaterThan(0);
    expect(s1.doc.health).toEqual({ status: 'ok', exitCode: 0, problems: [] });

    // Metrics, parsed by the Prometheus client's own parser: the state, the transition with its
    // reason, GARPs, and adverts sent moving with time as the status counters do.
    const m0 = await scrape();
    expect(sample(m0, 'hakeep_vrrp_state', { instance: 'VI_1', state: 'MASTER' })).toBe(1);
    expect(sample(m0, 'hakeep_vrrp_state', { instance: 'VI_1', state: 'BACKUP' })).toBe(0);
    expect(sample(m0, 'hakeep_vrrp_priority', { instance: 'VI_1' })).toBe(130);
    expect(sample(m0, 'hakeep_vrrp_transitions_total', { instance: 'VI_1', to: 'MASTER', reason: 'master_down_timer' })).toBe(1);
    expect(sample(m0, 'hakeep_vrrp_transitions_total', { instance: 'VI_1', to: 'BACKUP', reason: 'startup' })).toBe(1);
    expect(sample(m0, 'hakeep_vrrp_garps_sent_total', { instance: 'VI_1' })).toBeGreaterThan(0);
    expect(sample(m0, 'hakeep_event_loop_lag_seconds_count')).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 2100));
    const m1 = await scrape();
    const sent0 = sample(m0, 'hakeep_vrrp_adverts_sent_total', { instance: 'VI_1' })!;
    const sent1 = sample(m1, 'hakeep_vrrp_adverts_sent_total', { instance: 'VI_1' })!;
    expect(sent1 - sent0).toBeGreaterThanOrEqual(2);
    expect(sent1 - sent0).toBeLessThanOrEqual(4);
    expect(sent1).toBeLessThanOrEqual((await doc(h1.sock)).doc.services.vrrp!.instances[0]!.counters.advertsSent);

    const table = await status(h1.sock, false);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`VI_1\\s+MASTER\\s+130/150\\s+this host \\(${d1.ip.replace(/\./g, '\\.')}\\)\\s+eth0/51`));
    expect(table.stdout).toContain('trackers: file:tf -20');
    const table2 = await status(h2.sock, false);
    expect(table2.stdout).toMatch(new RegExp(`VI_1\\s+BACKUP\\s+100/100\\s+${d1.ip.replace(/\./g, '\\.')} prio 130`));

    // d1 loses its link: FAULT with the reason, exit 2; d2 takes over and the kernel agrees.
    await d1.exec(['ip', 'link', 'set', 'eth0', 'down']);
    await waitFor('d1 to report FAULT', async () => (await doc(h1.sock)).doc.services.vrrp!.instances[0]!.state === 'FAULT', 10_000, 100);
    await waitFor('d2 to become MASTER', async () => (await doc(h2.sock)).doc.services.vrrp!.instances[0]!.state === 'MASTER', 10_000, 100);
    const f1 = await doc(h1.sock);
    expect(f1.code).toBe(2);
    expect(f1.doc.health.status).toBe('critical');
    expect(f1.doc.health.problems[0]).toMatchObject({ severity: 'critical', kind: 'instance_fault', subject: 'VI_1' });
    expect(f1.doc.health.problems[0]!.detail).toContain('eth0');
    expect(f1.doc.services.vrrp!.instances[0]!.faults[0]).toMatchObject({ source: 'interface', subject: 'eth0' });
    expect(f1.doc.services.vrrp!.instances[0]!.vipsPresent).toEqual([]);
    const m2 = await doc(h2.sock);
    expect(m2.code).toBe(0);
    const j2 = m2.doc.services.vrrp!.instances[0]!;
    expect(j2.lastTransition).toMatchObject({ from: 'BACKUP', to: 'MASTER' });
    await waitFor('d2 to hold both VIPs in the kernel', async () => (await kernelAddrs(d2)).length === 3, 5000, 50);
    expect([...(await doc(h2.sock)).doc.services.vrrp!.instances[0]!.vipsPresent].sort()).toEqual(VIPS);
    expect((await kernelAddrs(d1)).filter((a) => VIPS.includes(a))).toEqual([]);
    const ft = await status(h1.sock, false);
    expect(ft.code).toBe(2);
    expect(ft.stdout).toContain('Health: CRITICAL (exit 2)');

    // The metrics followed: FAULT one-hot, the transition counted with its reason, the adverts
    // stopped moving (they moved while it was master: see m0/m1 above).
    const mf = await scrape();
    expect(sample(mf, 'hakeep_vrrp_state', { instance: 'VI_1', state: 'FAULT' })).toBe(1);
    expect(sample(mf, 'hakeep_vrrp_state', { instance: 'VI_1', state: 'MASTER' })).toBe(0);
    expect(sample(mf, 'hakeep_vrrp_transitions_total', { instance: 'VI_1', to: 'FAULT' })).toBe(1);
    expect(sample(mf, 'hakeep_health_status')).toBe(2);
  }, 60_000);
});
