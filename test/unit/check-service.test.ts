// The checker service as the daemon runs it: a supervised child process that checks real servers
// (listeners on loopback) and programs IPVS through a stand-in ipvsadm (check-fake-ipvsadm.ts);
// log relay, status, health and a clean stop. The child is forked from compiled JavaScript, so
// the code under test is compiled into a temporary directory first (check-build.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
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
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('startCheckerService (supervised child process)', () => {
  let build: CheckerBuild;
  let start: Start;
  const servers: Server[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'hku-service-'));
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: 'debug' }, new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
      cb();
    },
  }));
  const msgs = (): string[] => lines.map((l) => l.msg);

  beforeAll(async () => {
    build = compileChecker();
    ({ startSupervisedChecker: start } = (await import(join(build.dist, 'check/service.js'))) as { startSupervisedChecker: Start });
  });
  afterAll(() => {
    for (const s of servers) s.close();
    build?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('checks real servers, programs IPVS, relays keepalived-worded logs, reports health, and cleans up on stop', async () => {
    const fake = fakeIpvsadm(dir);
    const ports: number[] = [];
    for (let i = 0; i < 2; i++) {
      const srv = createServer((c) => c.destroy());
      servers.push(srv);
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
      ports.push((srv.address() as AddressInfo).port);
    }
    const check = tcpCheck({ delayLoop: 0.2, connectTimeout: 1, retry: 0, warmup: 0 });
    const vs = virtualServer('10.0.0.100', 80, {
      realServers: ports.map((p) => realServer('127.0.0.1', p, { checkers: [check] })),
    });
    const health: { ok: boolean; detail: string }[] = [];
    const svc = await start(config([vs]), { log }, { ipvsadmPath: fake.path, statusIntervalMs: 50 });
    svc.onHealth((h) => health.push(h));
    try {
      // Started: the child runs, its first IPVS sync (a read by a fresh ipvsadm) is under way.
      expect(svc.health()).toEqual({ ok: false, detail: 'IPVS table not programmed yet' });
      await waitFor(() => svc.health().ok, 10_000, 'health ok (IPVS programmed)');
      expect(health).toEqual([{ ok: true, detail: 'IPVS table programmed' }]);
      expect(fake.save()).toBe(
        `-A -t 10.0.0.100:80 -s wlc\n-a -t 10.0.0.100:80 -r 127.0.0.1:${ports[0]} -m -w 1\n-a -t 10.0.0.100:80 -r 127.0.0.1:${ports[1]} -m -w 1`);
      await waitFor(() => msgs().includes(`TCP connection to [127.0.0.1]:tcp:${ports[1]} success.`), 10_000, 'a success line');

      servers[1]!.close();
      await waitFor(() => fake.commands().includes(`-d -t 10.0.0.100:80 -r 127.0.0.1:${ports[1]}`), 10_000, 'the removal');
      expect(msgs()).toContain(`TCP_CHECK on service [127.0.0.1]:tcp:${ports[1]} failed.`);
      expect(msgs()).toContain(`Removing service [127.0.0.1]:tcp:${ports[1]} from VS [10.0.0.100]:tcp:80`);

      await waitFor(() => {
        const st = svc.status() as { virtualServers: { realServers: { alive: boolean }[] }[]; ipvs: { batchesApplied: number } | null };
        return st.virtualServers[0]?.realServers.map((r) => r.alive).join() === 'true,false' && (st.ipvs?.batchesApplied ?? 0) >= 2;
      }, 5000, 'the status to show the failed server');
      const st = svc.status() as { child: { pid: number } };
      expect(svc.status()).toMatchObject({
        name: 'check', health: { ok: true }, ipvs: { lastError: null },
        child: { generation: 1, restarts: 0, lastExit: null, probe: 'native', snapshotFrom: 1 },
      });
      expect(st.child.pid).not.toBe(process.pid);
      expect(() => process.kill(st.child.pid, 0)).not.toThrow();
    } finally {
      await svc.stop();
    }
    expect(fake.commands().at(-1)).toBe('-D -t 10.0.0.100:80');
    expect(fake.save()).toBe('');
    expect(msgs()).toContain(`Shutting down service [127.0.0.1]:tcp:${ports[0]} from VS [10.0.0.100]:tcp:80`);
    expect(svc.health()).toEqual({ ok: false, detail: 'checker side stopped' });
    expect((svc.status() as { child: { pid: number | null } }).child.pid).toBeNull();
    expect(lines.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual([]);
  });
});
