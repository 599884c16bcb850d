// Tracker scale bench: 200 VRRP instances sharing 10 vrrp_scripts (each instance tracks all ten,
// weight -5), interval 1 s, driven in-process: the real script scheduler (src/vrrp/trackers/) and
// the real shared script runner (src/script/runner.ts) with a fake sink standing in for the
// instance runtimes. Alongside, 200 "advert timers" (one per instance, 1 s, re-armed on absolute
// deadlines as src/vrrp/deadline-timer.ts does) measure how late the VRRP timing path fires while
// the scripts run.
//
// Reports, per runner mode ('spawner': a helper process forks the scripts, hakeep's default;
// 'direct': this process forks them) and for a baseline without scripts:
//   - runs of each script per 1-second interval (must be exactly 1 for every script and interval);
//   - advert timer lateness p50 / p99 / max (ms) over every firing;
//   - how busy this process's event loop was (%) and its CPU ms per second: the cost the VRRP
//     loop pays for the scripts, which is what the spawner exists to keep small. On a loaded
//     machine lateness is dominated by CPU contention; busy % and CPU ms/s are not.
//
//   node bench/trackers/run.mjs            [DURATION=20 INSTANCES=200 SCRIPTS=10 MODES=baseline,spawner,direct]
//
// It compiles the TypeScript it needs into a temporary directory first (tsc), so it runs from a
// plain checkout without touching dist/.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DURATION = Number(process.env.DURATION ?? 20);
const INSTANCES = Number(process.env.INSTANCES ?? 200);
const SCRIPTS = Number(process.env.SCRIPTS ?? 10);
const MODES = (process.env.MODES ?? 'baseline,spawner,direct').split(',');

