#!/usr/bin/env node
// Advert jitter under CPU load: a master's advert interval while every CPU is saturated by other
// processes, hakeep against keepalived 2.2.7 in the same run and lab, plus hakeep with its advert
// pacer off (HAKEEP_ADVERT_PACER=0) to show what the pacer does.
//
// Per daemon: the master (state MASTER, priority 150, advert_int 1) on a namespaced segment; an
// observer's tcpdump timestamps its adverts (kernel capture time). Once it advertises: a quiet
// window, then a loaded one with 2 busy-looping processes per CPU at nice 0 (the daemon's own
// priority), killed by pid afterwards. Figures: |interval - 1000 ms| p50 / p99 / max per window,
// medians over --runs rounds (daemons interleaved within a round), and the ratio to keepalived.
//
// Usage (root; after npm run build): node bench/advert-jitter/run.mjs [--runs N] [--seconds S] [--json FILE]
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliOption, createLab, Daemon, killAll, sh, sleep, startWire, vrrpConf, waitUntil } from '../failover/lab.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const opt = cliOption;
const RUNS = Math.max(1, Number(opt('--runs', '3')));
const SECONDS = Math.max(20, Number(opt('--seconds', '60')));
const QUIET_SECONDS = 20;
const JSON_OUT = opt('--json', null);
const IMPLS = ['hakeep', 'keepalived', 'hakeep:nopacer'];
const PREFIX = 'hkj';
const SUBNET = '10.242.1';
const VIP = `${SUBNET}.100`;
const HOGS = 2 * availableParallelism();

sh(['tcpdump', '--version']);
sh(['keepalived', '--version']);

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : NaN;
};

/** |interval - 1000| of consecutive adverts from `src` captured in [from, to]. */
function deviations(wire, src, from, to) {
  const t = wire.events.filter((e) => e.kind === 'advert' && e.src === src && e.prio === 150 && e.t >= from && e.t <= to).map((e) => e.t);
  const d = [];
  for (let i = 1; i < t.length; i++) d.push(Math.abs(t[i] - t[i - 1] - 1000));
  return { n: d.length, p50: pct(d, 50), p99: pct(d, 99), max: d.length ? Math.max(...d) : NaN };
}

function startHogs() {
  const hogs = [];
  for (let i = 0; i < HOGS; i++) hogs.push(spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }));
  return () => { for (const h of hogs) { try { process.kill(h.pid, 'SIGKILL'); } catch { /* gone */ } } };
}

async function one(lab, wire, dir, impl, run) {
  const [kind, mode] = impl.split(':');
  const m = lab.hosts.m;
  // Spawned with this process's environment: set the switch only around the start.
  if (mode === 'nopacer') process.env.HAKEEP_ADVERT_PACER = '0';
  const d = Daemon.start(kind, ROOT, m, `${kind}${mode ? `-${mode}` : ''}-${run}`, vrrpConf({ priority: 150, state: 'MASTER', vip: VIP, routerId: `jit${run}` }), dir);
  delete process.env.HAKEEP_ADVERT_PACER;
  let stopHogs = null;
  try {
    const t0 = Date.now();
    await waitUntil(`${impl} to advertise`, () => wire.events.filter((e) => e.kind === 'advert' && e.src === m.ip && e.t > t0).length >= 3 || !d.running, 15_000, 50);
    if (!d.running) throw new Error(`${impl} exited: ${d.log.slice(-2000)}`);
    const q0 = Date.now();
    await sleep(QUIET_SECONDS * 1000);
    const q1 = Date.now();
    stopHogs = startHogs();
    await sleep(SECONDS * 1000);
    const l1 = Date.now();
    stopHogs();
    stopHogs = null;
    await sleep(500);
    const res = { impl, run, quiet: deviations(wire, m.ip, q0, q1), loaded: deviations(wire, m.ip, q1 + 1000, l1) };
    console.log(`  ${impl.padEnd(15)} quiet p50 ${res.quiet.p50.toFixed(2)} / p99 ${res.quiet.p99.toFixed(2)} ms (${res.quiet.n}); loaded p50 ${res.loaded.p50.toFixed(2)} / p99 ${res.loaded.p99.toFixed(2)} / max ${res.loaded.max.toFixed(2)} ms (${res.loaded.n} intervals)`);
    return res;
  } finally {
    stopHogs?.();
    d.term();
    await Promise.race([d.exited, sleep(10_000)]);
    if (d.running) d.proc.kill('SIGKILL');
    await sleep(4500); // the next master's election must not overlap this one's adverts
  }
}

async function main() {
  sh(['npx', 'tsc', '-p', ROOT]);
  const dir = mkdtempSync(join(tmpdir(), 'hk-jitter-'));
  const lab = createLab(PREFIX, ['m', 'obs'], SUBNET);
  const wire = await startWire(lab.hosts.obs, VIP);
  const results = [];
  try {
    console.log(`advert jitter: ${RUNS} run(s), ${QUIET_SECONDS} s quiet then ${SECONDS} s with ${HOGS} busy loops at nice 0 (${availableParallelism()} CPUs)`);
    for (let run = 1; run <= RUNS; run++) {
      console.log(`run ${run}:`);
      for (const impl of IMPLS) results.push(await one(lab, wire, dir, impl, run));
    }
  } finally {
    wire.stop?.();
    killAll();
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\nmedians over ${RUNS} run(s) (deviation of the advert interval from 1000 ms):`);
  const med = {};
  for (const impl of IMPLS) {
    const rs = results.filter((r) => r.impl === impl);
    med[impl] = { quietP99: median(rs.map((r) => r.quiet.p99)), p50: median(rs.map((r) => r.loaded.p50)), p99: median(rs.map((r) => r.loaded.p99)), max: median(rs.map((r) => r.loaded.max)) };
    console.log(`  ${impl.padEnd(15)} quiet p99 ${med[impl].quietP99.toFixed(2)} ms; under load p50 ${med[impl].p50.toFixed(2)} / p99 ${med[impl].p99.toFixed(2)} / max ${med[impl].max.toFixed(2)} ms`);
  }
  const ratio = med.keepalived.p99 > 0 ? (med.hakeep.p99 / med.keepalived.p99).toFixed(2) : 'n/a';
  console.log(`  p99 under load, ratio hakeep/keepalived: ${ratio}`);
  console.log(`  ${med.hakeep.p99 <= 5 ? 'PASS' : 'FAIL'}  hakeep p99 within 5 ms of the nominal interval under load`);
  if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify({ runs: RUNS, seconds: SECONDS, hogs: HOGS, results, medians: med }, null, 2));
}

process.on('SIGINT', () => { killAll(); process.exit(130); });
main().catch((e) => {
  console.error(e.stack ?? String(e));
  killAll();
  process.exit(1);
});
