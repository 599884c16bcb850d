// SIGTERM while the checker side is still starting (its child forked, "ready" not yet sent): the
// daemon must stop that side too before it says "Stopped", as keepalived's parent stops a checker
// child it has just forked. Found by bench/restart/startup-signal.sh in UML: hakeep logged
// "Stopped", its checker child finished starting and programmed the IPVS table after that, and
// the configured services stayed in the kernel although the daemon ran without -I.
// runDaemon from the source, the real supervised checker child compiled (check-build.ts) against
// the stand-in ipvsadm (check-fake-ipvsadm.ts), a real server listening on loopback.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { SupervisorOptions } from '../../src/check/service.js';
import type { Config } from '../../src/config/model.js';
import { runDaemon } from '../../src/daemon/run.js';
import type { RunningService, ServiceContext, StartOptions, StartService } from '../../src/daemon/service.js';
import { compileChecker } from './check-build.js';
import type { CheckerBuild } from './check-build.js';
import { fakeIpvsadm } from './check-fake-ipvsadm.js';
import { config, realServer, tcpCheck, virtualServer } from './ipvs-fixtures.js';

type Start = (config: Config, ctx: ServiceContext & StartOptions, opts?: SupervisorOptions) => Promise<RunningService>;

/** Live (not zombie) child processes of this process running `script`. */
function childrenRunning(script: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (rest[0] === 'Z' || Number(rest[1]) !== process.pid) continue;
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(script)) out.push(Number(e));
    } catch { /* gone */ }
  }
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('runDaemon: a stop that arrives while the checker side starts', () => {
  let build: CheckerBuild;
  let start: Start;
  let server: Server;
  let port = 0;
  const dir = mkdtempSync(join(tmpdir(), 'hku-stop-start-'));

  beforeAll(async () => {
    build = compileChecker();
    ({ startSupervisedChecker: start } = (await import(join(build.dist, 'check/service.js'))) as { startSupervisedChecker: Start });
    server = createServer((c) => c.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => {
    server?.close();
    build?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stops the starting checker child before "Stopped": no process left, nothing programmed after the stop', async () => {
    const fake = fakeIpvsadm(dir);
    const childJs = join(build.dist, 'check/child.js');
    const lines: { msg: string; t: number }[] = [];
    const log = pino({ level: 'debug' }, new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push({ msg: (JSON.parse(chunk.toString()) as { msg: string }).msg, t: performance.now() });
        cb();
      },
    }));
    const vs = virtualServer('10.0.0.100', 80, {
      realServers: [realServer('127.0.0.1', port, { checkers: [tcpCheck({ delayLoop: 0.2, connectTimeout: 1, retry: 0, warmup: 0 })] })],
    });
    let forked: number[] = [];
    // The child is forked synchronously inside the start; "ready" comes later over IPC (a new
    // Node process has to load first). SIGTERM reaches the daemon's handler in the next turn of
    // the event loop, long before that, as a signal during a slow start does.
    let readyBeforeSignal = false;
    const startCheck: StartService = (cfg, ctx) => {
      const p = start(cfg, ctx, { ipvsadmPath: fake.path, statusIntervalMs: 50 });
      forked = childrenRunning(childJs);
      void p.then(() => { readyBeforeSignal ||= !signalled; });
      let signalled = false;
      setImmediate(() => { signalled = true; process.emit('SIGTERM', 'SIGTERM'); });
      return p;
    };
    try {
      const code = await runDaemon({
        config: config([vs]), log, version: 'test', vrrp: false, check: true, pidFile: null, statusSocket: null,
        startVrrp: () => Promise.reject(new Error('no VRRP side in this test')), startCheck, signalAddon: null, stateDir: dir,
      });
      const stoppedAt = performance.now();
      expect(forked).toHaveLength(1);
      expect(readyBeforeSignal).toBe(false);
      expect(code).toBe(0);
      // When runDaemon returns (the process exits right after), its checker child is gone.
      expect(childrenRunning(childJs)).toEqual([]);
      // And nothing touches the table later: a child left running would program it now.
      await sleep(1500);
      expect(childrenRunning(childJs)).toEqual([]);
      expect(fake.save()).toBe('');
      expect(lines.filter((l) => l.t > stoppedAt).map((l) => l.msg)).toEqual([]);
      const msgs = lines.map((l) => l.msg);
      expect(msgs.indexOf('Stopped hakeep vtest')).toBeGreaterThan(msgs.indexOf('Stopping'));
    } finally {
      for (const pid of childrenRunning(childJs)) process.kill(pid, 'SIGKILL');
    }
  });
});
