// The script spawner (a third Node.js process, ~40 MiB) runs only when the checker side has a
// script to run: a TCP_CHECK-only configuration has none, and a reload that adds a MISC_CHECK
// starts it then, and the new check runs. Checked with the real supervisor, its real child and the
// real spawner (compiled), looking at the child's processes in /proc.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { CheckerService, SupervisorOptions } from '../../src/check/service.js';
import type { Config, MiscCheck } from '../../src/config/model.js';
import type { ServiceContext, StartOptions } from '../../src/daemon/service.js';
import { compileChecker } from './check-build.js';
import type { CheckerBuild } from './check-build.js';
import { fakeIpvsadm } from './check-fake-ipvsadm.js';
import { config, realServer, tcpCheck, virtualServer } from './ipvs-fixtures.js';

type Start = (config: Config, ctx: ServiceContext & StartOptions, opts?: SupervisorOptions) => Promise<CheckerService>;
type Status = { child: { pid: number | null }; virtualServers: { realServers: { alive: boolean; checkers: { type: string; checks: number; up: boolean }[] }[] }[] };

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Command lines of the direct children of `pid` (from /proc). */
function childrenOf(pid: number): string[] {
  const out: string[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' '));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

describe('script spawner only when a script runs', () => {
  let build: CheckerBuild;
  let start: Start;
  let server: Server;
  const dir = mkdtempSync(join(tmpdir(), 'hku-lazy-runner-'));
  const log = pino({ level: 'warn' }, new Writable({ write(_c, _e, cb) { cb(); } }));

  beforeAll(async () => {
    build = compileChecker();
    ({ startSupervisedChecker: start } = (await import(join(build.dist, 'check/service.js'))) as { startSupervisedChecker: Start });
    server = createServer((c) => c.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  }, 120_000);
  afterAll(() => {
    server?.close();
    build?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('no spawner for TCP_CHECK alone; a reload adding a MISC_CHECK starts it and the check runs', async () => {
    const port = (server.address() as AddressInfo).port;
    const fake = fakeIpvsadm(dir);
    const tcp = tcpCheck({ delayLoop: 0.3, connectTimeout: 1, retry: 0, warmup: 0 });
    const misc: MiscCheck = {
      type: 'MISC_CHECK', connectIp: null, connectPort: null, bindto: null, bindPort: null, bindIf: null,
      connectTimeout: 5, retry: 0, delayBeforeRetry: 1, delayLoop: 0.3, warmup: 0, alpha: null, fwmark: null,
      logAllFailures: false, loc: { file: 'test.conf', line: 1 }, miscPath: '/bin/true', miscTimeout: 5, miscDynamic: false, user: null,
    } as MiscCheck;
    const cfg = (checkers: Config['virtualServers'][number]['realServers'][number]['checkers']): Config => config([
      virtualServer('10.0.0.100', 80, { realServers: [realServer('127.0.0.1', port, { checkers })] }),
    ]);
    const svc = await start(cfg([tcp]), { log }, { ipvsadmPath: fake.path, statusIntervalMs: 50 });
    const status = (): Status => svc.status() as Status;
    try {
      await waitFor(() => svc.health().ok, 15_000, 'the first sync');
      await waitFor(() => (status().virtualServers[0]?.realServers[0]?.checkers[0]?.checks ?? 0) >= 3, 10_000, 'TCP checks');
      const pid = status().child.pid!;
      expect(pid).toBeGreaterThan(0);
      expect(childrenOf(pid).filter((c) => c.includes('script/spawner.js'))).toEqual([]);
      expect(childrenOf(pid).some((c) => c.includes('ipvsadm'))).toBe(true); // (the listing works)

      await svc.reload!(cfg([tcp, misc]));
      await waitFor(() => {
        const c = status().virtualServers[0]?.realServers[0]?.checkers[1];
        return c?.type === 'MISC_CHECK' && c.checks >= 2 && c.up;
      }, 15_000, 'the MISC_CHECK to run');
      expect(status().child.pid).toBe(pid);
      expect(childrenOf(pid).filter((c) => c.includes('script/spawner.js'))).toHaveLength(1);
      expect(status().virtualServers[0]!.realServers[0]!.alive).toBe(true);
    } finally {
      await svc.stop();
    }
  }, 60_000);
});
