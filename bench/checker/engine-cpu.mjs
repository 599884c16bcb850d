// The checker engine alone on this host (no UML, no IPVS: a no-op ipvsadm backend): N real servers
// with delay_loop 1 against the C accept-server on 127.0.0.1, CPU per 1,000 checks and memory of
// this one process. For quick before/after comparisons of the engine's own cost; the figures
// against keepalived come from bench/checker/run.sh (same guest, real IPVS).
//
//   cc -O2 -o /tmp/accept-server bench/checker/accept-server.c
//   DIST=/path/to/compiled/dist node bench/checker/engine-cpu.mjs   [N=10000 TYPE=TCP_CHECK|HTTP_GET SEC=10]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

const DIST = process.env.DIST ?? new URL('../../dist', import.meta.url).pathname;
const N = Number(process.env.N ?? 10000);
const TYPE = process.env.TYPE ?? 'TCP_CHECK';
const SEC = Number(process.env.SEC ?? 10);
const PORT0 = 30000;
const { parseConfigText } = await import(`${DIST}/config/index.js`);
const { CheckEngine } = await import(`${DIST}/check/engine.js`);
const { realClock } = await import(`${DIST}/check/clock.js`);
const { tcpProbe } = await import(`${DIST}/check/tcp-probe.js`);

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
const engine = new CheckEngine(res.config, {
  clock: realClock, probe: tcpProbe,
  backend: { save: async () => '', restore: async () => {} },
  runScript: () => {}, log: () => { lines++; }, timerSlackMs: 20, resyncMs: 3_600_000,
});
await engine.start();
const total = () => engine.status().checks;
await new Promise((r) => setTimeout(r, 3000));
const c0 = total();
const u0 = process.cpuUsage();
const t0 = performance.now();
await new Promise((r) => setTimeout(r, SEC * 1000));
const u = process.cpuUsage(u0);
const c1 = total();
const checks = c1.total - c0.total;
const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
console.log(JSON.stringify({
  type: TYPE, n: N, checksPerSec: Math.round(checks / ((performance.now() - t0) / 1000)), failures: c1.failures - c0.failures,
  cpuMsPer1000: Math.round(((u.user + u.system) / 1000 / checks) * 1000 * 100) / 100,
  userMsPer1000: Math.round((u.user / 1000 / checks) * 1000 * 100) / 100,
  rssMiB: Math.round(process.memoryUsage().rss / 1048576), peakRssMiB: Math.round(Number(hwm) / 1024), heapMiB: Math.round(process.memoryUsage().heapUsed / 1048576), logLines: lines,
}));
await engine.stop();
server.kill();
process.exit(0);
