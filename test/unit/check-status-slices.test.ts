// The checker child builds its status snapshot a slice of about 1,000 real servers per event-loop
// turn (child-engine.ts), so that at 10,000 real servers no turn holds its heartbeat for the whole
// snapshot. Checked with the real service and its real child (compiled): with 2,500 real servers in
// three virtual servers (so several slices, one virtual server bigger than a slice), the snapshot
// the daemon gets lists every virtual and real server once, in config order, with the counters and
// the IPVS part, and the metrics summary sent beside it counts the same servers. The real servers
// are addresses in 127.0.0.0/8 where nothing listens: every check fails at once (refused), so the
// snapshot has a known state without thousands of listeners.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { CheckerService, SupervisorOptions } from '../../src/check/service.js';
import type { Config } from '../../src/config/model.js';
import type { ServiceContext, StartOptions } from '../../src/daemon/service.js';
import { compileChecker } from './check-build.js';
import type { CheckerBuild } from './check-build.js';
import { fakeIpvsadm } from './check-fake-ipvsadm.js';
import { config, realServer, tcpCheck, virtualServer } from './ipvs-fixtures.js';

type Start = (config: Config, ctx: ServiceContext & StartOptions, opts?: SupervisorOptions) => Promise<CheckerService>;

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('checker status snapshot built in slices', () => {
  let build: CheckerBuild;
  let start: Start;
  const dir = mkdtempSync(join(tmpdir(), 'hku-status-slices-'));
  const log = pino({ level: 'warn' }, new Writable({ write(_c, _e, cb) { cb(); } }));

  beforeAll(async () => {
    build = compileChecker();
    ({ startSupervisedChecker: start } = (await import(join(build.dist, 'check/service.js'))) as { startSupervisedChecker: Start });
  });
  afterAll(() => {
    build?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists every virtual and real server once, in order, with counters, IPVS and a matching summary', async () => {
    const port = 9;
    const fake = fakeIpvsadm(dir);
    // 1,400 + 700 + 400 real servers: the first is bigger than a slice.
    const sizes = [1400, 700, 400];
    let k = 0;
    const check = tcpCheck({ delayLoop: 30, connectTimeout: 2, retry: 0, warmup: 1 });
    const vss = sizes.map((n, v) => virtualServer(`10.0.${v}.100`, 80, {
      realServers: Array.from({ length: n }, () => { k++; return realServer(`127.1.${k >> 8}.${k & 255}`, port, { checkers: [check] }); }),
    }));
    const svc = await start(config(vss), { log }, { ipvsadmPath: fake.path, statusIntervalMs: 50 });
    type St = {
      virtualServers: { vs: string; realServers: { rs: string; alive: boolean; checkers: { checks: number }[] }[] }[];
      checks: { total: number; failures: number };
      ipvs: { batchesApplied: number };
      clock: { mono: number; wall: number };
    };
    try {
      await waitFor(() => svc.health().ok, 20_000, 'health ok (IPVS programmed)');
      // Wait (bounded) for a snapshot in which every real server has been checked once (warmup 1 s).
      const st = (): St => JSON.parse(JSON.stringify(svc.status())) as St;
      await waitFor(() => st().virtualServers.every((v) => v.realServers.every((r) => r.checkers[0]!.checks >= 1 && !r.alive)), 20_000, 'a snapshot with every server checked');
      const s = st();
      expect(s.virtualServers.map((v) => v.vs)).toEqual(['[10.0.0.100]:tcp:80', '[10.0.1.100]:tcp:80', '[10.0.2.100]:tcp:80']);
      expect(s.virtualServers.map((v) => v.realServers.length)).toEqual(sizes);
      let n = 0;
      for (const v of s.virtualServers) {
        for (const r of v.realServers) {
          n++;
          expect(r.rs).toBe(`[127.1.${n >> 8}.${n & 255}]:tcp:${port}`);
          expect(r.checkers[0]!.checks).toBeGreaterThanOrEqual(1);
          expect(r.alive).toBe(false);
        }
      }
      expect(n).toBe(2500);
      expect(s.checks.failures).toBe(s.checks.total);
      expect(s.checks.total).toBeGreaterThanOrEqual(2500);
      expect(s.ipvs.batchesApplied).toBeGreaterThanOrEqual(1);
      expect(s.clock.mono).toBeGreaterThan(0);
      // The summary sent with the same snapshot (metrics read it): the same servers, all down.
      const summary = (svc.status() as Record<symbol, { virtualServers: { vs: string; up: number; total: number }[]; checksByType: Record<string, { ok: number; failed: number }> }>)[Symbol.for('hakeep.checkSummary')];
      expect(summary?.virtualServers.map((v) => [v.vs, v.up, v.total])).toEqual(s.virtualServers.map((v) => [v.vs, 0, v.realServers.length]));
      expect(summary?.checksByType.TCP_CHECK).toEqual({ ok: 0, failed: s.checks.total });
    } finally {
      await svc.stop();
    }
  }, 60_000);
});