const tmp = mkdtempSync(join(tmpdir(), 'hakeep-bench-trackers-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const dist = join(tmp, 'dist');
console.error('compiling …');
execFileSync('npx', ['tsc', '--ignoreConfig', '--outDir', dist, '--rootDir', join(ROOT, 'src'), '--module', 'nodenext',
  '--moduleResolution', 'nodenext', '--target', 'es2022', '--strict', '--skipLibCheck', '--types', 'node',
  join(ROOT, 'src/vrrp/trackers/index.ts'), join(ROOT, 'src/script/runner.ts'), join(ROOT, 'src/script/spawner.ts'),
  join(ROOT, 'src/config/load.ts'), join(ROOT, 'src/daemon/log.ts')], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
writeFileSync(join(tmp, 'package.json'), '{ "type": "module" }\n');
symlinkSync(join(ROOT, 'native'), join(tmp, 'native'));
symlinkSync(join(ROOT, 'node_modules'), join(tmp, 'node_modules'));
const mod = (p) => import(pathToFileURL(join(dist, p)).href);
const { startTrackers } = await mod('vrrp/trackers/index.js');
const { ScriptRunner } = await mod('script/runner.js');
const { parseConfigText } = await mod('config/load.js');
const { createLogger } = await mod('daemon/log.js');

const check = join(tmp, 'check.sh');
writeFileSync(check, '#!/bin/sh\nexit 0\n');
chmodSync(check, 0o755);

function config() {
  let c = '';
  for (let s = 0; s < SCRIPTS; s++) c += `vrrp_script chk_${s} {\n  script "${check} ${s}"\n  interval 1\n  weight -5\n}\n`;
  for (let i = 1; i <= INSTANCES; i++) {
    c += `vrrp_instance VI_${i} {\n  interface eth0\n  virtual_router_id ${((i - 1) % 255) + 1}\n  priority 100\n  virtual_ipaddress {\n    10.${Math.floor(i / 250)}.${i % 250}.1\n  }\n  track_script {\n`;
    for (let s = 0; s < SCRIPTS; s++) c += `    chk_${s}\n`;
    c += '  }\n}\n';
  }
  return c;
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** 200 timers at 1 s on absolute deadlines; returns every lateness in ms. */
function advertTimers(durationMs) {
  const late = [];
  const timers = [];
  const start = performance.now();
  for (let i = 0; i < INSTANCES; i++) {
    let due = start + 1000 + (i * 1000) / INSTANCES; // spread as real instances would be
    const fire = () => {
      const now = performance.now();
      late.push(now - due);
      due += 1000;
      if (due - start < durationMs) timers[i] = setTimeout(fire, Math.max(0, due - performance.now()));
    };
    timers[i] = setTimeout(fire, due - start);
  }
  return { late, stop: () => timers.forEach((t) => clearTimeout(t)) };
}

async function runMode(mode) {
  const loaded = parseConfigText(config());
  if (loaded.errorCount) throw new Error(loaded.diagnostics.map((d) => d.message).join('\n'));
  const log = createLogger({ level: 'warn' });
  const starts = new Map();
  let runner = null;
  let sinkCalls = 0;
  const sink = { setWeight: () => { sinkCalls++; }, setFault: () => { sinkCalls++; }, clearFault: () => { sinkCalls++; } };
  let trackers = null;
  const t0 = performance.now();
  if (mode !== 'baseline') {
    runner = new ScriptRunner({ mode, scriptUser: 'root', log: () => {}, spawnerPath: join(dist, 'script/spawner.js') });
    const counted = {
      run(job) {
        const list = starts.get(job.name) ?? [];
        list.push(performance.now() - t0);
        starts.set(job.name, list);
        return runner.run(job);
      },
    };
    trackers = startTrackers(loaded.config, { sink, log, runner: counted, kernel: { link: () => null, subscribe: () => () => {} }, procEvents: null });
  }
  const adv = advertTimers(DURATION * 1000);
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  await new Promise((r) => setTimeout(r, DURATION * 1000 + 200));
  const elu = performance.eventLoopUtilization(elu0);
  const cpu = process.cpuUsage(cpu0);
  adv.stop();
  const status = trackers?.status();
  await trackers?.stop();
  await runner?.close();

  let minPer = Infinity;
  let maxPer = 0;
  let total = 0;
  for (const list of starts.values()) {
    total += list.length;
    const per = new Map();
    for (const t of list) {
      const b = Math.floor(t / 1000);
      if (b >= DURATION) continue; // the last partial second
      per.set(b, (per.get(b) ?? 0) + 1);
    }
    for (let b = 0; b < DURATION; b++) {
      minPer = Math.min(minPer, per.get(b) ?? 0);
      maxPer = Math.max(maxPer, per.get(b) ?? 0);
    }
  }
  const late = adv.late.sort((a, b) => a - b);
  return {
    mode,
    scripts: starts.size,
    runs: total,
    runsPerIntervalMin: starts.size ? minPer : null,
    runsPerIntervalMax: starts.size ? maxPer : null,
    failing: status ? status.scripts.filter((s) => s.state !== 'ok').length : null,
    sinkCalls,
    advertFirings: late.length,
    lateP50: +pct(late, 50).toFixed(2),
    lateP99: +pct(late, 99).toFixed(2),
    lateMax: +late[late.length - 1].toFixed(2),
    /** Share of the time this process's event loop was busy, and its CPU ms per second. */
    loopBusyPct: +(elu.utilization * 100).toFixed(2),
    cpuMsPerSec: +((cpu.user + cpu.system) / 1000 / DURATION).toFixed(1),
  };
}

const results = [];
for (const m of MODES) {
  console.error(`running ${m} for ${DURATION} s …`);
  results.push(await runMode(m));
}
console.log(`${INSTANCES} instances × ${SCRIPTS} shared vrrp_scripts, interval 1 s, ${DURATION} s per mode`);
console.log('mode      scripts  runs  runs/script/interval (min-max)  loop busy %  CPU ms/s  advert lateness ms p50 / p99 / max');
for (const r of results) {
  const per = r.runsPerIntervalMin === null ? '-' : `${r.runsPerIntervalMin}-${r.runsPerIntervalMax}`;
  console.log(`${r.mode.padEnd(9)} ${String(r.scripts).padStart(7)} ${String(r.runs).padStart(5)}  ${per.padStart(30)}  ${String(r.loopBusyPct).padStart(11)}  ${String(r.cpuMsPerSec).padStart(8)}  ${r.lateP50} / ${r.lateP99} / ${r.lateMax}`);
}
console.log(JSON.stringify(results));
