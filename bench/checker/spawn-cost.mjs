// node bench/checker/spawn-cost.mjs [MB]: run by guest-engine.sh in the guest.
// How long a spawn blocks the event loop, by heap size (UML: fork copies the address space).
import { spawn } from 'node:child_process';
const MB = Number(process.argv[2] ?? 0);
const keep = [];
for (let i = 0; i < MB; i++) keep.push(Array.from({ length: 1024 * 16 }, (_, j) => ({ j })).slice(0, 1024 * 16)); // ~1 MB+ each
global.keep = keep;
const rss = Math.round(process.memoryUsage().rss / 1048576);
const times = [];
for (let k = 0; k < 6; k++) {
  const t = performance.now();
  const c = spawn('/bin/true', [], { stdio: 'ignore' });
  times.push(performance.now() - t); // the synchronous part: fork + exec handshake
  await new Promise((r) => c.on('exit', r));
}
times.sort((a, b) => a - b);
console.log(JSON.stringify({ spawnCost: true, rssMiB: rss, blockMsMedian: Math.round(times[3] * 10) / 10, blockMsMax: Math.round(times[5] * 10) / 10 }));
