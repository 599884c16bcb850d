// The batched native TCP probe across reloads: a retired checker lets go of its receiver, a
// restarted one reuses its real server's target, and a plan (`hakeep plan`) leaves nothing behind.
// Real probes against a listener on loopback; the IPVS side is a fake kernel.
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CheckEngine } from '../../src/check/engine.js';
import { realClock } from '../../src/check/clock.js';
import { batchedTcp, tcpProbe } from '../../src/check/tcp-probe.js';
import type { IpvsBackend } from '../../src/ipvs/ipvsadm.js';
import type { VirtualServer } from '../../src/config/model.js';
import { FakeIpvs, config, realServer, tcpCheck, virtualServer } from './ipvs-fixtures.js';

let server: Server;
let port = 0;
let accepted = 0;
beforeAll(async () => {
  server = createServer((c) => { accepted++; c.destroy(); });
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 1024 }, resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => { server.close(); });

const N = 50;
const vs = (connectTimeout: number): VirtualServer => virtualServer('10.9.0.1', 80, {
  lbAlgo: 'rr',
  realServers: Array.from({ length: N }, (_, i) => realServer('127.0.0.1', port, {
    weight: 1,
    // One listener, fifty real servers: connect_port tells them apart in IPVS terms only.
    checkers: [tcpCheck({ delayLoop: 1, connectTimeout, retry: 0, warmup: 0, connectPort: port })],
    ...(i > 0 ? { port: 20000 + i } : {}),
  })),
});

it('reloads that restart every TCP_CHECK keep the batched probe\'s receivers at one per checker', async () => {
  if (!batchedTcp) throw new Error('the addon has no batched TCP probe (rebuild native/)');
  const kernel = new FakeIpvs();
  const backend: IpvsBackend = { save: async () => kernel.save(), restore: async (lines) => { kernel.restore([...lines]); } };
  const before = batchedTcp.live();
  const engine = new CheckEngine(config([vs(3)]), {
    clock: realClock, probe: tcpProbe, backend, runScript: () => undefined, log: () => undefined, timerSlackMs: 20,
  });
  try {
    await engine.start();
    expect(batchedTcp.live() - before).toBe(N);
    // Each reload changes connect_timeout: every checker restarts (a new runtime, a new token).
    for (let round = 0; round < 5; round++) {
      engine.reload(config([vs(4 + round)]));
      expect(batchedTcp.live() - before).toBe(N);
    }
    // A plan builds the would-be checkers to compare them and drops them again.
    for (let round = 0; round < 3; round++) engine.planReload(config([vs(20 + round)]));
    expect(batchedTcp.live() - before).toBe(N);
    // The restarted checkers still check (through their reused targets).
    const seen = accepted;
    const until = Date.now() + 5000;
    while (accepted < seen + N && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(accepted).toBeGreaterThanOrEqual(seen + N);
  } finally {
    await engine.stop();
  }
  expect(batchedTcp.live()).toBe(before);
});

it('a released token\'s completion is dropped, and one address is one target', async () => {
  if (!batchedTcp) throw new Error('the addon has no batched TCP probe (rebuild native/)');
  const a = batchedTcp.target({ host: '127.0.0.1', port, family: 4 });
  expect(a).toBeGreaterThanOrEqual(0);
  expect(batchedTcp.target({ host: '127.0.0.1', port, family: 4 })).toBe(a);
  expect(batchedTcp.target({ host: '127.0.0.1', port: port === 65535 ? 1 : port + 1, family: 4 })).not.toBe(a);
  let released = 0;
  let kept = 0;
  const t1 = batchedTcp.token(() => { released++; });
  const t2 = batchedTcp.token(() => { kept++; });
  expect(batchedTcp.connect(a, t1)).toBeGreaterThanOrEqual(0);
  expect(batchedTcp.connect(a, t2)).toBeGreaterThanOrEqual(0);
  batchedTcp.release(t1); // its probe is in flight: the completion arrives and goes nowhere
  const until = Date.now() + 5000;
  while (kept === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 50));
  expect(kept).toBe(1);
  expect(released).toBe(0);
  batchedTcp.release(t2);
  batchedTcp.release(t2); // twice is harmless
});
