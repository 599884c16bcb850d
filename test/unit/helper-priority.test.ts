// The checker child runs 5 nice steps below the process that supervises it (the daemon, where the
// VRRP loop runs), and the script spawner 5 below the process that starts it, so that on a
// saturated CPU the kernel runs the VRRP loop first. Checked with the real supervisor, its real
// child and the real spawner (compiled), reading the priorities the kernel holds for their pids,
// and the nice value a MISC_CHECK script itself runs at (/proc/self/stat, field 19).
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { getPriority, tmpdir } from 'node:os';
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
type Status = { child: { pid: number | null } };

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Pids of the direct children of `pid` whose command line contains `what` (from /proc). */
function childPids(pid: number, what: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(what)) out.push(Number(p));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

describe('helper processes run below the VRRP process', () => {
  let build: CheckerBuild;
  let start: Start;
  let server: Server;
  const dir = mkdtempSync(join(tmpdir(), 'hku-nice-'));
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

  it('checker child at +5, its script spawner and scripts at +5 below the child', async () => {
    const port = (server.address() as AddressInfo).port;
    const fake = fakeIpvsadm(dir);
    const niceFile = join(dir, 'script-nice');
    const script = join(dir, 'nice.sh');
    // Field 19 of /proc/self/stat is the nice value of the process reading it (here: awk, a
    // child of the script, which inherits the script's).
    writeFileSync(script, `#!/bin/sh\nawk '{ print $19 }' /proc/self/stat > ${niceFile}.tmp && mv ${niceFile}.tmp ${niceFile}\n`);
    chmodSync(script, 0o755);
    const tcp = tcpCheck({ delayLoop: 0.3, connectTimeout: 1, retry: 0, warmup: 0 });
    const misc: MiscCheck = {
      type: 'MISC_CHECK', connectIp: null, connectPort: null, bindto: null, bindPort: null, bindIf: null,
      connectTimeout: 5, retry: 0, delayBeforeRetry: 1, delayLoop: 0.3, warmup: 0, alpha: null, fwmark: null,
      logAllFailures: false, loc: { file: 'test.conf', line: 1 }, miscPath: script, miscTimeout: 5, miscDynamic: false, user: null,
    } as MiscCheck;
    const cfg = config([virtualServer('10.0.0.100', 80, { realServers: [realServer('127.0.0.1', port, { checkers: [tcp, misc] })] })]);
    const own = getPriority();
    const svc = await start(cfg, { log }, { ipvsadmPath: fake.path, statusIntervalMs: 50 });
    try {
      await waitFor(() => (svc.status() as Status).child.pid !== null, 15_000, 'the checker child');
      const childPid = (svc.status() as Status).child.pid!;
      const childNice = Math.min(19, own + 5);
      expect(getPriority(childPid)).toBe(childNice);
      await waitFor(() => existsSync(niceFile), 15_000, 'the MISC_CHECK script to run');
      const spawners = childPids(childPid, 'script/spawner.js');
      expect(spawners).toHaveLength(1);
      const spawnerNice = Math.min(19, childNice + 5);
      expect(getPriority(spawners[0]!)).toBe(spawnerNice);
      expect(Number(readFileSync(niceFile, 'utf8').trim())).toBe(spawnerNice);
      // This process (the VRRP side's) is untouched.
      expect(getPriority()).toBe(own);
    } finally {
      await svc.stop();
    }
  }, 60_000);
});
