// A stop while the engine's start still reads the kernel table (ipvsadm -S takes seconds at
// 10,000 destinations in a slow guest): without -I, the stop must still remove the configured
// services, as keepalived's stop does. Found by bench/restart in UML: a SIGTERM without -I that
// came while a checker child was (re)starting left all 10,000 destinations in the kernel.
import { describe, expect, it } from 'vitest';
import { CheckEngine } from '../../src/check/engine.js';
import type { IpvsBackend } from '../../src/ipvs/ipvsadm.js';
import { FakeClock, FakeIpvs, config, realServer, tcpCheck, virtualServer } from './ipvs-fixtures.js';

describe('CheckEngine stopped during its start', () => {
  it('removes the configured services a previous run left, though the first read had not returned', async () => {
    const left = '-A -t 10.0.0.100:80 -s rr\n-a -t 10.0.0.100:80 -r 10.0.0.2:80 -m -w 1\n-A -t 10.0.0.200:80 -s rr\n';
    const kernel = new FakeIpvs(left);
    // The first read hangs until released (a slow ipvsadm -S); later reads answer at once.
    let release!: () => void;
    const firstRead = new Promise<void>((r) => { release = r; });
    let reads = 0;
    const backend: IpvsBackend = {
      save: async () => { if (reads++ === 0) await firstRead; return kernel.save(); },
      restore: async (lines) => { const err = kernel.restore([...lines]); if (err) throw new Error(err); },
    };
    const clock = new FakeClock();
    const vs = virtualServer('10.0.0.100', 80, { lbAlgo: 'rr', realServers: [realServer('10.0.0.2', 80, { checkers: [tcpCheck()] })] });
    const engine = new CheckEngine(config([vs]), {
      clock, probe: () => () => undefined, backend, runScript: () => undefined, log: () => undefined, resyncMs: 5000,
    });
    void engine.start();
    await Promise.resolve();
    const stopped = engine.stop();
    release();
    await stopped;
    // 10.0.0.200:80 is not configured (made by hand): it stays.
    expect(kernel.save()).toBe('-A -t 10.0.0.200:80 -s rr\n');
  });
});
