// Reload of the checker side (CheckEngine.reload / planReload, src/ipvs/reload-plan.ts): the
// engine with a fake clock, a fake network and the independent fake kernel (ipvs-kernel-fake.ts
// behind FakeIpvs), every ipvsadm line it is sent recorded.
import { describe, expect, it } from 'vitest';
import { CheckEngine } from '../../src/check/engine.js';
import type { LogLevel } from '../../src/check/engine.js';
import type { Probe } from '../../src/check/tcp-probe.js';
import type { ProbeOutcome } from '../../src/check/tcp-checker.js';
import type { Config, NotifyCmd, RealServer, VirtualServer } from '../../src/config/model.js';
import type { IpvsBackend } from '../../src/ipvs/ipvsadm.js';
import { IpvsadmError } from '../../src/ipvs/ipvsadm.js';
import { FakeClock, FakeIpvs, config, realServer, tcpCheck, virtualServer } from './ipvs-fixtures.js';

const check = (over = {}) => tcpCheck({ delayLoop: 1, connectTimeout: 2, retry: 0, delayBeforeRetry: 1, ...over });
const rs = (ip: string, over: Partial<RealServer> = {}) => realServer(ip, 80, { weight: 1, checkers: [check()], ...over });
const vs = (ip: string, servers: RealServer[], over: Partial<VirtualServer> = {}) => virtualServer(ip, 80, { lbAlgo: 'rr', realServers: servers, ...over });
/** A fresh copy with other source lines: what re-reading the same file gives. */
const reread = (c: Config): Config => JSON.parse(JSON.stringify(c, (k, v: unknown) => (k === 'loc' ? { file: 'test.conf', line: 999 } : v))) as Config;

function setup(first: Config, kernelText = '') {
  const clock = new FakeClock();
  clock.randomValue = 0;
  const down = new Set<string>();
  const probes: string[] = [];
  const probe: Probe = (t, done) => {
    const key = `${t.host}:${t.port}`;
    probes.push(key);
    const outcome: ProbeOutcome = down.has(key) ? 'failed' : 'success';
    const h = clock.setTimeout(() => done(outcome, outcome), 1);
    return () => clock.clearTimeout(h);
  };
  const kernel = new FakeIpvs(kernelText);
  const backend: IpvsBackend = {
    save: async () => kernel.save(),
    restore: async (lines) => {
      const err = kernel.restore([...lines]);
      if (err) throw new IpvsadmError('ipvsadm -R', err.trim(), 0, err.trim());
    },
  };
  const logs: { level: LogLevel; msg: string }[] = [];
  const scripts: string[] = [];
  const engine = new CheckEngine(first, {
    clock, probe, backend,
    runScript: (cmd: NotifyCmd, what: string) => scripts.push(`${what}:${cmd.command}`),
    log: (level, msg) => logs.push({ level, msg }),
    resyncMs: 60_000, coalesceMs: 20,
  });
  /** Every ipvsadm -R line sent since `mark()`. */
  let from = 0;
  const mark = (): void => { from = kernel.restores.length; };
  const sent = (): string[] => kernel.restores.slice(from).flat();
  const info = () => logs.filter((l) => l.level === 'info').map((l) => l.msg);
  return { clock, down, probes, kernel, engine, logs, info, scripts, mark, sent };
}

const two = config([vs('10.0.0.100', [rs('10.0.0.2'), rs('10.0.0.3')]), vs('10.0.0.101', [rs('10.0.0.4')])]);

