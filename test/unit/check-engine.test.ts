import { describe, expect, it } from 'vitest';
import { CheckEngine, rsKey } from '../../src/check/engine.js';
import type { EngineDeps, LogLevel } from '../../src/check/engine.js';
import type { Probe } from '../../src/check/tcp-probe.js';
import type { ProbeOutcome } from '../../src/check/tcp-checker.js';
import type { MiscCheck, NotifyCmd, VirtualServer } from '../../src/config/model.js';
import type { MiscRunner } from '../../src/check/misc-checker.js';
import type { IpvsBackend } from '../../src/ipvs/ipvsadm.js';
import { IpvsadmError } from '../../src/ipvs/ipvsadm.js';
import { FakeClock, FakeIpvs, config, realServer, tcpCheck, virtualServer } from './ipvs-fixtures.js';

/** Servers answer per "host:port": success/failed come back after 1 ms; 'timeout' never answers. */
function fakeNetwork(clock: FakeClock) {
  const state = new Map<string, ProbeOutcome>();
  const probes: string[] = [];
  let aborted = 0;
  const probe: Probe = (t, done) => {
    const key = `${t.host}:${t.port}`;
    probes.push(key);
    const outcome = state.get(key) ?? 'success';
    if (outcome === 'timeout') return () => { aborted++; };
    const h = clock.setTimeout(() => done(outcome, outcome), 1);
    return () => clock.clearTimeout(h);
  };
  return { state, probe, probes, aborted: () => aborted };
}

function setup(vss: VirtualServer[], kernelText = '', extra: Partial<EngineDeps> = {}) {
  const clock = new FakeClock();
  clock.randomValue = 0; // first checks right away
  const net = fakeNetwork(clock);
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
  const engine = new CheckEngine(config(vss), {
    clock, probe: net.probe, backend,
    runScript: (cmd: NotifyCmd, what: string) => scripts.push(`${what}:${cmd.command}`),
    log: (level, msg) => logs.push({ level, msg }),
    resyncMs: 5000, coalesceMs: 20,
    ...extra,
  });
  const info = () => logs.filter((l) => l.level === 'info').map((l) => l.msg);
  return { clock, net, kernel, engine, logs, info, scripts };
}

const check = (over = {}) => tcpCheck({ delayLoop: 1, connectTimeout: 2, retry: 0, delayBeforeRetry: 1, ...over });

