// Real TCP endpoints on loopback for the probe tests: a listener that records its peers, a port
// whose accept queue is full (connects hang), and the descriptors a worker thread leaves behind.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { join } from 'node:path';
import { ROOT } from './check-build.js';

/** Listeners opened by listen(); the test file closes them (afterEach). */
export const servers: Server[] = [];

export function closeServers(): void {
  for (const s of servers.splice(0)) s.close();
}

export function listen(host = '127.0.0.1'): Promise<{ port: number; peers: { address: string; port: number }[] }> {
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

/** A listener whose accept queue is full (a child node blocked in Atomics.wait, backlog 1): the
 * kernel drops further SYNs, so a connect hangs until it is aborted or times out. */
export async function hangingPort(): Promise<{ port: number; close(): void }> {
  const child = spawn(process.execPath, ['-e',
    "const s=require('net').createServer().listen({port:0,host:'127.0.0.1',backlog:1},()=>{" +
    "console.log(s.address().port);Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0,20000)})"], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  const fillers = Array.from({ length: 6 }, () => connect({ host: '127.0.0.1', port }).on('error', () => undefined));
  await new Promise((r) => setTimeout(r, 100));
  return {
    port,
    close() {
      for (const f of fillers) f.destroy();
      child.kill('SIGKILL');
    },
  };
}

export const openFds = (): number => readdirSync('/proc/self/fd').length;

/**
 * Descriptors a process has left after five worker threads, one after the other, each loaded the
 * addon, ran `start` (JS with `a` the addon, `d.port`, `d.probes`) and was terminated. Loading the
 * addon alone costs a worker a few descriptors (its packet and netlink sockets): compare against
 * the same run with 0 probes.
 */
export function fdsLeftByWorkers(start: string, port: number, probes: number): number {
  const addon = join(ROOT, 'native/build/Release/hakeep_native.node');
  const script = `
    const { Worker } = require('node:worker_threads');
    const { readdirSync } = require('node:fs');
    const before = readdirSync('/proc/self/fd').length;
    const code = "const { workerData: d, parentPort } = require('node:worker_threads'); const a = require(d.addon);" +
      ${JSON.stringify(` ${start}; parentPort.postMessage('started')`)};
    const workerData = { addon: ${JSON.stringify(addon)}, port: ${port}, probes: ${probes} };
    let rounds = 0;
    const once = () => {
      const w = new Worker(code, { eval: true, workerData });
      w.on('message', () => w.terminate());
      w.on('exit', () => { if (++rounds < 5) once(); else setTimeout(() => console.log(readdirSync('/proc/self/fd').length - before), 100); });
    };
    once();`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`worker run failed (exit ${r.status}): ${r.stderr}`);
  return Number(r.stdout.trim());
}