describe('CheckEngine.reload', () => {
  it('an unchanged configuration: no IPVS command, checks go on where they were, health kept', async () => {
    const t = setup(two);
    t.engine.start();
    await t.clock.advance(2500);
    const table = t.kernel.save();
    const before = t.engine.status();
    expect(before.virtualServers.flatMap((v) => v.realServers.map((r) => r.alive))).toEqual([true, true, true]);
    t.mark();
    const probesBefore = t.probes.length;
    const plan = t.engine.planReload(reread(two));
    const lines = t.engine.reload(reread(two));
    expect(lines).toEqual(plan);
    expect(lines).toEqual([
      'virtual server [10.0.0.100]:tcp:80: unchanged (keeps its IPVS entries, health and checks)',
      'virtual server [10.0.0.101]:tcp:80: unchanged (keeps its IPVS entries, health and checks)',
      'IPVS: no change',
    ]);
    await t.clock.advance(3000);
    expect(t.sent()).toEqual([]);
    expect(t.kernel.save()).toBe(table);
    // The same checker runtimes: their counters went on (a restart would start them at 0), one
    // check a second each as before.
    const after = t.engine.status();
    const checks = (s: typeof after) => s.virtualServers.flatMap((v) => v.realServers.map((r) => r.checkers[0]!.checks));
    checks(after).forEach((n, i) => expect(n).toBeGreaterThanOrEqual(checks(before)[i]! + 2));
    expect(t.probes.length - probesBefore).toBeLessThanOrEqual(3 * 4);
    expect(t.info().filter((m) => /Adding|Removing|quorum/.test(m))).toEqual([]);
    await t.engine.stop();
  });

  it('a real server added: exactly one -a; removed: exactly one -d', async () => {
    const t = setup(two);
    t.engine.start();
    await t.clock.advance(2500);
    const added = config([vs('10.0.0.100', [rs('10.0.0.2'), rs('10.0.0.3'), rs('10.0.0.5')]), vs('10.0.0.101', [rs('10.0.0.4')])]);
    t.mark();
    const plan = t.engine.planReload(added);
    expect(t.engine.reload(added)).toEqual(plan);
    expect(plan).toEqual([
      'virtual server [10.0.0.100]:tcp:80: changed',
      '  real server [10.0.0.5]:tcp:80: added',
      'virtual server [10.0.0.101]:tcp:80: unchanged (keeps its IPVS entries, health and checks)',
      'IPVS: -a -t 10.0.0.100:80 -r 10.0.0.5:80 -m -w 1',
    ]);
    await t.clock.advance(1500);
    expect(t.sent()).toEqual(['-a -t 10.0.0.100:80 -r 10.0.0.5:80 -m -w 1']);
    expect(t.info()).toContain('Adding service [10.0.0.5]:tcp:80 to VS [10.0.0.100]:tcp:80');
    // The new server is checked.
    expect(t.probes.filter((p) => p === '10.0.0.5:80').length).toBeGreaterThanOrEqual(1);

    const removed = config([vs('10.0.0.100', [rs('10.0.0.2'), rs('10.0.0.5', {})]), vs('10.0.0.101', [rs('10.0.0.4', { notifyDown: { command: 'down.sh', user: null } })])]);
    // 10.0.0.3 goes; 10.0.0.4 gets a notify_down (a real-server setting, changed in place).
    t.mark();
    const lines = t.engine.reload(removed);
    expect(lines).toContain('  real server [10.0.0.3]:tcp:80: removed');
    expect(lines).toContain('  real server [10.0.0.4]:tcp:80: changed: notify_down');
    expect(lines.filter((l) => l.startsWith('IPVS:'))).toEqual(['IPVS: -d -t 10.0.0.100:80 -r 10.0.0.3:80']);
    await t.clock.advance(1500);
    expect(t.sent()).toEqual(['-d -t 10.0.0.100:80 -r 10.0.0.3:80']);
    expect(t.info()).toContain('Removing service [10.0.0.3]:tcp:80 from VS [10.0.0.100]:tcp:80');
    // The removed server is checked no more.
    const n = t.probes.filter((p) => p === '10.0.0.3:80').length;
    await t.clock.advance(3000);
    expect(t.probes.filter((p) => p === '10.0.0.3:80').length).toBe(n);
    await t.engine.stop();
  });

  it('changed checker settings restart only that checker, from the current health (no remove, no re-add)', async () => {
    const t = setup(two);
    t.engine.start();
    await t.clock.advance(1500);
    t.down.add('10.0.0.3:80');
    await t.clock.advance(2000);
    expect(t.kernel.save()).not.toContain('10.0.0.3:80');
    const before = t.engine.status().virtualServers[0]!.realServers;
    t.mark();
    // Both real servers of the first VS get a new connect_timeout; 10.0.0.3 is down, 10.0.0.2 up.
    const next = config([
      vs('10.0.0.100', [rs('10.0.0.2', { checkers: [check({ connectTimeout: 3 })] }), rs('10.0.0.3', { checkers: [check({ connectTimeout: 3 })] })]),
      vs('10.0.0.101', [rs('10.0.0.4')]),
    ]);
    const lines = t.engine.reload(next);
    expect(lines).toEqual([
      'virtual server [10.0.0.100]:tcp:80: changed',
      '  real server [10.0.0.2]:tcp:80: TCP_CHECK restarted (keeps its health)',
      '  real server [10.0.0.3]:tcp:80: TCP_CHECK restarted (keeps its health)',
      'virtual server [10.0.0.101]:tcp:80: unchanged (keeps its IPVS entries, health and checks)',
      'IPVS: no change',
    ]);
    const right = t.engine.status().virtualServers[0]!.realServers;
    expect(right.map((r) => r.alive)).toEqual([true, false]);
    // New runtimes (counters from 0), with the health they had.
    expect(right.map((r) => r.checkers[0]!.checks)).toEqual([0, 0]);
    expect(before.map((r) => r.checkers[0]!.checks).every((n) => n > 0)).toBe(true);
    const probes0 = t.probes.length;
    await t.clock.advance(3000);
    // The down server was never re-added, the healthy one never removed.
    expect(t.sent()).toEqual([]);
    // The old runtimes stopped: one check a second per real server, not two.
    const probed = t.probes.slice(probes0);
    expect(probed.filter((p) => p === '10.0.0.2:80').length).toBeLessThanOrEqual(4);
    expect(probed.filter((p) => p === '10.0.0.3:80').length).toBeLessThanOrEqual(4);
    expect(t.scripts).toEqual([]);
    // The restarted checker still notices the server coming back.
    t.down.clear();
    await t.clock.advance(1500);
    expect(t.sent()).toEqual(['-a -t 10.0.0.100:80 -r 10.0.0.3:80 -m -w 1']);
    await t.engine.stop();
  });

  it('a virtual server removed: its service deleted (-D); a hand-made service is never touched', async () => {
    const hand = '-A -t 10.9.9.9:80 -s wrr\n-a -t 10.9.9.9:80 -r 10.0.0.7:80 -m -w 3\n';
    const t = setup(two, hand);
    t.engine.start();
    await t.clock.advance(2500);
    t.mark();
    const next = config([vs('10.0.0.100', [rs('10.0.0.2'), rs('10.0.0.3')])]);
    const plan = t.engine.planReload(next);
    // A plan changes nothing.
    await t.clock.advance(1000);
    expect(t.sent()).toEqual([]);
    expect(t.engine.reload(next)).toEqual(plan);
    expect(plan).toEqual([
      'virtual server [10.0.0.100]:tcp:80: unchanged (keeps its IPVS entries, health and checks)',
      'virtual server [10.0.0.101]:tcp:80: removed, its service is deleted from IPVS',
      'IPVS: -D -t 10.0.0.101:80',
    ]);
    await t.clock.advance(1000);
    expect(t.sent()).toEqual(['-D -t 10.0.0.101:80']);
    expect(t.info()).toContain('Removing Virtual Server [10.0.0.101]:tcp:80');
    expect(t.kernel.save()).toContain('-A -t 10.9.9.9:80 -s wrr');
    expect(t.kernel.save()).not.toContain('10.0.0.101');
    // Added back: created again, its checks start.
    t.mark();
    expect(t.engine.reload(two).filter((l) => l.startsWith('IPVS:'))).toEqual(['IPVS: -A -t 10.0.0.101:80 -s rr', 'IPVS: -a -t 10.0.0.101:80 -r 10.0.0.4:80 -m -w 1']);
    await t.clock.advance(1500);
    expect(t.sent()).toEqual(['-A -t 10.0.0.101:80 -s rr', '-a -t 10.0.0.101:80 -r 10.0.0.4:80 -m -w 1']);
    await t.engine.stop();
  });

  it('virtual server settings change in place (-E), a weight with -e, and quorum is evaluated again', async () => {
    const q = (over: Partial<VirtualServer>, w2 = 1) => config([vs('10.0.0.100', [rs('10.0.0.2'), rs('10.0.0.3', { weight: w2 })], { quorumDown: { command: 'qdown.sh', user: null }, ...over })]);
    const t = setup(q({}));
    t.engine.start();
    await t.clock.advance(2500);
    t.mark();
    const lines = t.engine.reload(q({ lbAlgo: 'wrr' }, 5));
    expect(lines).toEqual([
      'virtual server [10.0.0.100]:tcp:80: changed: lb_algo',
      '  real server [10.0.0.3]:tcp:80: changed: weight',
      'IPVS: -E -t 10.0.0.100:80 -s wrr',
      'IPVS: -e -t 10.0.0.100:80 -r 10.0.0.3:80 -m -w 5',
    ]);
    await t.clock.advance(500);
    expect(t.sent()).toEqual(['-E -t 10.0.0.100:80 -s wrr', '-e -t 10.0.0.100:80 -r 10.0.0.3:80 -m -w 5']);
    // A quorum above the live weight (6): lost at once, quorum_down runs.
    t.engine.reload(q({ lbAlgo: 'wrr', quorum: 10 }, 5));
    expect(t.info().some((m) => m.startsWith('Lost quorum'))).toBe(true);
    expect(t.scripts).toEqual(['quorum_down:qdown.sh']);
    await t.engine.stop();
  });
});
