// Reload and plan through the checker supervisor and a real child process (the IPC path the daemon
// uses on SIGHUP and for `hakeep plan`): real servers on loopback, the stand-in ipvsadm
// (check-fake-ipvsadm.ts) recording every command. A child restarted after a reload runs the new
// configuration.
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
type Status = { child: { pid: number | null; generation: number }; virtualServers: { vs: string; realServers: { rs: string; alive: boolean }[] }[] };

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('checker supervisor: reload and plan through the child', () => {
  let build: CheckerBuild;
  let start: Start;
  const servers: Server[] = [];
  const ports: number[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'hku-reload-'));
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: 'debug' }, new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
      cb();
    },
  }));

  beforeAll(async () => {
    build = compileChecker();
    ({ startSupervisedChecker: start } = (await import(join(build.dist, 'check/service.js'))) as { startSupervisedChecker: Start });
    for (let i = 0; i < 3; i++) {
      const srv = createServer((c) => c.destroy());
      servers.push(srv);
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
      ports.push((srv.address() as AddressInfo).port);
    }
  }, 120_000);
  afterAll(() => {
    for (const s of servers) s.close();
    build?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies the plan it announced (exactly the commands), and a restarted child keeps the new configuration', async () => {
    const fake = fakeIpvsadm(dir);
    const check = (t = 1) => tcpCheck({ delayLoop: 0.2, connectTimeout: t, retry: 0, warmup: 0 });
    const cfg = (n: number, t = 1): Config => config([virtualServer('10.0.0.100', 80, {
      realServers: ports.slice(0, n).map((p) => realServer('127.0.0.1', p, { checkers: [check(t)] })),
    })]);
    const svc = await start(cfg(2), { log }, { ipvsadmPath: fake.path, statusIntervalMs: 50 });
    const status = () => svc.status() as Status;
    try {
      await waitFor(() => svc.health().ok, 15_000, 'the first sync');
      await waitFor(() => (status().virtualServers[0]?.realServers ?? []).filter((r) => r.alive).length === 2, 10_000, 'two alive');

      // The same configuration: nothing to do.
      let before = fake.commands().length;
      const same = await svc.plan!(cfg(2));
      expect(same.lines).toEqual(['virtual server [10.0.0.100]:tcp:80: unchanged (keeps its IPVS entries, health and checks)', 'IPVS: no change']);
      expect((await svc.reload!(cfg(2))).lines).toEqual(same.lines);
      await new Promise((r) => setTimeout(r, 600));
      expect(fake.commands().slice(before).filter((c) => /^-[aAdDeE] /.test(c))).toEqual([]);

      // A third real server: the plan names one -a, the reload sends exactly it.
      const add = `-a -t 10.0.0.100:80 -r 127.0.0.1:${ports[2]} -m -w 1`;
      const plan = await svc.plan!(cfg(3));
      expect(plan.lines).toEqual(['virtual server [10.0.0.100]:tcp:80: changed', `  real server [127.0.0.1]:tcp:${ports[2]}: added`, `IPVS: ${add}`]);
      before = fake.commands().length;
      expect((await svc.reload!(cfg(3))).lines).toEqual(plan.lines);
      await waitFor(() => fake.save().includes(`127.0.0.1:${ports[2]}`), 5000, 'the -a');
      await new Promise((r) => setTimeout(r, 600));
      expect(fake.commands().slice(before).filter((c) => /^-[aAdDeE] /.test(c))).toEqual([add]);

      // The child dies: the next one starts with the reloaded configuration (three real servers,
      // a new connect_timeout), from the last known health; no command for a table already right.
      const reloaded = await svc.reload!(cfg(3, 2));
      expect(reloaded.lines.filter((l) => l.includes('TCP_CHECK restarted'))).toHaveLength(3);
      before = fake.commands().length;
      process.kill(status().child.pid!, 'SIGKILL');
      await waitFor(() => status().child.generation === 2 && svc.health().ok, 15_000, 'the second child to sync');
      await waitFor(() => (status().virtualServers[0]?.realServers ?? []).length === 3, 5000, 'the new child\'s status');
      expect(status().virtualServers[0]!.realServers.every((r) => r.alive)).toBe(true);
      await new Promise((r) => setTimeout(r, 600));
      expect(fake.commands().slice(before).filter((c) => /^-[aAdDeE] /.test(c))).toEqual([]);
    } finally {
      await svc.stop();
    }
  }, 60_000);
});
