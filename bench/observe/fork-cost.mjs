// How long starting a child process (child_process.fork, as src/check/service.ts starts the
// checker child) holds the calling process's event loop, by the size of that process's heap.
// A Node.js process the size of the daemon at 10,000 real servers is ~150 MB resident.
//   node bench/observe/fork-cost.mjs [MB ...]      # default: 20 150 300; 15 starts each, median
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const sizes = process.argv.slice(2).map(Number);
const dir = mkdtempSync(join(tmpdir(), 'fork-cost-'));
const child = join(dir, 'child.mjs');
writeFileSync(child, 'process.exit(0);\n');
const keep = [];
let have = 0;
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
for (const mb of sizes.length ? sizes : [20, 150, 300]) {
  // Grow the heap with many small objects (as a parsed configuration is), 1 MB ~ 10,000 objects.
  while (have < mb) {
    const chunk = [];
    for (let i = 0; i < 10_000; i++) chunk.push({ a: i, b: `rs-${i}`, c: [i, i + 1] });
    keep.push(chunk);
    have += 1;
  }
  const rss = process.memoryUsage().rss / 2 ** 20;
  const times = [];
  for (let i = 0; i < 15; i++) {
    const t0 = performance.now();
    const p = fork(child, [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], serialization: 'advanced', execArgv: [] });
    times.push(performance.now() - t0);
    await new Promise((r) => p.once('exit', r));
  }
  console.log(`rss ${rss.toFixed(0)} MB: fork() held the loop median ${median(times).toFixed(2)} ms, max ${Math.max(...times).toFixed(2)} ms (15 starts)`);
}
rmSync(dir, { recursive: true, force: true });
