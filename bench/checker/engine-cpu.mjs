// The checker engine alone on this host (no UML, no IPVS: a no-op ipvsadm backend): N real servers
// with delay_loop 1 against the C accept-server on 127.0.0.1, CPU per 1,000 checks and memory of
// this one process. For quick before/after comparisons of the engine's own cost; the figures
// against keepalived come from bench/checker/run.sh (same guest, real IPVS).
//
//   cc -O2 -o /tmp/accept-server bench/checker/accept-server.c
//   DIST=/path/to/compiled/dist node bench/checker/engine-cpu.mjs   [N=10000 TYPE=TCP_CHECK|HTTP_GET SEC=10]
// STATUS=ms also builds the status snapshot as the checker child does (engine.status() as JSON text)
// every ms. The longest event-loop stall (monitorEventLoopDelay) is printed: the checker child's
// heartbeat misses when one turn outlasts 5 s; add --cpu-prof to see where a turn goes.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

const DIST = process.env.DIST ?? new URL('../../dist', import.meta.url).pathname;
const N = Number(process.env.N ?? 10000);
const TYPE = process.env.TYPE ?? 'TCP_CHECK';
const SEC = Number(process.env.SEC ?? 10);
const PORT0 = 30000;
const { parseConfigText } = await import(`${DIST}/config/index.js`);
const { CheckEngine } = await import(`${DIST}/check/engine.js`);
const { realClock } = await import(`${DIST}/check/clock.js`);
const { tcpProbe, batchedTcp } = await import(`${DIST}/check/tcp-probe.js`);
// Clock reads the engine makes (a system call each in a UML guest, whose vDSO traps): per check below.
let clockReads = 0;
const clock = { ...realClock, now: () => { clockReads++; return performance.now(); } };

const server = spawn(process.env.SERVER ?? '/tmp/accept-server', [], { stdio: ['pipe', 'pipe', 'inherit'] });
const ask = (cmd) => new Promise((r) => { server.stdout.once('data', (d) => r(d.toString().trim())); server.stdin.write(`${cmd}\n`); });
if (TYPE === 'HTTP_GET') await ask('mode http');
// Several addresses: one address has only ~28,000 ephemeral ports towards one server port range.
const ADDRS = 4;
for (let a = 0; a < ADDRS; a++) console.error(await ask(`range 127.0.2.${a + 1} ${PORT0} ${Math.ceil(N / ADDRS)} rs`));

let conf = '';
for (let v = 0; v * 100 < N; v++) {
  conf += `virtual_server 10.9.${Math.floor(v / 250)}.${1 + (v % 250)} 80 {\n  delay_loop 1\n  lb_algo rr\n  protocol TCP\n`;
  for (let i = v * 100; i < Math.min(N, (v + 1) * 100); i++) {
    const ip = `127.0.2.${1 + (i % ADDRS)}`;
    const port = PORT0 + Math.floor(i / ADDRS);
    const check = TYPE === 'HTTP_GET'
      ? 'HTTP_GET {\n connect_timeout 1\n retry 0\n url { path /health\n digest 0f6b6d3f1d9c4cc2d8c4b5ffa1f7fd3c }\n }'
      : 'TCP_CHECK {\n connect_timeout 1\n retry 0\n }';
    conf += `  real_server ${ip} ${port} {\n    weight 1\n    ${check}\n  }\n`;
  }
  conf += '}\n';
}
// The digest of accept-server's page.
const { createHash } = await import('node:crypto');
const digest = createHash('md5').update('healthy page\n').digest('hex');
conf = conf.replaceAll('0f6b6d3f1d9c4cc2d8c4b5ffa1f7fd3c', digest);
const res = parseConfigText(conf, 'bench.conf');
if (res.errorCount) throw new Error(res.diagnostics.map((d) => d.message).join('\n'));

let lines = 0;
// GC while building the engine from a copy of the config (as the checker child gets it: structured
// clone over IPC), and then in the steady-state window.
const gc = { n: 0, ms: 0, maxMs: 0 };
const gcObs = new PerformanceObserver((l) => { for (const e of l.getEntries()) { gc.n++; gc.ms += e.duration; gc.maxMs = Math.max(gc.maxMs, e.duration); } });
gcObs.observe({ entryTypes: ['gc'] });
const { serialize, deserialize } = await import('node:v8');
const wire = serialize(res.config);
const tStart = performance.now();
const engine = new CheckEngine(deserialize(wire), {
  clock, probe: tcpProbe,
  backend: { save: async () => '', restore: async () => {} },
  runScript: () => {}, log: () => { lines++; }, timerSlackMs: 20, resyncMs: 3_600_000,
});
// As the checker child does: a batch of TCP completions shares one clock read (NO_SCOPE=1: not).
if (process.env.NO_SCOPE !== '1' && engine.inBatch) batchedTcp?.setScope((deliver) => engine.inBatch(deliver));
await engine.start();
const startMs = performance.now() - tStart;
const STATUS = Number(process.env.STATUS ?? 0);
let statusMaxMs = 0;
const statusTimer = STATUS > 0 ? setInterval(() => {
  const t = performance.now();
  JSON.stringify({ ...engine.status(), clock: { mono: performance.now(), wall: Date.now() } });
  statusMaxMs = Math.max(statusMaxMs, performance.now() - t);
}, STATUS) : null;
const total = () => engine.status().checks;
await new Promise((r) => setTimeout(r, 3000));
const c0 = total();
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
const buildGc = { ...gc };
Object.assign(gc, { n: 0, ms: 0, maxMs: 0 });
const u0 = process.cpuUsage();
const reads0 = clockReads;
const t0 = performance.now();
await new Promise((r) => setTimeout(r, SEC * 1000));
const u = process.cpuUsage(u0);
loop.disable();
gcObs.disconnect();
if (statusTimer) clearInterval(statusTimer);
const c1 = total();
const checks = c1.total - c0.total;
const readsPerCheck = Math.round(((clockReads - reads0) / checks) * 1000) / 1000;
const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
console.log(JSON.stringify({
  type: TYPE, n: N, checksPerSec: Math.round(checks / ((performance.now() - t0) / 1000)), failures: c1.failures - c0.failures,
  cpuMsPer1000: Math.round(((u.user + u.system) / 1000 / checks) * 1000 * 100) / 100,
  userMsPer1000: Math.round((u.user / 1000 / checks) * 1000 * 100) / 100,
  rssMiB: Math.round(process.memoryUsage().rss / 1048576), peakRssMiB: Math.round(Number(hwm) / 1024), heapMiB: Math.round(process.memoryUsage().heapUsed / 1048576), logLines: lines,
  gcCount: gc.n, gcMs: Math.round(gc.ms), gcMaxMs: Math.round(gc.maxMs), buildMs: Math.round(startMs), buildGcMs: Math.round(buildGc.ms), buildGcCount: buildGc.n, buildGcMaxMs: Math.round(buildGc.maxMs),
  loopDelayMaxMs: Math.round(loop.max / 1e6), loopDelayP99Ms: Math.round(loop.percentile(99) / 1e6),
  clockReadsPerCheck: readsPerCheck,
  ...(STATUS > 0 ? { statusMaxMs: Math.round(statusMaxMs) } : {}),
}));
await engine.stop();
server.kill();
process.exit(0);
