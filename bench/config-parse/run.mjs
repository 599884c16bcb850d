#!/usr/bin/env node
// Benchmark: parse + validate a generated keepalived.conf with 1,000 virtual servers x 10 real
// servers (TCP_CHECK each). Prints median/max time and peak RSS for hakeep, and keepalived -t's
// wall time on the same file when keepalived is installed, with the ratio. Target: < 500 ms.
// Usage: npm run build && node bench/config-parse/run.mjs [rounds]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROUNDS = Number(process.argv[2] ?? 7);
const VS = 1000;
const RS = 10;

function generate() {
  const out = ['global_defs {\n  router_id bench\n}\n'];
  for (let v = 0; v < VS; v++) {
    const vip = `10.${100 + (v >> 8)}.${v & 255}.1`;
    out.push(`virtual_server ${vip} 80 {\n  delay_loop 6\n  lb_algo wrr\n  lb_kind DR\n  protocol TCP\n  persistence_timeout 50\n`);
    for (let r = 0; r < RS; r++) {
      out.push(`  real_server 172.16.${v & 255}.${10 + r} 80 {\n    weight ${1 + r}\n    inhibit_on_failure\n    TCP_CHECK {\n      connect_timeout 3\n      retry 3\n      delay_before_retry 2\n    }\n  }\n`);
    }
    out.push('}\n');
  }
  return out.join('');
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const dir = mkdtempSync(join(tmpdir(), 'hakeep-bench-'));
const file = join(dir, 'big.conf');
writeFileSync(file, generate());

// Each round runs in a fresh process so peak RSS is this parse's own.
const child = `
  const { loadConfig } = await import(${JSON.stringify(new URL('../../dist/config/index.js', import.meta.url).href)});
  const t0 = performance.now();
  const r = loadConfig(${JSON.stringify(file)}, { configId: 'bench' });
  const ms = performance.now() - t0;
  const rs = r.config.virtualServers.reduce((n, v) => n + v.realServers.length, 0);
  process.stdout.write(JSON.stringify({ ms, errors: r.errorCount, vs: r.config.virtualServers.length, rs, peakRssKb: process.resourceUsage().maxRSS }));
`;
const hakeep = [];
let last;
for (let i = 0; i < ROUNDS; i++) {
  last = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', child], { encoding: 'utf8' }));
  if (last.errors || last.vs !== VS || last.rs !== VS * RS) throw new Error(`unexpected parse result ${JSON.stringify(last)}`);
  hakeep.push(last);
}
const times = hakeep.map((h) => h.ms);
const rss = hakeep.map((h) => h.peakRssKb / 1024);
console.log(`config-parse: ${VS} virtual servers x ${RS} real servers (${(generate().length / 1e6).toFixed(1)} MB), ${ROUNDS} rounds`);
console.log(`hakeep   parse+validate: median ${median(times).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms; peak RSS median ${median(rss).toFixed(0)} MiB (whole node process)`);
console.log(`target < 500 ms: ${median(times) < 500 ? 'MET' : 'MISSED'}`);

const ka = spawnSync('sh', ['-c', 'command -v keepalived'], { encoding: 'utf8' }).stdout.trim();
if (ka) {
  // keepalived -t parses and validates too; its wall time includes process start-up.
  const kt = [];
  const hw = [];
  for (let i = 0; i < ROUNDS; i++) {
    let t0 = performance.now();
    spawnSync(ka, ['-t', '-f', file], { encoding: 'utf8' });
    kt.push(performance.now() - t0);
    t0 = performance.now();
    spawnSync(process.execPath, [new URL('../../bin/hakeep.js', import.meta.url).pathname, '-t', '-f', file], { encoding: 'utf8' });
    hw.push(performance.now() - t0);
  }
  console.log(`wall time of the -t command (process start included): hakeep median ${median(hw).toFixed(0)} ms, keepalived median ${median(kt).toFixed(0)} ms, ratio hakeep/keepalived ${(median(hw) / median(kt)).toFixed(2)}`);
} else {
  console.log('keepalived not installed: no comparison (apt-get install -y keepalived)');
}
rmSync(dir, { recursive: true, force: true });
