// The checker's batched TCP probe (the addon's own epoll set: tcpBatch / tcpTarget /
// tcpConnectTarget) through TcpChecker, as the engine uses it, against real sockets on loopback:
// connected, refused, bound, a bind the host refuses, a thousand at once, aborts and a worker
// thread that exits with probes in flight (no descriptor left behind in either).
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { batchedTcp, nativeProbe } from '../../src/check/tcp-probe.js';
import { TcpChecker } from '../../src/check/tcp-checker.js';
import type { Outcome } from '../../src/check/checker.js';
import { tcpCheck } from './ipvs-fixtures.js';
import { ROOT } from './check-build.js';

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

function listen(host = '127.0.0.1'): Promise<{ port: number; peers: { address: string; port: number }[] }> {
  const peers: { address: string; port: number }[] = [];
  const srv = createServer((c) => {
    peers.push({ address: c.remoteAddress ?? '', port: c.remotePort ?? 0 });
    c.destroy();
  });
  servers.push(srv);
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen({ port: 0, host, backlog: 4096 }, () => resolve({ port: (srv.address() as AddressInfo).port, peers }));
  });
}

/** A port whose accept queue is full: SYNs are dropped, a connect hangs until aborted. */
async function hangingPort(): Promise<{ port: number; close(): void }> {
  const child = spawn(process.execPath, ['-e',
    "const s=require('net').createServer().listen({port:0,host:'127.0.0.1',backlog:1},()=>{" +
    "console.log(s.address().port);Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0,20000)})"], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  const fillers = Array.from({ length: 6 }, () => connect({ host: '127.0.0.1', port }).on('error', () => undefined));
  await new Promise((r) => setTimeout(r, 100));
  return { port, close() { for (const f of fillers) f.destroy(); child.kill('SIGKILL'); } };
}

const fds = (): number => readdirSync('/proc/self/fd').length;

function checker(ip: string, port: number, over: Parameters<typeof tcpCheck>[0] = {}): TcpChecker {
  if (!batchedTcp || !nativeProbe) throw new Error('the addon has no batched TCP probe (rebuild native/)');
  return new TcpChecker(tcpCheck({ retry: 0, ...over }), 'rs', { ip, port, alpha: false }, nativeProbe, false);
}
const attempt = (c: TcpChecker): Promise<[Outcome, string]> => new Promise((resolve) => { c.start((o, d) => resolve([o, d])); });

it('connects, is refused, binds to bindto/bind_port (IPv4 and IPv6), and reports a bind the host refuses', async () => {
  const { port, peers } = await listen();
  const c = checker('127.0.0.1', port);
  expect(await attempt(c)).toEqual(['success', 'connected']);
  const local = 20_000 + Math.floor(Math.random() * 20_000);
  expect(await attempt(checker('127.0.0.1', port, { bindto: '127.0.0.1', bindPort: local }))).toEqual(['success', 'connected']);
  await new Promise((r) => setTimeout(r, 20));
  expect(peers.at(-1)).toEqual({ address: '127.0.0.1', port: local });
  expect(await attempt(checker('127.0.0.1', port, { bindto: '192.0.2.77' }))).toEqual(['failed', 'EADDRNOTAVAIL']);
  const v6 = await listen('::1');
  expect(await attempt(checker('::1', v6.port, { bindto: '::1', bindPort: local + 1 }))).toEqual(['success', 'connected']);
  await new Promise((r) => setTimeout(r, 20));
  expect(v6.peers.at(-1)).toEqual({ address: '::1', port: local + 1 });
  servers.splice(0).forEach((s) => s.close());
  await new Promise((r) => setTimeout(r, 20));
  expect(await attempt(c)).toEqual(['failed', 'ECONNREFUSED']);
  expect(await attempt(checker('::1', v6.port))).toEqual(['failed', 'ECONNREFUSED']);
});

it('a thousand at once all connect, and no descriptor is left', async () => {
  const { port } = await listen();
  await attempt(checker('127.0.0.1', port)); // the set and its watch exist from here on
  const before = fds();
  const all = Array.from({ length: 1000 }, () => checker('127.0.0.1', port));
  const results = await Promise.all(all.map(attempt));
  expect(results.filter(([o]) => o === 'success')).toHaveLength(1000);
  await new Promise((r) => setTimeout(r, 50));
  expect(fds()).toBeLessThanOrEqual(before);
});

it('an aborted attempt never reports, and its socket is closed', async () => {
  const hang = await hangingPort();
  try {
    const { port } = await listen();
    await attempt(checker('127.0.0.1', port));
    const before = fds();
    let called = 0;
    const aborts = Array.from({ length: 100 }, () => checker('127.0.0.1', hang.port).start(() => { called++; }));
    await new Promise((r) => setTimeout(r, 50));
    expect(fds()).toBeGreaterThanOrEqual(before + 100);
    for (const a of aborts) a();
    await new Promise((r) => setTimeout(r, 100));
    expect(fds()).toBeLessThanOrEqual(before);
    expect(called).toBe(0);
  } finally {
    hang.close();
  }
});

it('a worker thread that exits with batched probes in flight closes their sockets', async () => {
  const hang = await hangingPort();
  try {
    const addon = join(ROOT, 'native/build/Release/hakeep_native.node');
    const run = (probes: number): number => {
      const script = `
        const { Worker } = require('node:worker_threads');
        const { readdirSync } = require('node:fs');
        const before = readdirSync('/proc/self/fd').length;
        const code = "const { workerData: d, parentPort } = require('node:worker_threads'); const a = require(d.addon);" +
          " a.tcpBatch(() => {}); const t = a.tcpTarget('127.0.0.1', d.port, 4, null, 0);" +
          " for (let i = 0; i < d.probes; i++) a.tcpConnectTarget(t, i); parentPort.postMessage('started')";
        const workerData = { addon: ${JSON.stringify(addon)}, port: ${hang.port}, probes: ${probes} };
        let rounds = 0;
        const once = () => {
          const w = new Worker(code, { eval: true, workerData });
          w.on('message', () => w.terminate());
          w.on('exit', () => { if (++rounds < 5) once(); else setTimeout(() => console.log(readdirSync('/proc/self/fd').length - before), 100); });
        };
        once();`;
      const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
      expect(r.status, r.stderr).toBe(0);
      return Number(r.stdout.trim());
    };
    expect(run(50)).toBe(run(0));
  } finally {
    hang.close();
  }
});
