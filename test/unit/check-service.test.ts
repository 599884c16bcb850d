// The checker service as the daemon runs it: worker thread, log relay, status, stop. Built code
// (dist/) because the worker thread loads dist/check/worker.js; ipvsadm is a stand-in script that
// records what it is asked, and the real servers are listeners on loopback.
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { StartService } from '../../src/daemon/service.js';
import { config, realServer, tcpCheck, virtualServer } from './ipvs-fixtures.js';

const DIST = resolve(__dirname, '../../dist/check/service.js');
const dir = mkdtempSync(join(tmpdir(), 'hku-service-'));
const cmdLog = join(dir, 'commands');
const fake = join(dir, 'ipvsadm');
// Stand-in ipvsadm: "-S -n" prints the table it was given so far, "-R" reads commands (session
// mode included) and records them.
writeFileSync(fake, `#!/bin/sh
if [ "$1" = "-S" ]; then cat ${dir}/table 2>/dev/null; exit 0; fi
while IFS= read -r line; do
  case "$line" in
    "-L --timeout") echo "Timeout (tcp tcpfin udp): 900 120 300" ;;
    "-S -n") cat ${dir}/table 2>/dev/null ;;
    *) echo "$line" >> ${cmdLog} ;;
  esac
done
`);
chmodSync(fake, 0o755);

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('startCheckerService (worker thread)', () => {
  let startCheckerService: StartService;
  const servers: Server[] = [];
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push((JSON.parse(chunk.toString()) as { msg: string }).msg);
      cb();
    },
  }));

  beforeAll(async () => {
    if (!existsSync(DIST)) throw new Error('dist/check/service.js is missing: run `npm run build` first (npm test does)');
    process.env.HAKEEP_IPVSADM = fake;
    process.env.HAKEEP_CHECK_STATUS_MS = '50';
    ({ startCheckerService } = (await import(DIST)) as { startCheckerService: StartService });
  });
  afterAll(() => {
    delete process.env.HAKEEP_IPVSADM;
    delete process.env.HAKEEP_CHECK_STATUS_MS;
    for (const s of servers) s.close();
  });

  it('checks real servers, programs IPVS through ipvsadm, relays keepalived-worded logs, and cleans up on stop', async () => {
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
    const svc = await startCheckerService(config([vs]), { log });
    try {
      await waitFor(() => existsSync(cmdLog) && readFileSync(cmdLog, 'utf8').split('\n').filter(Boolean).length >= 3, 10_000, 'the first batch');
      expect(readFileSync(cmdLog, 'utf8')).toBe(
        `-A -t 10.0.0.100:80 -s wlc\n-a -t 10.0.0.100:80 -r 127.0.0.1:${ports[0]} -m -w 1\n-a -t 10.0.0.100:80 -r 127.0.0.1:${ports[1]} -m -w 1\n`);
      // What the kernel would now print for `ipvsadm -S -n` (read on stop, to find what to delete).
      writeFileSync(join(dir, 'table'), readFileSync(cmdLog, 'utf8'));
      await waitFor(() => lines.includes(`TCP connection to [127.0.0.1]:tcp:${ports[1]} success.`), 10_000, 'a success line');

      servers[1]!.close();
      await waitFor(() => readFileSync(cmdLog, 'utf8').includes(`-d -t 10.0.0.100:80 -r 127.0.0.1:${ports[1]}`), 10_000, 'the removal');
      expect(lines).toContain(`TCP_CHECK on service [127.0.0.1]:tcp:${ports[1]} failed.`);
      expect(lines).toContain(`Removing service [127.0.0.1]:tcp:${ports[1]} from VS [10.0.0.100]:tcp:80`);

      await waitFor(() => {
        const st = svc.status() as { virtualServers: { realServers: { alive: boolean }[] }[]; ipvs: { batchesApplied: number } | null };
        return st.virtualServers[0]?.realServers.map((r) => r.alive).join() === 'true,false' && (st.ipvs?.batchesApplied ?? 0) >= 2;
      }, 5000, 'the status to show the failed server');
      expect(svc.status()).toMatchObject({ name: 'check', workerRestarts: 0, ipvs: { lastError: null } });
    } finally {
      await svc.stop();
    }
    expect(readFileSync(cmdLog, 'utf8').trim().split('\n').at(-1)).toBe('-D -t 10.0.0.100:80');
    expect(lines).toContain(`Shutting down service [127.0.0.1]:tcp:${ports[0]} from VS [10.0.0.100]:tcp:80`);
  });
});
