// Trackers, notify hooks and sync groups end to end, in namespaces: the daemon as operators run
// it, keepalived 2.2.7 as the peer where noted. Two directors d1/d2 and a client on the "outside"
// bridge (eth0), and the two directors on a second, "inside" bridge (eth1).
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLab, sh, waitFor, type Lab, type LabHost } from '../helpers/netns.js';
import {
  AdvertWatch, buildHakeep, HakeepDaemon, hasAddress, KeepalivedDaemon, requireTool, tempDir, vrrpConf,
} from './fixtures/vrrp-harness.js';

const SUBNET = '10.238.4';
const INSIDE = '10.238.5';
const VIP = `${SUBNET}.100`;
const VIP_IN = `${INSIDE}.1`;
const MASTER_DOWN_90 = 3000 + ((256 - 90) * 1000) / 256; // 3648 ms

describe('trackers, notify hooks and sync groups (netns)', () => {
  let lab: Lab;
  let tmp: ReturnType<typeof tempDir>;
  let d1: LabHost;
  let d2: LabHost;
  let adv: AdvertWatch;
  let running: Array<HakeepDaemon | KeepalivedDaemon> = [];
  const sw = (): string => `${lab.prefix}-sw`;
  const dumpAll = (): string => running.map((d) => d.dump()).join('\n');
  const hakeep = (host: LabHost, name: string, conf: string, extraArgs: string[] = []): HakeepDaemon => {
    const d = HakeepDaemon.start(host, name, conf, tmp.dir, extraArgs);
    running.push(d);
    return d;
  };
  const keepalived = (host: LabHost, name: string, conf: string): KeepalivedDaemon => {
    const d = KeepalivedDaemon.start(host, name, conf, tmp.dir);
    running.push(d);
    return d;
  };
  /** A check script whose exit code is read from a file the test flips. */
  const flipScript = (name: string): { path: string; set(code: number): void } => {
    const code = join(tmp.dir, `${name}.code`);
    const path = join(tmp.dir, `${name}.sh`);
    writeFileSync(code, '0\n');
    writeFileSync(path, `#!/bin/sh\nexit $(cat ${code})\n`);
    chmodSync(path, 0o755);
    return { path, set: (c) => writeFileSync(code, `${c}\n`) };
  };
  const holder = async (vip = VIP): Promise<string[]> => {
    const out: string[] = [];
    for (const h of [d1, d2]) {
      const r = await h.exec(['ip', '-o', '-4', 'addr', 'show']);
      if (r.stdout.includes(` ${vip}/`)) out.push(h.name);
    }
    return out;
  };

  beforeAll(async () => {
    await requireTool('keepalived', ['-v'], 'keepalived');
    await requireTool('tcpdump', ['--version'], 'tcpdump');
    await buildHakeep();
    lab = await createLab('hktr', ['d1', 'd2', 'client'], SUBNET);
    tmp = tempDir('tracking');
    chmodSync(tmp.dir, 0o755);
    d1 = lab.hosts.d1!;
    d2 = lab.hosts.d2!;
    // The inside network: a second bridge, eth1 on each director.
    const must = async (argv: string[]): Promise<void> => {
      const r = await sh(argv);
      if (r.code !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
    };
    await must(['ip', '-n', sw(), 'link', 'add', 'br1', 'type', 'bridge']);
    await must(['ip', '-n', sw(), 'link', 'set', 'br1', 'up']);
    for (const [i, h] of [d1, d2].entries()) {
      await must(['ip', '-n', sw(), 'link', 'add', `q${i}`, 'type', 'veth', 'peer', 'name', 'eth1', 'netns', h.ns]);
      await must(['ip', '-n', sw(), 'link', 'set', `q${i}`, 'master', 'br1', 'up']);
      await must(['ip', '-n', h.ns, 'addr', 'add', `${INSIDE}.${10 + i}/24`, 'dev', 'eth1']);
      await must(['ip', '-n', h.ns, 'link', 'set', 'eth1', 'up']);
    }
    adv = await AdvertWatch.start(lab.hosts.client!);
  }, 180_000);

  afterEach(async () => {
    for (const d of running) d.kill('SIGTERM');
    await Promise.all(running.map((d) => Promise.race([d.exited, new Promise((r) => setTimeout(r, 5000))])));
    for (const d of running) d.kill('SIGKILL');
    running = [];
    for (const h of [d1, d2]) {
      await h.exec(['ip', 'link', 'set', 'eth1', 'up']);
      for (const v of [`${VIP}/24 dev eth0`, `${VIP_IN}/24 dev eth1`]) await h.exec(['ip', 'addr', 'del', ...v.split(' ')]);
    }
  }, 30_000);

  afterAll(async () => {
    adv?.stop();
    await lab?.destroy();
    tmp?.remove();
  });

  it('track_script weight -20 failing on the master moves the VIP to a keepalived backup; recovery takes it back', async () => {
    const chk = flipScript('chk-w');
    const script = `vrrp_script chk {\n    script "${chk.path}"\n    interval 1\n    weight -20\n    fall 1\n    rise 1\n}\n`;
    const k2 = keepalived(d2, 'ka-w', vrrpConf({ priority: 90, vips: [`${VIP}/24`], routerId: 'd2' }));
    const h1 = hakeep(d1, 'hk-w', script + vrrpConf({ priority: 100, state: 'MASTER', vips: [`${VIP}/24`], routerId: 'd1', extra: ['track_script {', '    chk', '}'] }));
    await h1.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 10_000);
    await waitFor('d1 holds the VIP', async () => (await holder()).join() === 'd1', 3000);
    const from = h1.lines.length;
    const failedAt = Date.now();
    chk.set(1);
    await h1.waitLog(/^VRRP_Script\(chk\) failed \(exited with status 1\)$/, 3000, from);
    await h1.waitLog(/^\(VI_1\) Changing effective priority from 100 to 80$/, 1000, from);
    // Adverts at 80 on the wire; keepalived (90) preempts after its down timer.
    await adv.next(d1.ip, 80, failedAt, 3000);
    await k2.waitLog(/Entering MASTER STATE/, MASTER_DOWN_90 + 2500);
    await waitFor('the VIP on d2 only', async () => (await holder()).join() === 'd2', 3000);
    expect(Date.now() - failedAt, dumpAll()).toBeLessThan(1000 + MASTER_DOWN_90 + 1500);
    await h1.waitLog(/^\(VI_1\) Entering BACKUP STATE$/, 2000, from);
    // Recovery: back to 100, d1 preempts.
    chk.set(0);
    await h1.waitLog(/^\(VI_1\) Changing effective priority from 80 to 100$/, 3000, from);
    await h1.waitLog(/^\(VI_1\) Entering MASTER STATE$/, MASTER_DOWN_90 + 3000, from);
    await waitFor('the VIP back on d1 only', async () => (await holder()).join() === 'd1', 3000);
  });

  it('track_script weight 0: failure is FAULT (priority 0 sent), success brings the instance back', async () => {
    const chk = flipScript('chk-0');
    const script = `vrrp_script chk {\n    script "${chk.path}"\n    interval 1\n}\n`;
    keepalived(d2, 'ka-0', vrrpConf({ priority: 90, vips: [`${VIP}/24`], routerId: 'd2' }));
    const h1 = hakeep(d1, 'hk-0', script + vrrpConf({ priority: 100, state: 'MASTER', vips: [`${VIP}/24`], routerId: 'd1', extra: ['track_script {', '    chk', '}'] }));
    await h1.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 10_000);
    const from = h1.lines.length;
    const t0 = Date.now();
    chk.set(2);
    await h1.waitLog(/^\(VI_1\) Entering FAULT STATE$/, 3000, from);
    await adv.next(d1.ip, 0, t0, 3000);
    await waitFor('the VIP on d2 only', async () => (await holder()).join() === 'd2', 3000);
    chk.set(0);
    await h1.waitLog(/^\(VI_1\) Entering BACKUP STATE$/, 3000, from);
    await h1.waitLog(/^\(VI_1\) Entering MASTER STATE$/, MASTER_DOWN_90 + 3000, from);
  });

  it('track_interface: a second interface down moves the VIP; with a weight, the priority on the wire changes', async () => {
    hakeep(d2, 'ti-d2', vrrpConf({ priority: 90, vips: [`${VIP}/24`], routerId: 'd2' }));
    const h1 = hakeep(d1, 'ti-d1', vrrpConf({ priority: 100, state: 'MASTER', vips: [`${VIP}/24`], routerId: 'd1', extra: ['track_interface {', '    eth1', '}'] }));
    await h1.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 10_000);
    let from = h1.lines.length;
    await d1.exec(['ip', 'link', 'set', 'eth1', 'down']);
    await h1.waitLog(/^\(VI_1\) Entering FAULT STATE$/, 2000, from);
    await waitFor('the VIP on d2 only', async () => (await holder()).join() === 'd2', 3000);
    await d1.exec(['ip', 'link', 'set', 'eth1', 'up']);
    await h1.waitLog(/^\(VI_1\) Entering MASTER STATE$/, MASTER_DOWN_90 + 3000, from);
    for (const d of running) d.kill('SIGTERM');
    await Promise.all(running.map((d) => d.exited));
    running = [];
    // With a weight: eth1 down lowers the priority by 30, seen in the adverts.
    const w = hakeep(d1, 'ti-w', vrrpConf({ priority: 100, state: 'MASTER', vips: [`${VIP}/24`], routerId: 'd1', extra: ['track_interface {', '    eth1 weight -30', '}'] }));
    await w.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 10_000);
    from = w.lines.length;
    const t0 = Date.now();
    await d1.exec(['ip', 'link', 'set', 'eth1', 'down']);
    await w.waitLog(/^\(VI_1\) Changing effective priority from 100 to 70$/, 2000, from);
    await adv.next(d1.ip, 70, t0, 3000);
  });

  it('a sync group (outside VIP on eth0, inside VIP on eth1) fails over as one when only eth1 goes down', async () => {
    const group = (prio: number, state: 'MASTER' | 'BACKUP'): string => [
      'vrrp_sync_group G1 {', '    group {', '        OUT', '        IN', '    }', '}',
      vrrpConf({ name: 'OUT', priority: prio, state, vips: [`${VIP}/24`], vrid: 51 }).replace(/^global_defs \{[^}]*\}\n/, ''),
      vrrpConf({ name: 'IN', iface: 'eth1', priority: prio, state, vips: [`${VIP_IN}/24`], vrid: 52 }).replace(/^global_defs \{[^}]*\}\n/, ''),
    ].join('\n');
    const h2 = hakeep(d2, 'sg-d2', group(90, 'BACKUP'));
    const h1 = hakeep(d1, 'sg-d1', group(100, 'MASTER'));
    await h1.waitLog(/^VRRP_Group\(G1\) Syncing instances to MASTER state$/, 12_000);
    await waitFor('both VIPs on d1', async () => (await holder(VIP)).join() === 'd1' && (await holder(VIP_IN)).join() === 'd1', 3000);
    const from1 = h1.lines.length;
    await d1.exec(['ip', 'link', 'set', 'eth1', 'down']);
    await h1.waitLog(/^VRRP_Group\(G1\) Syncing instances to FAULT state$/, 2000, from1);
    // The outside instance resigned too (priority 0 on eth0), so d2 takes both after Skew_Time
    // on eth0 and Master_Down_Interval on eth1: both end up on d2.
    await waitFor('both VIPs on d2', async () => (await holder(VIP)).join() === 'd2' && (await holder(VIP_IN)).join() === 'd2', MASTER_DOWN_90 + 3000);
    expect(h2.has(/Syncing instances to MASTER state/), dumpAll()).toBe(true);
    expect(await hasAddress(d1, VIP)).toBe(false);
  });

  it('notify scripts record master → fault → backup → master → stop in order; a hung one is killed; the FIFO sees the same', async () => {
    const rec = join(tmp.dir, 'notify.rec');
    const notify = join(tmp.dir, 'notify.sh');
    writeFileSync(notify, `#!/bin/sh\necho "$@" >> ${rec}\n`);
    const hang = join(tmp.dir, 'hang.sh');
    writeFileSync(hang, '#!/bin/sh\nsleep 30\n');
    chmodSync(notify, 0o755);
    chmodSync(hang, 0o755);
    const fifo = join(tmp.dir, 'events.fifo');
    const fifoLog = join(tmp.dir, 'fifo.rec');
    const reader = join(tmp.dir, 'reader.sh');
    writeFileSync(reader, `#!/bin/sh\nexec cat "$1" >> ${fifoLog}\n`);
    chmodSync(reader, 0o755);
    const conf = vrrpConf({
      priority: 255, state: 'MASTER', vips: [`${VIP}/24`], routerId: 'd1',
      extra: [`notify "${notify}"`, `notify_backup "${hang}"`],
    }).replace('global_defs {', `global_defs {\n    notify_fifo ${fifo}\n    notify_fifo_script "${reader}"`);
    const settings = join(tmp.dir, 'notify.ini');
    writeFileSync(settings, '[notify]\ntimeout = 2\n');
    const h1 = hakeep(d1, 'notify', conf, ['--settings', settings]);
    await h1.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 5000);
    await d1.exec(['ip', 'link', 'set', 'eth0', 'down']);
    await h1.waitLog(/^\(VI_1\) Entering FAULT STATE$/, 2000);
    await d1.exec(['ip', 'link', 'set', 'eth0', 'up']);
    await h1.waitLog(/^\(VI_1\) Entering BACKUP STATE$/, 2000);
    await h1.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 6000, h1.lines.findIndex((l) => /BACKUP STATE$/.test(l.msg)));
    h1.kill('SIGTERM');
    expect(await h1.exited).toBe(0);
    if (!existsSync(rec)) throw new Error(`no notify record; daemon log:\n${dumpAll()}`);
    const lines = readFileSync(rec, 'utf8').trim().split('\n');
    // BACKUP (init) first, as keepalived notifies it at start; then the sequence, in order.
    expect(lines, dumpAll()).toEqual(['INSTANCE VI_1 BACKUP 255', 'INSTANCE VI_1 MASTER 255', 'INSTANCE VI_1 FAULT 255', 'INSTANCE VI_1 BACKUP 255', 'INSTANCE VI_1 MASTER 255', 'INSTANCE VI_1 STOP 255']);
    // The hung notify_backup (sleep 30, timeout 2 s) was killed and did not hold the rest.
    expect(h1.has(/notify_backup\(VI_1\).*(timed out|killed)/), dumpAll()).toBe(true);
    await waitFor('the FIFO reader to have the STOP line', () => existsSync(fifoLog) && readFileSync(fifoLog, 'utf8').includes('STOP'), 3000);
    expect(readFileSync(fifoLog, 'utf8').trim().split('\n')).toEqual([
      'INSTANCE "VI_1" BACKUP 255', 'INSTANCE "VI_1" MASTER 255', 'INSTANCE "VI_1" FAULT 255', 'INSTANCE "VI_1" BACKUP 255', 'INSTANCE "VI_1" MASTER 255', 'INSTANCE "VI_1" STOP 255',
    ]);
  });

  it('enable_script_security refuses a script in a world-writable directory, naming it; accepted once fixed', async () => {
    const open = join(tmp.dir, 'open');
    if (existsSync(open)) rmSync(open, { recursive: true });
    mkdirSync(open);
    chmodSync(open, 0o777);
    const chk = join(open, 'chk.sh');
    writeFileSync(chk, '#!/bin/sh\nexit 0\n');
    chmodSync(chk, 0o755);
    const conf = `global_defs {\n    enable_script_security\n    script_user root\n}\nvrrp_script chk {\n    script "${chk}"\n    interval 1\n}\n`
      + vrrpConf({ priority: 100, vips: [`${VIP}/24`], extra: ['track_script {', '    chk', '}'] }).replace(/^global_defs \{[^}]*\}\n/, '');
    const file = join(tmp.dir, 'sec.conf');
    writeFileSync(file, conf);
    const t = await sh(['node', join(process.cwd(), 'bin', 'hakeep.js'), '-t', '-f', file]);
    expect(t.stderr).toContain(open);
    const h = hakeep(d1, 'sec', conf);
    await h.waitLog(new RegExp(open.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')), 5000);
    // The weight-0 script never runs: the instance stays in FAULT, never MASTER.
    await h.waitLog(/^\(VI_1\) Entering FAULT STATE/, 5000);
    await new Promise((r) => setTimeout(r, 4500));
    expect(h.has(/Entering MASTER STATE/), h.dump()).toBe(false);
    h.kill('SIGTERM');
    await h.exited;
    running = [];
    chmodSync(open, 0o755);
    const ok = await sh(['node', join(process.cwd(), 'bin', 'hakeep.js'), '-t', '-f', file]);
    expect(ok.stderr).not.toContain(`${open}:`);
    const h2 = hakeep(d1, 'sec2', conf);
    await h2.waitLog(/^VRRP_Script\(chk\) succeeded$/, 5000);
  });
});
