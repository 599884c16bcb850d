#!/usr/bin/env node
// Restart benchmark (issue 8's last acceptance point): time from a "systemctl restart"-equivalent
// until the kernel IPVS table is again the desired one, and what happened to it meanwhile, for
// hakeep (-C) and keepalived 2.2.7 (-n -l -C) in the same UML guest (real kernel IPVS), one guest
// per size, rounds interleaved. Modes: steady (no restart: the noise floor), term-I (SIGTERM of a
// daemon started with -I, start again with -I), kill (SIGKILL, start again), term (SIGTERM without
// -I, both daemons' default stop). See bench/restart/README.md.
//
//   node bench/restart/run.mjs [--sizes 1000,10000] [--rounds 3|3,1] [--json FILE]
//        [--modes steady,term-I,kill,term] [--daemons hakeep,keepalived] [--interval-ms N]
//        [--delay-loop 5] [--settle-ms N] [--mem 2G] [--hakeep-root DIR] [--no-snapshot] [--keep]
//
// Needs root, keepalived, a C compiler (the real servers are bench/checker/accept-server.c) and a
// built hakeep: --hakeep-root DIR (or env HAKEEP_ROOT) names a private build (DIR/bin/hakeep.js,
// DIR/dist/, DIR/native, DIR/node_modules) used as it is; without it, hakeep runs from a copy of
// this repository's bin/ + dist/ taken at the start (--no-snapshot: from the repository itself),
// so a rebuild of dist/ during the run does not mix versions. run.mjs never builds.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { report } from './report.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const flag = (name) => args.includes(name);
if (flag('--help') || flag('-h')) {
  console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1).filter((l, i, a) => a.slice(0, i + 1).every((x) => x.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
  process.exit(0);
}
const SIZES = opt('--sizes', '1000,10000').split(',').map(Number);
// Rounds per size, in the order of --sizes ("3,1": 3 at the first size, 1 at the second); the last
// figure holds for the sizes after it.
const ROUNDS_LIST = opt('--rounds', '3').split(',').map(Number);
const roundsFor = (i) => ROUNDS_LIST[Math.min(i, ROUNDS_LIST.length - 1)];
const JSON_OUT = opt('--json', null);
const MODES = opt('--modes', 'steady,term-I,kill,term');
const DAEMONS = opt('--daemons', 'hakeep,keepalived');
const DELAY_LOOP = opt('--delay-loop', '5');
const INTERVAL = opt('--interval-ms', null);
const SETTLE = opt('--settle-ms', null);
const MEM = opt('--mem', '2G');
const HAKEEP_ROOT = opt('--hakeep-root', process.env.HAKEEP_ROOT || null);

const log = (m) => process.stderr.write(`[restart-bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

const BUILD = HAKEEP_ROOT ?? ROOT;
if (!existsSync(join(BUILD, 'dist/cli.js'))) {
  log(`${join(BUILD, 'dist')} is missing: build first (e.g. npx tsc -p . --outDir DIR/dist, see the README)`);
  process.exit(2);
}
// Say when src/ has changed since dist/ was built: the run measures dist/.
const newest = (dir) => {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
};
const distT = newest(join(BUILD, 'dist'));
const srcT = newest(join(ROOT, 'src'));
log(`${join(BUILD, 'dist')} built ${new Date(distT).toISOString()}${!HAKEEP_ROOT && srcT > distT ? `; src/ changed after it (${new Date(srcT).toISOString()}): this run measures dist/ as built` : ''}`);

const scratch = mkdtempSync(join(tmpdir(), 'hku-restart-'));
let hakeepRoot = ROOT;
if (HAKEEP_ROOT) {
  hakeepRoot = HAKEEP_ROOT;
  log(`hakeep runs from ${hakeepRoot}`);
} else if (!flag('--no-snapshot')) {
  hakeepRoot = join(scratch, 'hakeep');
  mkdirSync(join(hakeepRoot, 'native/build/Release'), { recursive: true });
  cpSync(join(ROOT, 'bin'), join(hakeepRoot, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'dist'), join(hakeepRoot, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(hakeepRoot, 'package.json'));
  const addon = join(ROOT, 'native/build/Release/hakeep_native.node');
  if (existsSync(addon)) cpSync(addon, join(hakeepRoot, 'native/build/Release/hakeep_native.node'));
  symlinkSync(join(ROOT, 'node_modules'), join(hakeepRoot, 'node_modules'));
  log(`hakeep runs from a snapshot of bin/ + dist/: ${hakeepRoot}`);
}

const serverBin = join(scratch, 'accept-server');
const cc = spawnSync('cc', ['-O2', '-o', serverBin, join(ROOT, 'bench/checker/accept-server.c')], { stdio: 'inherit' });
const envs = [];
if (cc.status === 0) envs.push('--env', `BENCH_SERVER=${serverBin}`);
else log('no C compiler: the real servers run on node (test/uml/guest/servers.mjs), which costs more guest CPU');
envs.push('--env', `HAKEEP_ROOT=${hakeepRoot}`, '--env', `BENCH_MODES=${MODES}`, '--env', `BENCH_DAEMONS=${DAEMONS}`, '--env', `BENCH_DELAY_LOOP=${DELAY_LOOP}`);
if (INTERVAL !== null) envs.push('--env', `BENCH_INTERVAL_MS=${INTERVAL}`);
if (SETTLE !== null) envs.push('--env', `BENCH_SETTLE_MS=${SETTLE}`);

/** Boot one guest for one size; echo the driver's progress lines from the console log meanwhile. */
function runGuest(n, dir, rounds) {
  const perRound = (n > 1000 ? 420 : 150) * DAEMONS.split(',').length;
  const timeout = 600 + rounds * perRound;
  return new Promise((resolve) => {
    const p = spawn('bash', [join(ROOT, 'scripts/uml-run.sh'), '--mem', MEM, '--timeout', String(timeout), ...envs, '--env', `BENCH_ROUNDS=${rounds}`, '--env', `BENCH_SIZE=${n}`, join(ROOT, 'bench/restart/guest.sh'), dir], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, UML_EXTRA_PACKAGES: 'keepalived' },
    });
    let shown = 0;
    const tail = setInterval(() => {
      try {
        const lines = readFileSync(join(dir, 'console.log'), 'utf8').split('\n');
        const done = lines.slice(0, -1);
        for (const l of done.slice(shown)) if (l.startsWith('[guest') || l.startsWith('uml-run')) process.stderr.write(`  ${l}\n`);
        shown = done.length;
      } catch { /* not yet */ }
    }, 2000);
    p.on('exit', (code) => { clearInterval(tail); resolve(code); });
  });
}

const t0 = Date.now();
const runs = [];
const dirs = [];
let failed = false;
for (const [i, n] of SIZES.entries()) {
  const rounds = roundsFor(i);
  const dir = join(scratch, `guest-${n}`);
  dirs.push(dir);
  const g0 = Date.now();
  log(`size ${n}: booting a UML guest (${rounds} rounds, modes ${MODES})`);
  const rc = await runGuest(n, dir, rounds);
  const file = join(dir, 'restart.json');
  if (!existsSync(file)) {
    failed = true;
    log(`size ${n}: the guest ended without results (exit ${rc}); its output:`);
    try { process.stderr.write(readFileSync(join(dir, 'console.log'), 'utf8').split('\n').filter((l) => !/^\[ *\d/.test(l)).slice(-60).join('\n') + '\n'); } catch { /* none */ }
    continue;
  }
  const run = JSON.parse(readFileSync(file, 'utf8'));
  run.guestWallSec = Math.round((Date.now() - g0) / 1000);
  run.hakeepBuild = hakeepRoot;
  runs.push(run);
  log(`size ${n}: guest done in ${run.guestWallSec} s`);
}
const wallSec = Math.round((Date.now() - t0) / 1000);
console.log(report(runs).join('\n'));
console.log(`\nwhole run: ${wallSec} s (${runs.map((r) => `${r.size}: ${r.guestWallSec} s`).join(', ')}); daemon logs and console output: ${scratch}/guest-*`);
if (JSON_OUT) {
  writeFileSync(JSON_OUT, JSON.stringify({ started: new Date(t0).toISOString(), wallSec, sizes: SIZES, rounds: SIZES.map((_, i) => roundsFor(i)), distBuilt: new Date(distT).toISOString(), runs }, null, 1));
  log(`raw results: ${JSON_OUT}`);
}
if (!flag('--keep') && !failed) {
  // Keep the logs (small) but drop the hakeep snapshot and the server binary.
  rmSync(join(scratch, 'hakeep'), { recursive: true, force: true });
  rmSync(serverBin, { force: true });
}
process.exit(failed ? 1 : 0);
