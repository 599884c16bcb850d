// Why the spawner exists, in numbers: this test process holds a ~300 MB heap (as a big daemon
// would), then runs /bin/true 100 times through the spawner and directly, and watches its own
// event-loop delay while 50 scripts are started at once. It prints the figures; the assertion is
// only the point of the design: forking from this process stalls its loop, the spawner does not.
import { spawn } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScriptRunner } from '../../src/script/runner.js';
import { buildSpawner, type BuiltSpawner } from '../fixtures/scripts/build-spawner.js';

let built: BuiltSpawner;
let ballast: number[][] = [];
const modes = ['spawner', 'direct'] as const;

beforeAll(async () => {
  built = await buildSpawner();
  // 300 arrays of 125,000 doubles: ~300 MB of V8 heap.
  for (let i = 0; i < 300; i++) ballast.push(Array.from({ length: 125_000 }, (_, k) => k + 0.5));
});

afterAll(() => {
  ballast = [];
  built?.cleanup();
});

function runner(mode: 'spawner' | 'direct'): ScriptRunner {
  return new ScriptRunner({ mode, spawnerPath: built.spawnerPath, maxConcurrent: 50, scriptUser: 'root', log: () => {} });
}

const ms = (n: number): string => `${n.toFixed(1)} ms`;

describe('script runner cost, caller holding a ~300 MB heap', () => {
  it('100 × /bin/true one after another', async () => {
    const heapMb = Math.round(process.memoryUsage().heapUsed / 1e6);
    const rows: string[] = [];
    for (const mode of modes) {
      const r = runner(mode);
      try {
        await r.run({ owner: 'w', kind: 'bench', name: 'true', command: '/bin/true', timeoutMs: 5000 });
        const t = performance.now();
        for (let i = 0; i < 100; i++) {
          const res = await r.run({ owner: 'a', kind: 'bench', name: 'true', command: '/bin/true', timeoutMs: 5000 });
          expect(res.exitCode).toBe(0);
        }
        rows.push(`${mode}: ${ms(performance.now() - t)} (${ms((performance.now() - t) / 100)} each)`);
      } finally {
        await r.close();
      }
    }
    let syncMax = 0;
    let syncSum = 0;
    const t = performance.now();
    for (let i = 0; i < 100; i++) {
      await new Promise((resolve) => {
        const s = performance.now();
        const c = spawn('/bin/true');
        const d = performance.now() - s;
        syncSum += d;
        syncMax = Math.max(syncMax, d);
        c.on('exit', resolve);
      });
    }
    rows.push(`raw child_process.spawn: ${ms(performance.now() - t)}; spawn() itself blocks ${ms(syncSum / 100)} on average, ${ms(syncMax)} at most`);
    console.log(`heap used ${heapMb} MB\n  ${rows.join('\n  ')}`);
  });

  it('event-loop delay while 50 scripts are started at once', async () => {
    const found: Record<string, { max: number; p99: number; firstTurn: number; submit: number }> = {};
    for (const mode of modes) {
      const r = runner(mode);
      try {
        await r.run({ owner: 'w', kind: 'bench', name: 'true', command: '/bin/true', timeoutMs: 5000 });
        const h = monitorEventLoopDelay({ resolution: 1 });
        h.enable();
        await new Promise((res) => setTimeout(res, 100)); // the histogram needs a first tick
        const t = performance.now();
        const jobs = [];
        for (let i = 0; i < 50; i++) {
          jobs.push(r.run({ owner: `o${i}`, kind: 'bench', name: 'sleep', command: '/bin/sleep 0.2', timeoutMs: 5000 }));
        }
        const submit = performance.now() - t;
        const firstTurn = await new Promise<number>((res) => setImmediate(() => res(performance.now() - t)));
        const results = await Promise.all(jobs);
        h.disable();
        expect(results.every((x) => x.exitCode === 0)).toBe(true);
        found[mode] = { max: h.max / 1e6, p99: h.percentile(99) / 1e6, firstTurn, submit };
      } finally {
        await r.close();
      }
    }
    console.log(modes.map((m) => `${m}: 50 run() calls ${ms(found[m]!.submit)}, loop free again after ${ms(found[m]!.firstTurn)}, `
      + `loop delay max ${ms(found[m]!.max)}, p99 ${ms(found[m]!.p99)}`).join('\n'));
    expect(found.spawner!.firstTurn).toBeLessThan(found.direct!.firstTurn);
    expect(found.spawner!.max).toBeLessThan(found.direct!.max);
  });
});
