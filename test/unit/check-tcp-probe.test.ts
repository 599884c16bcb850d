// The real probe against real sockets on loopback.
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { tcpProbe } from '../../src/check/tcp-probe.js';
import type { ProbeTarget } from '../../src/check/tcp-probe.js';

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

function probe(t: ProbeTarget, timeoutMs = 2000): Promise<[string, string]> {
  return new Promise((resolve) => tcpProbe(t, timeoutMs, (o, d) => resolve([o, d])));
}

describe('tcpProbe', () => {
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
});
