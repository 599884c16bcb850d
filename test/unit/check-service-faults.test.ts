// The checker supervisor against a real child process that fails on purpose (the child's test
// hook, HAKEEP_TEST_CHECKER_FAULT): a hung loop, an exception, a native abort, running out of
// heap; repeated crashes; the daemon dying under the child; IPVS unavailable. Each time: what
// health() says and when, that the child is replaced (from the last known health), and that the
// daemon's own event loop, where VRRP runs, keeps turning.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { CheckerService, SupervisorOptions } from '../../src/check/service.js';
import type { Config } from '../../src/config/model.js';
import type { ServiceContext, StartOptions } from '../../src/daemon/service.js';
import { compileChecker } from './check-build.js';
import type { CheckerBuild } from './check-build.js';
import { fakeIpvsadm } from './check-fake-ipvsadm.js';
import type { FakeIpvsadm } from './check-fake-ipvsadm.js';
import { config, realServer, tcpCheck, virtualServer } from './ipvs-fixtures.js';

type Start = (config: Config, ctx: ServiceContext & StartOptions, opts?: SupervisorOptions) => Promise<CheckerService>;
type Health = { ok: boolean; detail: string };
interface Status {
  health: Health;
  child: { pid: number | null; generation: number; restarts: number; lastExit: string | null; snapshotFrom: number };
  virtualServers: { vs: string; realServers: { rs: string; alive: boolean }[] }[];
  checks: { total: number } | null;
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<number> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - t0;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The process exists and is not a zombie (an orphan's zombie waits for whoever adopted it). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const FAULT_ENV = ['HAKEEP_TEST_CHECKER_FAULT', 'HAKEEP_TEST_CHECKER_FAULT_AFTER_MS', 'HAKEEP_TEST_CHECKER_FAULT_TIMES', 'HAKEEP_TEST_CHECKER_SLOW_START_MS'];
function setFault(fault: string, over: Record<string, string> = {}): void {
  process.env.HAKEEP_TEST_CHECKER_FAULT = fault;
  process.env.HAKEEP_TEST_CHECKER_FAULT_AFTER_MS = over.afterMs ?? '100';
  if (over.times) process.env.HAKEEP_TEST_CHECKER_FAULT_TIMES = over.times;
}

describe('checker supervisor under faults (real child processes)', () => {
  let build: CheckerBuild;
  let start: Start;
  let dir: string;
  let fake: FakeIpvsadm;
  let lines: { level: number; msg: string }[] = [];
  const servers: Server[] = [];
  let up = 0; // a listening real server
  let down = 0; // a port nothing listens on
  const running: CheckerService[] = [];
  const log = pino({ level: 'debug' }, new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
      cb();
    },
  }));
  const errors = (): string[] => lines.filter((l) => l.level >= 50).map((l) => l.msg);

  const check = tcpCheck({ delayLoop: 0.3, connectTimeout: 1, retry: 0, warmup: 0 });
  const cfg = (): Config => config([virtualServer('10.0.0.100', 80, {
    realServers: [realServer('127.0.0.1', up, { checkers: [check] }), realServer('127.0.0.1', down, { checkers: [check] })],
  })]);
  const upRs = () => `127.0.0.1:${up}`;
  const downRs = () => `127.0.0.1:${down}`;

  async function startChecker(opts: SupervisorOptions = {}): Promise<{ svc: CheckerService; health: Health[] }> {
    const svc = await start(cfg(), { log }, { ipvsadmPath: fake.path, statusIntervalMs: 50, ...opts });
    running.push(svc);
    const health: Health[] = [];
    svc.onHealth((h) => health.push(h));
    return { svc, health };
  }
  const status = (svc: CheckerService) => svc.status() as Status;

