// CPU per TCP probe: N connect-and-close probes against a local accept-and-close server (the C
// accept-server, a separate process, so its CPU is not counted), 1 or 100 in flight at once.
// Options: net.Socket (the fallback), the addon's libuv probe (native/src/checker.c, what
// hakeep uses), and Node's internal tcp_wrap binding (the probe hakeep used before, kept here
// only as a reference point; hakeep itself no longer touches it).
//
//   cc -O2 -o /tmp/accept-server bench/checker/accept-server.c
//   SERVER=/tmp/accept-server node bench/checker/probe-cpu.mjs      [N=10000 ROUNDS=5]
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
const require = createRequire(import.meta.url);
const REPO = process.env.REPO ?? new URL('../..', import.meta.url).pathname;
const addon = require(`${REPO}/native/build/Release/hakeep_native.node`);
const N = Number(process.env.N ?? 10000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const server = spawn(process.env.SERVER ?? '/tmp/accept-server', [], { stdio: ['pipe', 'pipe', 'inherit'] });
const PORT = 47011;
await new Promise((r) => { server.stdout.once('data', r); server.stdin.write(`open 127.0.0.1 ${PORT} bench\n`); });

const socketProbe = (done) => {
  const s = new Socket();
  s.once('connect', () => { s.destroy(); done(0); });
  s.once('error', () => { s.destroy(); done(-1); });
  s.connect({ host: '127.0.0.1', port: PORT, family: 4 });
};
let tw = null;
try { tw = process.binding('tcp_wrap'); } catch { /* gone from this Node.js */ }
const wrapProbe = (done) => {
  const h = new tw.TCP(tw.constants.SOCKET);
  const req = new tw.TCPConnectWrap();
  req.oncomplete = (st) => { h.close(); done(st); };
  h.connect(req, '127.0.0.1', PORT);
};
const nativeProbe = (done) => { addon.tcpConnect('127.0.0.1', PORT, 4, null, 0, done); };
const impls = { 'net.Socket': socketProbe, native: nativeProbe, ...(tw ? { 'tcp_wrap (old)': wrapProbe } : {}) };

function run(probe, conc) {
  return new Promise((resolve) => {
    let started = 0, finished = 0, fails = 0;
    const c0 = process.cpuUsage(); const t0 = performance.now();
    const next = () => {
      if (started >= N) return;
      started++;
      probe((st) => {
        if (st !== 0) fails++;
        finished++;
        if (finished === N) {
          const c = process.cpuUsage(c0);
          resolve({ cpuUs: (c.user + c.system) / N, userUs: c.user / N, sysUs: c.system / N, wallMs: performance.now() - t0, fails });
        } else next();
      });
    };
    for (let i = 0; i < conc; i++) next();
  });
}
const med = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
for (const conc of [1, 100]) {
  for (const [name, p] of Object.entries(impls)) await run(p, conc); // warm up
  const res = {};
  for (let r = 0; r < ROUNDS; r++) for (const [name, p] of Object.entries(impls)) (res[name] ??= []).push(await run(p, conc));
  for (const [name, rs] of Object.entries(res)) {
    console.log(`conc ${String(conc).padStart(3)} ${name.padEnd(14)} CPU/probe median ${med(rs.map((x) => x.cpuUs)).toFixed(1)} µs (user ${med(rs.map((x) => x.userUs)).toFixed(1)}, sys ${med(rs.map((x) => x.sysUs)).toFixed(1)}); min ${Math.min(...rs.map((x) => x.cpuUs)).toFixed(1)} max ${Math.max(...rs.map((x) => x.cpuUs)).toFixed(1)}; wall ${med(rs.map((x) => x.wallMs)).toFixed(0)} ms; fails ${rs.reduce((a, x) => a + x.fails, 0)}`);
  }
}
server.kill();
