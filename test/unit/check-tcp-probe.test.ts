// The real probe against real sockets on loopback.
import { spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { probeWithTimeout, socketProbe, tcpProbe, tcpProbeKind, wrapProbe } from '../../src/check/tcp-probe.js';
import type { Probe, ProbeTarget } from '../../src/check/tcp-probe.js';

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

function listen(): Promise<{ port: number; peers: string[] }> {
  const peers: string[] = [];
  const srv = createServer((c) => {
    peers.push(c.remoteAddress ?? '');
    c.destroy();
  });
  servers.push(srv);
  return new Promise((resolve) => srv.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => resolve({ port: (srv.address() as AddressInfo).port, peers })));
}

it('uses the fast tcp_wrap probe on this Node.js', () => {
  expect(tcpProbeKind).toBe('tcp_wrap');
  expect(tcpProbe).toBe(wrapProbe);
});

const impls: [string, Probe][] = [['tcp_wrap', wrapProbe!], ['net.Socket', socketProbe]];

describe.each(impls)('TCP probe (%s)', (_name, impl) => {
  function probe(t: ProbeTarget, timeoutMs = 2000): Promise<[string, string]> {
    return new Promise((resolve) => probeWithTimeout(impl, t, timeoutMs, (o, d) => resolve([o, d])));
  }

  it('succeeds against a listening port and fails on a closed one', async () => {
    const { port } = await listen();
    expect(await probe({ host: '127.0.0.1', port, family: 4 })).toEqual(['success', 'connected']);
    const closed = await listen();
    servers.pop()!.close();
    await new Promise((r) => setTimeout(r, 20));
    expect(await probe({ host: '127.0.0.1', port: closed.port, family: 4 })).toEqual(['failed', 'ECONNREFUSED']);
  });

  it('binds to bindto / bind_port', async () => {
    const { port, peers } = await listen();
    expect((await probe({ host: '127.0.0.1', port, family: 4, localAddress: '127.0.0.2' }))[0]).toBe('success');
    await new Promise((r) => setTimeout(r, 20));
    expect(peers).toEqual(['127.0.0.2']);
  });

  it('reports a bad bind address as a failure instead of throwing', async () => {
    const { port } = await listen();
    const [outcome] = await probe({ host: '127.0.0.1', port, family: 4, localAddress: 'not-an-ip' });
    expect(outcome).toBe('failed');
  });

  it('runs a thousand probes side by side', async () => {
    const { port } = await listen();
    const results = await Promise.all(Array.from({ length: 1000 }, () => probe({ host: '127.0.0.1', port, family: 4 })));
    expect(results.filter(([o]) => o === 'success')).toHaveLength(1000);
  });

  it('abort stops a probe without calling back', async () => {
    const { port } = await listen();
    let called = false;
    const abort = impl({ host: '127.0.0.1', port, family: 4 }, () => { called = true; });
    abort();
    await new Promise((r) => setTimeout(r, 50));
    expect(called).toBe(false);
  });

  it('times out when nothing answers within connect_timeout', async () => {
    // A listener that never accepts: once its accept queue (backlog 1) is full the kernel drops
    // further SYNs, so a connect hangs. The listener is a child node blocked in Atomics.wait.
    const child = spawn(process.execPath, ['-e',
      "const s=require('net').createServer().listen({port:0,host:'127.0.0.1',backlog:1},()=>{" +
      "console.log(s.address().port);Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0,8000)})"], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = await new Promise<number>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
      const fillers = Array.from({ length: 6 }, () => connect({ host: '127.0.0.1', port }).on('error', () => undefined));
      await new Promise((r) => setTimeout(r, 100));
      const t0 = Date.now();
      const [outcome, detail] = await probe({ host: '127.0.0.1', port, family: 4 }, 300);
      expect([outcome, detail]).toEqual(['timeout', 'no answer within 300 ms']);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
      for (const f of fillers) f.destroy();
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('probes IPv6 (::1)', async () => {
    const peers: string[] = [];
    const srv = createServer((c) => { peers.push(c.remoteAddress ?? ''); c.destroy(); });
    servers.push(srv);
    const port = await new Promise<number>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(0, '::1', () => resolve((srv.address() as AddressInfo).port));
    });
    expect(await probe({ host: '::1', port, family: 6 })).toEqual(['success', 'connected']);
  });
});
