// Reproduction, run in the UML guest by bench/restart/solo.sh (guest.sh with BENCH_SCRIPT=solo.mjs):
// one daemon alone with BENCH_SIZE healthy real servers (the restart benchmark's config), nothing
// reading /proc/net/ip_vs unless SOLO_POLL_MS is set, for SOLO_SEC seconds. Counts, from hakeep's
// debug log, how often it became fit, how often the daemon killed its checker child for missing
// heartbeats ("sent no heartbeat", "did not start within") and fatal start failures; for
// keepalived, its "A thread timer expired" lines (its own sign of a late event loop).
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { controlled, log, sleep, RESULT_DIR } from '../../test/uml/guest/lib.mjs';
import { readProc } from './ipvs-watch.mjs';

const N = Number(process.env.BENCH_SIZE ?? 10000);
const SOLO_SEC = Number(process.env.SOLO_SEC ?? 180);
const POLL = Number(process.env.SOLO_POLL_MS ?? 0);
const KIND = process.env.BENCH_DAEMONS ?? 'hakeep';
const ROOT = process.env.HAKEEP_ROOT || process.env.REPO;

let conf = 'global_defs {\n  router_id hku-solo\n}\n';
for (let v = 0; v * 100 < N; v++) {
  conf += `virtual_server 10.78.${9 + Math.floor(v / 250)}.${1 + (v % 250)} 80 {\n  delay_loop 5\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n`;
  for (let i = v * 100; i < Math.min(N, (v + 1) * 100); i++) conf += `  real_server 10.78.1.${11 + (i % 10)} ${20000 + Math.floor(i / 10)} {\n    weight 1\n    TCP_CHECK {\n      connect_timeout 5\n      retry 3\n      delay_before_retry 1\n    }\n  }\n`;
  conf += '}\n';
}
writeFileSync('/run/hku-solo.conf', conf);
const servers = controlled(['ip', 'netns', 'exec', 'hkurs', process.env.BENCH_SERVER], 'servers');
for (let a = 0; a < 10; a++) await servers.ask(`range 10.78.1.${11 + a} 20000 ${Math.ceil(N / 10)} rs`, 300_000);
const file = `${RESULT_DIR}/solo-${KIND}.log`;
const out = createWriteStream(file);
const argv = KIND === 'hakeep'
  ? ['node', `${ROOT}/bin/hakeep.js`, '-n', '-f', '/run/hku-solo.conf', '-C', '--log-format', 'text', '--log-level', 'debug', '-p', '/run/hku-solo.pid']
  : ['keepalived', '-n', '-l', '-C', '-f', '/run/hku-solo.conf', '-p', '/run/hku-solo-ka.pid', '-c', '/run/hku-solo-ka-c.pid', '-r', '/run/hku-solo-ka-r.pid'];
const t0 = performance.now();
const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
p.stdout.pipe(out);
p.stderr.pipe(out);
let exited = null;
p.on('exit', (code, signal) => { exited = { code, signal, atMs: Math.round(performance.now() - t0) }; });
let reads = 0;
while (performance.now() - t0 < SOLO_SEC * 1000 && exited === null) {
  if (POLL > 0) { readProc(); reads++; await sleep(POLL); } else await sleep(1000);
}
if (exited === null) p.kill('SIGTERM');
for (let i = 0; i < 600 && exited === null; i++) await sleep(100);
servers.stop();
const text = readFileSync(file, 'utf8');
const count = (re) => (text.match(re) || []).length;
const r = {
  daemon: KIND, n: N, seconds: SOLO_SEC, pollMs: POLL, reads, exited,
  fit: count(/Checker side fit to front traffic/g), watchdogKills: count(/sent no heartbeat|did not start within/g), fatal: count(/FATAL/g),
  firstFitMs: null, timerExpired: count(/A thread timer expired/g),
};
log(`SOLO ${JSON.stringify(r)}`);
writeFileSync(`${RESULT_DIR}/solo.json`, JSON.stringify(r, null, 1));
process.exit(0);
