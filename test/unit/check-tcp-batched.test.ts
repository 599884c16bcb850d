// The checker's batched TCP probe (the addon's own epoll set: tcpBatch / tcpTarget /
// tcpConnectTarget) through TcpChecker, as the engine uses it, against real sockets on loopback:
// connected, refused, bound, a bind the host refuses, a thousand at once, aborts and a worker
// thread that exits with probes in flight (no descriptor left behind in either).
import { afterEach, expect, it } from 'vitest';
import { batchedTcp, nativeProbe } from '../../src/check/tcp-probe.js';
import { TcpChecker } from '../../src/check/tcp-checker.js';
import type { Outcome } from '../../src/check/checker.js';
import { tcpCheck } from './ipvs-fixtures.js';
import { closeServers, fdsLeftByWorkers, hangingPort, listen, openFds as fds, servers } from './tcp-test-servers.js';

afterEach(closeServers);

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
    const start = 'a.tcpBatch(() => {}); const t = a.tcpTarget("127.0.0.1", d.port, 4, null, 0);' +
      ' for (let i = 0; i < d.probes; i++) a.tcpConnectTarget(t, i)';
    expect(fdsLeftByWorkers(start, hang.port, 50)).toBe(fdsLeftByWorkers(start, hang.port, 0));
  } finally {
    hang.close();
  }
});