describe('CheckEngine', () => {
  const nat = virtualServer('10.0.0.100', 80, {
    lbAlgo: 'rr',
    realServers: [
      realServer('10.0.0.2', 80, { weight: 3, checkers: [check()], notifyDown: { command: 'down.sh', user: null }, notifyUp: { command: 'up.sh', user: null } }),
      realServer('10.0.0.3', 80, { weight: 2, inhibitOnFailure: true, checkers: [check({ connectPort: 8080 })] }),
    ],
  });

  it('programs healthy servers, then removes / weights 0 the failed ones, and brings them back', async () => {
    const t = setup([nat]);
    t.engine.start();
    await t.clock.advance(10);
    expect(t.kernel.save()).toBe('-A -t 10.0.0.100:80 -s rr\n-a -t 10.0.0.100:80 -r 10.0.0.2:80 -m -w 3\n-a -t 10.0.0.100:80 -r 10.0.0.3:80 -m -w 2\n');
    // A healthy start logs no quorum line (keepalived sets the quorum state silently).
    expect(t.info()).toEqual([
      'TCP connection to [10.0.0.2]:tcp:80 success.',
      'TCP connection to [10.0.0.3]:tcp:80 success.',
    ]);
    // connect_port is used for the check, the real server's own port for IPVS.
    expect(t.net.probes.slice(0, 2)).toEqual(['10.0.0.2:80', '10.0.0.3:8080']);

    t.net.state.set('10.0.0.2:80', 'failed');
    t.net.state.set('10.0.0.3:8080', 'timeout');
    await t.clock.advance(1000 + 2 + 2000 + 25);
    expect(t.kernel.save()).toBe('-A -t 10.0.0.100:80 -s rr\n-a -t 10.0.0.100:80 -r 10.0.0.3:80 -m -w 0\n');
    expect(t.info()).toContain('TCP_CHECK on service [10.0.0.2]:tcp:80 failed.');
    expect(t.info()).toContain('Removing service [10.0.0.2]:tcp:80 from VS [10.0.0.100]:tcp:80');
    expect(t.info()).toContain('Disabling service [10.0.0.3]:tcp:80 of VS [10.0.0.100]:tcp:80');
    expect(t.scripts).toEqual(['notify_down:down.sh']);
    // The hung connect was given up after connect_timeout (2 s) and counted as a timeout.
    expect(t.net.aborted()).toBeGreaterThanOrEqual(1);
    expect(t.engine.status().virtualServers[0]!.realServers[1]!.checkers[0]).toMatchObject({ lastOutcome: 'timeout', lastDetail: 'no answer within 2000 ms' });

    t.net.state.clear();
    await t.clock.advance(1100);
    expect(t.kernel.save()).toBe('-A -t 10.0.0.100:80 -s rr\n-a -t 10.0.0.100:80 -r 10.0.0.3:80 -m -w 2\n-a -t 10.0.0.100:80 -r 10.0.0.2:80 -m -w 3\n');
    expect(t.scripts).toEqual(['notify_down:down.sh', 'notify_up:up.sh']);
    const st = t.engine.status();
    expect(st.virtualServers[0]!.realServers.map((r) => r.alive)).toEqual([true, true]);
    expect(st.ipvs.batchesApplied).toBeGreaterThanOrEqual(3);
    expect(st.checks.total).toBeGreaterThan(4);
    await t.engine.stop();
  });

  it('removal latency: a dead server leaves IPVS within delay_loop + coalesce window', async () => {
    const t = setup([nat]);
    t.engine.start();
    await t.clock.advance(10);
    t.net.state.set('10.0.0.2:80', 'failed');
    const died = t.clock.now();
    for (let i = 0; i < 1000 && t.kernel.save().includes('10.0.0.2:80'); i++) await t.clock.advance(5);
    expect(t.kernel.save()).not.toContain('10.0.0.2:80');
    expect(t.clock.now() - died).toBeLessThanOrEqual(1000 + 1 + 20 + 5);
    await t.engine.stop();
  });

  it('puts the sorry server in when all real servers failed', async () => {
    const vs = { ...nat, sorryServer: { ip: '10.0.0.9', port: 8080, family: 4 as const } };
    const t = setup([vs]);
    t.engine.start();
    await t.clock.advance(10);
    t.net.state.set('10.0.0.2:80', 'failed');
    t.net.state.set('10.0.0.3:8080', 'failed');
    await t.clock.advance(1100);
    expect(t.kernel.save()).toBe('-A -t 10.0.0.100:80 -s rr\n-a -t 10.0.0.100:80 -r 10.0.0.3:80 -m -w 0\n-a -t 10.0.0.100:80 -r 10.0.0.9:8080 -m -w 1\n');
    expect(t.info()).toContain('Adding sorry server [10.0.0.9]:tcp:8080 to VS [10.0.0.100]:tcp:80');
    expect(t.engine.status().virtualServers[0]).toMatchObject({ quorumUp: false, sorryServerActive: true, liveWeight: 0 });
    await t.engine.stop();
  });

  it('alpha servers stay out until their first successful check', async () => {
    const vs = virtualServer('10.0.0.100', 80, {
      realServers: [realServer('10.0.0.2', 80, { alpha: true, checkers: [check({ warmup: 2 })] })],
    });
    const t = setup([vs]);
    t.clock.randomValue = 0.5;
    t.engine.start();
    await t.clock.advance(100);
    expect(t.kernel.save()).toBe('-A -t 10.0.0.100:80 -s wlc\n');
    await t.clock.advance(1000); // warmup 2 s × 0.5
    expect(t.kernel.save()).toBe('-A -t 10.0.0.100:80 -s wlc\n-a -t 10.0.0.100:80 -r 10.0.0.2:80 -m -w 1\n');
    await t.engine.stop();
  });

  it('a real server with two checkers is alive only while both pass', async () => {
    const vs = virtualServer('10.0.0.100', 80, {
      realServers: [realServer('10.0.0.2', 80, { checkers: [check(), check({ connectPort: 81 })] })],
    });
    const t = setup([vs]);
    t.engine.start();
    await t.clock.advance(10);
    t.net.state.set('10.0.0.2:81', 'failed');
    await t.clock.advance(1100);
    expect(t.kernel.save()).toBe('-A -t 10.0.0.100:80 -s wlc\n');
    t.net.state.clear();
    await t.clock.advance(1100);
    expect(t.kernel.save()).toContain('-r 10.0.0.2:80');
    await t.engine.stop();
  });

  it('refuses a checker type it does not run instead of treating the server as healthy', () => {
    const vs = virtualServer('10.0.0.100', 80, {
      realServers: [realServer('10.0.0.2', 80, { checkers: [{ type: 'BFD_CHECK', name: 'bfd1', connectTimeout: 5, retry: 0, delayBeforeRetry: 1, delayLoop: 1, warmup: null, alpha: null, logAllFailures: false, loc: { file: 'k.conf', line: 7 } }] })],
    });
    expect(() => setup([vs])).toThrow('k.conf:7: BFD_CHECK on [10.0.0.2]:tcp:80 of VS [10.0.0.100]:tcp:80 is not run by hakeep (no BFD); refusing to start');
  });

  it('starts real servers from a known health (a restarted checker side): no alpha wait, no notifiers', async () => {
    const vs = virtualServer('10.0.0.100', 80, {
      realServers: [
        realServer('10.0.0.2', 80, { alpha: true, checkers: [check()], notifyUp: { command: 'up.sh', user: null } }),
        realServer('10.0.0.3', 80, { checkers: [check()], notifyDown: { command: 'down.sh', user: null } }),
      ],
    });
    const health = new Map([[rsKey('[10.0.0.100]:tcp:80', '[10.0.0.2]:tcp:80'), true], [rsKey('[10.0.0.100]:tcp:80', '[10.0.0.3]:tcp:80'), false]]);
    const t = setup([vs], '', { initialHealth: health });
    t.net.state.set('10.0.0.3:80', 'failed');
    t.engine.start();
    await t.clock.advance(10);
    // Programmed from the known health at once: the alpha server is in, the dead one is not.
    expect(t.kernel.save()).toBe('-A -t 10.0.0.100:80 -s wlc\n-a -t 10.0.0.100:80 -r 10.0.0.2:80 -m -w 1\n');
    await t.clock.advance(3000);
    expect(t.scripts).toEqual([]);
    expect(t.info().filter((m) => /quorum|Adding|Removing/.test(m))).toEqual([]);
    await t.engine.stop();
  });

  it('stop removes only its services, logs the shutdown, and stops all timers', async () => {
    const t = setup([nat], '-A -t 10.0.0.200:80 -s rr\n');
    t.engine.start();
    await t.clock.advance(10);
    await t.engine.stop();
    expect(t.kernel.save()).toBe('-A -t 10.0.0.200:80 -s rr\n');
    expect(t.info().slice(-2)).toEqual([
      'Shutting down service [10.0.0.2]:tcp:80 from VS [10.0.0.100]:tcp:80',
      'Shutting down service [10.0.0.3]:tcp:80 from VS [10.0.0.100]:tcp:80',
    ]);
    const probes = t.net.probes.length;
    await t.clock.advance(10_000);
    expect(t.net.probes.length).toBe(probes);
    expect(t.clock.pendingTimers()).toBe(0);
  });

  it('keeps checking when ipvsadm fails, and catches up once it works', async () => {
    const t = setup([nat]);
    let broken = true;
    const kernel = t.kernel;
    const origSave = kernel.save.bind(kernel);
    kernel.save = () => { if (broken) throw new IpvsadmError('ipvsadm -S -n', 'Protocol not available', 2, 'ipvsadm -S -n failed (exit 2): Protocol not available'); return origSave(); };
    t.engine.start();
    await t.clock.advance(10);
    t.net.state.set('10.0.0.2:80', 'failed');
    await t.clock.advance(1100);
    expect(t.info()).toContain('Removing service [10.0.0.2]:tcp:80 from VS [10.0.0.100]:tcp:80');
    expect(t.logs.some((l) => l.level === 'error' && l.msg.includes('Protocol not available'))).toBe(true);
    broken = false;
    await t.clock.advance(5000);
    expect(origSave()).toBe('-A -t 10.0.0.100:80 -s rr\n-a -t 10.0.0.100:80 -r 10.0.0.3:80 -m -w 2\n');
    await t.engine.stop();
  });
});