  beforeAll(async () => {
    build = compileChecker();
    ({ startSupervisedChecker: start } = (await import(join(build.dist, 'check/service.js'))) as { startSupervisedChecker: Start });
    for (let i = 0; i < 2; i++) {
      const srv = createServer((c) => c.destroy());
      servers.push(srv);
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    }
    up = (servers[0]!.address() as AddressInfo).port;
    down = (servers[1]!.address() as AddressInfo).port;
    servers[1]!.close();
  });
  afterAll(() => {
    for (const s of servers) s.close();
    build?.remove();
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hku-faults-'));
    fake = fakeIpvsadm(dir);
    lines = [];
  });
  afterEach(async () => {
    for (const k of FAULT_ENV) delete process.env[k];
    await Promise.all(running.splice(0).map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('a slow start (engine built in one long synchronous stretch after the first heartbeat) is not a hung loop', async () => {
    // bench/restart at 10,000 real servers in a 1-CPU guest: the child beat once, then spent
    // longer than the heartbeat deadline building its engine and was killed over and over.
    process.env.HAKEEP_TEST_CHECKER_SLOW_START_MS = '1500';
    const { svc } = await startChecker({ heartbeatMs: 100, deadlineMs: 500, startupDeadlineMs: 10_000 });
    await waitFor(() => svc.health().ok, 10_000, 'the first sync');
    expect(status(svc).child).toMatchObject({ generation: 1, restarts: 0 });
    expect(errors().filter((m) => /killing it/.test(m))).toEqual([]);
  });

  it('hung event loop: heartbeats stop, health is not ok within the deadline, the child is killed and replaced', async () => {
    setFault('hang', { times: '1' });
    const { svc, health } = await startChecker(); // defaults: heartbeat 1 s, deadline 5 s
    await waitFor(() => svc.health().ok, 10_000, 'the first sync');
    const okAt = performance.now();
    const pid = status(svc).child.pid!;
    await waitFor(() => !svc.health().ok, 8000, 'health to turn not ok');
    // The loop hung 100 ms after the first sync; the last heartbeat came at most 1 s before that.
    expect(performance.now() - okAt).toBeLessThan(100 + 5000 + 1000 + 500);
    expect(performance.now() - okAt).toBeGreaterThan(4000);
    expect(svc.health()).toEqual({ ok: false, detail: 'checker silent for more than 5 s (no heartbeat); restarting it' });
    await waitFor(() => !alive(pid), 2000, 'the hung child to be killed');
    await waitFor(() => svc.health().ok && status(svc).child.generation === 2, 10_000, 'the second child to sync');
    expect(status(svc).child).toMatchObject({ restarts: 1, lastExit: 'no heartbeat for 5 s, killed' });
    expect(health.map((h) => h.detail)).toEqual([
      'IPVS table programmed',
      'checker silent for more than 5 s (no heartbeat); restarting it',
      'checker restarting after it died (no heartbeat for 5 s, killed)',
      'IPVS table not programmed yet',
      'IPVS table programmed',
    ]);
    expect(errors().some((m) => /^Checker child 1 \(pid \d+\) sent no heartbeat for 5(\.\d)? s: its event loop is stuck; killing it$/.test(m))).toBe(true);
    expect(errors()).toContain(`Checker child 1 (pid ${pid}) died: no heartbeat for 5 s, killed; restarting it in 1 s from the last known health`);
  });

  for (const [fault, exit] of [
    ['throw', /^uncaught exception: HAKEEP_TEST_CHECKER_FAULT=throw: injected exception \(test hook\)$/],
    ['abort', /^killed by SIGABRT$/],
    ['oom', /^out of memory \(V8 heap limit\), (SIGABRT|SIGTRAP|exit code \d+)$/],
  ] as const) {
    it(`${fault}: the child dies, health is not ok until a new child has synced, and the daemon's loop keeps turning`, async () => {
      setFault(fault, { times: '1' });
      const { svc, health } = await startChecker(fault === 'oom' ? { execArgv: ['--max-old-space-size=48'] } : {});
      await waitFor(() => svc.health().ok, 10_000, 'the first sync');
      const loop = monitorEventLoopDelay({ resolution: 5 });
      loop.enable();
      const downFor = await waitFor(() => !svc.health().ok, 30_000, 'the child to die');
      const t0 = performance.now();
      await waitFor(() => svc.health().ok && status(svc).child.generation === 2, 15_000, 'the second child to sync');
      const gap = performance.now() - t0;
      loop.disable();
      expect(status(svc).child.lastExit).toMatch(exit);
      // Restarted after the first backoff step (1 s), synced soon after.
      expect(gap).toBeGreaterThan(1000);
      expect(gap).toBeLessThan(5000);
      expect(health.map((h) => h.ok)).toEqual([true, false, false, true]);
      expect(health[1]!.detail).toMatch(/^checker restarting after it died \(/);
      expect(health[2]!.detail).toBe('IPVS table not programmed yet');
      // The daemon's loop (VRRP's timers) never waited more than a few ms while the child died.
      // The daemon's loop (VRRP's timers) kept turning while the child died and a new one started.
      // What a stall of the daemon would look like is seconds (the child's death handled inline,
      // a synchronous wait); the bound leaves room for a busy host's scheduling, far below VRRP's
      // 1 s advert interval.
      const stats = `max ${(loop.max / 1e6).toFixed(1)} ms, p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms (child down after ${downFor.toFixed(0)} ms)`;
      expect(loop.max / 1e6, `event-loop delay ${stats}`).toBeLessThan(250);
      expect(loop.percentile(99) / 1e6, `event-loop delay ${stats}`).toBeLessThan(60);
      expect(errors().some((m) => m.startsWith('Checker child 1 (pid ') && m.endsWith('restarting it in 1 s from the last known health'))).toBe(true);
    });
  }

  it('gives up after N crashes within the window, with a clear error line, and stays not ok', async () => {
    setFault('throw', { afterMs: '0' });
    const { svc, health } = await startChecker({ restart: { firstDelayMs: 50, maxCrashes: 3, windowMs: 60_000 } });
    await waitFor(() => svc.health().detail === 'checker crashed 3 times in 60 s; giving up', 20_000, 'giving up');
    expect(svc.health().ok).toBe(false);
    const gen = status(svc).child.generation;
    expect(gen).toBe(3);
    await sleep(1000);
    expect(status(svc).child).toMatchObject({ generation: 3, pid: null });
    expect(svc.health()).toEqual({ ok: false, detail: 'checker crashed 3 times in 60 s; giving up' });
    expect(health.at(-1)).toEqual(svc.health());
    expect(errors().filter((m) => m.includes('giving up'))).toEqual([
      expect.stringMatching(/^Checker child 3 \(pid \d+\) died: uncaught exception: .*\. checker crashed 3 times in 60 s; giving up: the checker side stays down and unfit \(VRRP FAULT\) until hakeep restarts; the kernel keeps the last IPVS table$/),
    ]);
    // Backoff between the restarts: 50 ms, then 100 ms.
    expect(errors().filter((m) => / restarting it in /.test(m)).map((m) => / in ([\d.]+ s)/.exec(m)![1])).toEqual(['0.1 s', '0.1 s']);
  });

  it('a restarted child starts from the last known health: a dead server stays dead, and is not re-added', async () => {
    const { svc } = await startChecker();
    await waitFor(() => {
      const rs = status(svc).virtualServers[0]?.realServers ?? [];
      return rs.length === 2 && rs[0]!.alive && !rs[1]!.alive && !fake.save().includes(downRs());
    }, 10_000, 'the down server to be found down and removed');
    expect(fake.save()).toContain(upRs());
    const before = fake.commands().length;
    process.kill(status(svc).child.pid!, 'SIGKILL');
    await waitFor(() => status(svc).child.snapshotFrom === 2, 10_000, 'the second child\'s first status');
    const first = status(svc);
    expect(first.checks?.total).toBe(0); // before any check of the new child
    expect(lines.some((l) => /^Checker child 2 \(pid \d+\): TCP checks use the native probe; starting from the last known health of 2 real server\(s\)$/.test(l.msg))).toBe(true);
    expect(first.virtualServers[0]!.realServers.map((r) => r.alive), 'the new child started the dead server alive: engine.ts does not apply EngineDeps.initialHealth yet').toEqual([true, false]);
    await waitFor(() => svc.health().ok && status(svc).child.generation === 2, 10_000, 'the second child to sync');
    await sleep(1000); // a few check rounds of the new child
    expect(fake.commands().slice(before).filter((c) => c.includes(downRs()))).toEqual([]);
    expect(fake.save()).toContain(upRs());
  });

  it('IPVS unavailable: not ok until the first sync, and again when updates keep failing past the grace period', async () => {
    fake.unavailable(true);
    const { svc, health } = await startChecker({ resyncMs: 200, ipvsFailureGraceMs: 500 });
    await waitFor(() => svc.health().detail.startsWith('IPVS table not programmed yet: '), 5000, 'the first failure');
    expect(svc.health().detail).toMatch(/^IPVS table not programmed yet: .*Can't initialize ipvs: Protocol not available/);
    await sleep(1000);
    expect(svc.health().ok).toBe(false);
    fake.unavailable(false);
    await waitFor(() => svc.health().ok, 10_000, 'recovery');
    fake.unavailable(true);
    // One failure is within the grace period; a failure that lasts makes the side unfit.
    const t = await waitFor(() => !svc.health().ok, 10_000, 'the lasting failure');
    expect(t).toBeGreaterThan(500);
    expect(svc.health().detail).toMatch(/^IPVS table cannot be updated: .*Protocol not available/);
    fake.unavailable(false);
    await waitFor(() => svc.health().ok, 15_000, 'recovery');
    expect(health.map((h) => h.ok)).toEqual([false, true, false, true]);
  });

  it('ipvsadm refusing one service leaves the side fit; refusing every configured service does not', async () => {
    fake.refuse('-t 10.0.0.10');
    const two = config(['10.0.0.100', '10.0.0.101'].map((vip) => virtualServer(vip, 80, {
      realServers: [realServer('127.0.0.1', up, { checkers: [check] })],
    })));
    const svc = await start(two, { log }, { ipvsadmPath: fake.path, statusIntervalMs: 50 });
    running.push(svc);
    await waitFor(() => svc.health().detail.startsWith('ipvsadm refuses every configured service'), 10_000, 'both services refused');
    expect(svc.health()).toEqual({ ok: false, detail: 'ipvsadm refuses every configured service: -A -t 10.0.0.100:80 -s wlc: Invalid argument' });
    fake.refuse('-t 10.0.0.101');
    // The refused service is retried on its own backoff (0.5 s, 1 s, …).
    await waitFor(() => svc.health().ok, 15_000, 'the first service to be applied');
    expect(fake.save()).toContain('-A -t 10.0.0.100:80');
    expect(fake.save()).not.toContain('10.0.0.101');
    expect(svc.health()).toEqual({ ok: true, detail: 'IPVS table programmed' });
  });

  it('a child that never starts (no first heartbeat) is killed at the startup deadline; a first start then fails', async () => {
    const t0 = performance.now();
    const failed = start(cfg(), { log }, {
      ipvsadmPath: fake.path, startupDeadlineMs: 1500, heartbeatMs: 250,
      execArgv: ['--import', 'data:text/javascript,for(;;){}'], // stuck before child.js runs
    });
    await expect(failed).rejects.toThrow(/^the checker child exited before it was ready \(did not start within 1\.5 s, killed\)/);
    expect(performance.now() - t0).toBeLessThan(4000);
    expect(errors().some((m) => /^Checker child 1 \(pid \d+\) did not start within 1\.5 s; killing it$/.test(m))).toBe(true);
  });

  it('stop() of a hung child: the watchdog kills it and stop() returns', async () => {
    setFault('hang', { afterMs: '0' });
    const { svc } = await startChecker({ deadlineMs: 1500, heartbeatMs: 250 });
    await waitFor(() => svc.health().ok, 10_000, 'the first sync');
    await sleep(200);
    const t0 = performance.now();
    await svc.stop();
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(svc.health()).toEqual({ ok: false, detail: 'checker side stopped' });
    expect(status(svc).child.pid).toBeNull();
  });

  for (const hung of [false, true]) {
    it(`the child exits when the daemon dies (SIGKILL)${hung ? ', even with its loop hung' : ''}`, async () => {
      // A stand-in daemon: a node process that starts the checker service and prints the child's pid.
      const script = `
        const { startSupervisedChecker } = await import(${JSON.stringify(join(build.dist, 'check/service.js'))});
        const { pino } = await import('pino');
        const svc = await startSupervisedChecker(${JSON.stringify(cfg())}, { log: pino({ level: 'silent' }) }, { ipvsadmPath: ${JSON.stringify(fake.path)} });
        const poll = setInterval(() => { if (svc.health().ok) { clearInterval(poll); setTimeout(() => console.log(svc.status().child.pid), 300); } }, 20);`;
      const daemon = spawn(process.execPath, ['--input-type=module', '-e', script], {
        cwd: build.root, stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, ...(hung ? { HAKEEP_TEST_CHECKER_FAULT: 'hang', HAKEEP_TEST_CHECKER_FAULT_AFTER_MS: '0' } : {}) },
      });
      const pid = await new Promise<number>((resolve) => daemon.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
      expect(pid).toBeGreaterThan(0);
      expect(alive(pid)).toBe(true);
      daemon.kill('SIGKILL');
      const gone = await waitFor(() => !alive(pid), 3000, 'the orphaned child to exit');
      expect(gone).toBeLessThan(1000);
    });
  }
});