describe('CheckEngine start order', () => {
  it('programs IPVS before the first check, and checks anyway when ipvsadm hangs', async () => {
    const vs = virtualServer('10.0.0.100', 80, { realServers: [realServer('10.0.0.2', 80, { checkers: [check()] })] });
    const clock = new FakeClock();
    clock.randomValue = 0;
    const net = fakeNetwork(clock);
    const order: string[] = [];
    let hang = false;
    const kernel = new FakeIpvs();
    const engine = new CheckEngine(config([vs]), {
      clock, probe: (t, done) => { order.push('probe'); return net.probe(t, done); },
      backend: {
        save: () => (hang ? new Promise<string>(() => undefined) : Promise.resolve(kernel.save())),
        restore: async (lines) => { order.push('restore'); kernel.restore([...lines]); },
      },
      runScript: () => undefined, log: () => undefined,
    });
    void engine.start();
    await clock.advance(10);
    expect(order.slice(0, 2)).toEqual(['restore', 'probe']);
    await engine.stop();

    hang = true;
    let saves = 0;
    const e2 = new CheckEngine(config([vs]), {
      clock, probe: net.probe,
      // The adoption read and the first sync's read hang; later reads answer.
      backend: { save: () => (++saves <= 2 ? new Promise<string>(() => undefined) : Promise.resolve('')), restore: async () => undefined },
      runScript: () => undefined, log: () => undefined,
    });
    const before = net.probes.length;
    void e2.start();
    // The adoption read gives up after 5 s, then the first sync waits at most 30 s: checks start.
    await clock.advance(34_900);
    expect(net.probes.length).toBe(before);
    expect(saves).toBe(2);
    await clock.advance(300);
    expect(net.probes.length).toBeGreaterThan(before);
    // Stopping does not hang on the stuck ipvsadm either.
    let stopped = false;
    void e2.stop().then(() => { stopped = true; });
    await clock.advance(5001);
    expect(stopped).toBe(true);
  });
});

describe('CheckEngine with other checkers', () => {
  const miscCheck = (over: Partial<MiscCheck> = {}): MiscCheck => ({
    type: 'MISC_CHECK', connectTimeout: 5, retry: 0, delayBeforeRetry: 1, delayLoop: 1, warmup: null, alpha: null,
    logAllFailures: false, loc: { file: 'k.conf', line: 9 }, miscPath: '/usr/local/bin/check', miscTimeout: 5, miscDynamic: true, user: null, ...over,
  });
  /** A fake script runner: each misc_path exits with the code set for it. */
  function fakeRunner() {
    const codes = new Map<string, number>();
    const run: MiscRunner = async (job) => ({ exitCode: codes.get(job.command) ?? 0, signal: null, timedOut: false, durationMs: 1, stdout: '', stderr: '', error: null });
    return { codes, run };
  }

  it('misc_dynamic: exit 2-255 sets the IPVS weight to exit-2, logged as keepalived does; exit 1 removes the server', async () => {
    const vs = virtualServer('10.0.0.100', 80, { lbAlgo: 'rr', realServers: [realServer('10.0.0.2', 80, { weight: 5, checkers: [miscCheck()] })] });
    const r = fakeRunner();
    const t = setup([vs], '', { io: { runScript: r.run } });
    t.engine.start();
    await t.clock.advance(30);
    expect(t.kernel.save()).toContain('-r 10.0.0.2:80 -m -w 5');
    r.codes.set('/usr/local/bin/check', 12);
    await t.clock.advance(1100);
    expect(t.kernel.save()).toContain('-r 10.0.0.2:80 -m -w 10');
    expect(t.info()).toContain('Changing weight from 5 to 10 for active service [10.0.0.2]:tcp:80 of VS [10.0.0.100]:tcp:80');
    expect(t.engine.status().virtualServers[0]!.realServers[0]).toMatchObject({ weight: 10, alive: true });
    r.codes.set('/usr/local/bin/check', 1);
    await t.clock.advance(1100);
    expect(t.kernel.save()).not.toContain('10.0.0.2');
    expect(t.info()).toContain('Misc check for [[10.0.0.2]:tcp:80 VS [10.0.0.100]:tcp:80] by [/usr/local/bin/check] failed with retry disabled (exited with status 1).');
    r.codes.set('/usr/local/bin/check', 0);
    await t.clock.advance(1100);
    expect(t.kernel.save()).toContain('-r 10.0.0.2:80 -m -w 5');
    await t.engine.stop();
  });

  it('several checkers on one real server: it is alive while all of them pass, each with its own retries', async () => {
    const vs = virtualServer('10.0.0.100', 80, {
      lbAlgo: 'rr',
      realServers: [realServer('10.0.0.2', 80, { checkers: [check({ retry: 2 }), miscCheck({ miscDynamic: false })] })],
    });
    const r = fakeRunner();
    const t = setup([vs], '', { io: { runScript: r.run } });
    t.engine.start();
    await t.clock.advance(30);
    expect(t.kernel.save()).toContain('10.0.0.2:80');
    // The script fails: out at once (retry 0), although TCP still passes.
    r.codes.set('/usr/local/bin/check', 1);
    await t.clock.advance(1100);
    expect(t.kernel.save()).not.toContain('10.0.0.2');
    r.codes.set('/usr/local/bin/check', 0);
    await t.clock.advance(1100);
    expect(t.kernel.save()).toContain('10.0.0.2:80');
    // TCP fails: its 2 retries first (1 s apart), then out.
    t.net.state.set('10.0.0.2:80', 'failed');
    await t.clock.advance(1000 + 1000 + 500);
    expect(t.kernel.save()).toContain('10.0.0.2:80');
    await t.clock.advance(1000);
    expect(t.kernel.save()).not.toContain('10.0.0.2');
    expect(t.info()).toContain('TCP_CHECK on service [10.0.0.2]:tcp:80 failed after 2 retries.');
    expect(t.engine.status().virtualServers[0]!.realServers[0]!.checkers.map((c) => [c.type, c.up])).toEqual([['TCP_CHECK', false], ['MISC_CHECK', true]]);
    await t.engine.stop();
  });

  it('uthreshold/lthreshold reach IPVS', async () => {
    const vs = virtualServer('10.0.0.100', 80, { lbAlgo: 'rr', realServers: [realServer('10.0.0.2', 80, { uthreshold: 100, lthreshold: 20, checkers: [check()] })] });
    const lines: string[] = [];
    const t = setup([vs]);
    const restore = t.kernel.restore.bind(t.kernel);
    t.kernel.restore = (l: string[]) => { lines.push(...l); return restore(l); };
    t.engine.start();
    await t.clock.advance(30);
    expect(lines.join('\n')).toContain('-a -t 10.0.0.100:80 -r 10.0.0.2:80 -m -w 1 -x 100 -y 20');
    await t.engine.stop();
  });
});
