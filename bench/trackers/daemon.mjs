// Tracker scale, end to end: the daemon as operators run it. One namespace ("dir") runs 200 VRRP
// instances (VRID 1..200, all masters after the start: priority 200, no peer) that share 10 vrrp_scripts (interval 1 s;
// instance i tracks script i % 10, weight -5), and a second namespace ("obs") captures every
// advert with tcpdump (kernel timestamps). Measured for hakeep and for keepalived 2.2.7 with the
// same config, one after the other:
//   - advert interval jitter: |interval between consecutive adverts of one VRID - 1000 ms|,
//     p50 / p99 / max over all VRIDs (the VRRP timing path under script load);
//   - script runs: each script appends a line per run; runs per script per second must be 1.
//
//   node bench/trackers/daemon.mjs [--seconds 30] [--json FILE]        (root; npm run build first)
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killAll, sh, sleep, waitUntil } from '../failover/lab.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const SECONDS = Number(opt('--seconds', '30'));
const JSON_OUT = opt('--json', null);
const INSTANCES = 200;
/** SCRIPTS=0: the same instances without trackers, the baseline. */
const SCRIPTS = Number(process.env.SCRIPTS ?? 10);
const NS = 'hkts-dir';
const OBS = 'hkts-obs';

function preflight() {
  if (process.getuid?.() !== 0) throw new Error('run as root (network namespaces)');
  if (!existsSync(join(ROOT, 'dist', 'cli.js'))) throw new Error('dist/ is missing: npm run build first');
  for (const [cmd, v, pkg] of [['keepalived', '-v', 'keepalived'], ['tcpdump', '--version', 'tcpdump']]) {
    try { sh([cmd, v]); } catch { throw new Error(`${cmd} is missing: apt-get install -y ${pkg}`); }
  }
}

function lab() {
  for (const ns of [NS, OBS]) sh(['ip', 'netns', 'del', ns], { allowFail: true });
  sh(['ip', 'netns', 'add', NS]);
  sh(['ip', 'netns', 'add', OBS]);
  sh(['ip', '-n', NS, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', OBS]);
  for (const [ns, ip] of [[NS, '10.239.1.1/24'], [OBS, '10.239.1.2/24']]) {
    sh(['ip', '-n', ns, 'addr', 'add', ip, 'dev', 'eth0']);
    sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
    sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  }
}

function config(dir) {
  const out = ['global_defs {', '    router_id bench', '    script_user root', '}'];
  for (let s = 0; s < SCRIPTS; s++) {
    const script = join(dir, `chk${s}.sh`);
    writeFileSync(script, `#!/bin/sh\necho x >> ${join(dir, `runs${s}`)}\nexit 0\n`);
    chmodSync(script, 0o755);
    out.push(`vrrp_script chk${s} {`, `    script "${script}"`, '    interval 1', '    weight -5', '}');
  }
  for (let i = 1; i <= INSTANCES; i++) {
    out.push(`vrrp_instance VI_${i} {`, '    state MASTER', '    interface eth0', `    virtual_router_id ${i}`, '    priority 200',
      '    advert_int 1', '    virtual_ipaddress {', `        10.239.${10 + Math.floor(i / 250)}.${i % 250 + 1}/32`, '    }',
      ...(SCRIPTS > 0 ? ['    track_script {', `        chk${i % SCRIPTS}`, '    }'] : []), '}');
  }
  return `${out.join('\n')}\n`;
}

function capture() {
  const adverts = [];
  let buf = '';
  const p = spawn('ip', ['netns', 'exec', OBS, 'tcpdump', '-i', 'eth0', '-n', '-tt', '-l', 'proto', '112'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d) => { err += d; });
  p.stdout.setEncoding('utf8').on('data', (d) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop();
    for (const l of lines) {
      const m = /^(\d+\.\d+) IP \S+ > \S+: VRRPv2, Advertisement, vrid (\d+), prio (\d+)/.exec(l);
      if (m) adverts.push({ t: Number(m[1]) * 1000, vrid: Number(m[2]) });
    }
  });
  return { adverts, proc: p, ready: () => err.includes('listening on'), stop: () => { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } } };
}

const pct = (xs, q) => { const v = [...xs].sort((a, b) => a - b); return v.length ? v[Math.min(v.length - 1, Math.floor(q * v.length))] : NaN; };

async function measure(kind, dir) {
  for (let s = 0; s < SCRIPTS; s++) rmSync(join(dir, `runs${s}`), { force: true });
  const conf = join(dir, `${kind}.conf`);
  writeFileSync(conf, config(dir));
  const cap = capture();
  await waitUntil('tcpdump', () => cap.ready(), 10_000, 20);
  const argv = kind === 'hakeep'
    ? ['node', join(ROOT, 'bin', 'hakeep.js'), '-n', '-P', '-f', conf, '-p', join(dir, 'hk.pid'), '--status-socket', join(dir, 'hk.sock')]
    : ['keepalived', '-n', '-l', '-P', '-f', conf, '-p', join(dir, 'ka.pid'), '-r', join(dir, 'ka.vrrp.pid'), '-c', join(dir, 'ka.check.pid')];
  const d = spawn('ip', ['netns', 'exec', NS, ...argv], { stdio: ['ignore', 'ignore', 'ignore'] });
  // Everyone is master after Master_Down_Interval (no peer); let the start settle, then measure.
  await sleep(6000);
  const from = Date.now();
  const runs0 = Array.from({ length: SCRIPTS }, (_, s) => (existsSync(join(dir, `runs${s}`)) ? readFileSync(join(dir, `runs${s}`), 'utf8').split('\n').length - 1 : 0));
  await sleep(SECONDS * 1000);
  const to = Date.now();
  const runs1 = Array.from({ length: SCRIPTS }, (_, s) => (existsSync(join(dir, `runs${s}`)) ? readFileSync(join(dir, `runs${s}`), 'utf8').split('\n').length - 1 : 0));
  process.kill(d.pid, 'SIGTERM');
  await new Promise((r) => d.on('exit', r));
  cap.stop();
  const byVrid = new Map();
  for (const a of cap.adverts) {
    if (a.t < from || a.t > to) continue;
    if (!byVrid.has(a.vrid)) byVrid.set(a.vrid, []);
    byVrid.get(a.vrid).push(a.t);
  }
  const jitter = [];
  const worst = [];
  for (const [vrid, ts] of byVrid) {
    for (let i = 1; i < ts.length; i++) {
      const j = Math.abs(ts[i] - ts[i - 1] - 1000);
      jitter.push(j);
      worst.push({ vrid, at: Math.round(ts[i] - from), j: Math.round(j * 10) / 10 });
    }
  }
  if (process.env.WORST) console.log(kind, JSON.stringify(worst.sort((a, b) => b.j - a.j).slice(0, Number(process.env.WORST))));
  const perSecond = runs1.map((r, s) => (r - runs0[s]) / ((to - from) / 1000));
  return {
    kind, vrids: byVrid.size, intervals: jitter.length,
    jitter: { p50: pct(jitter, 0.5), p99: pct(jitter, 0.99), max: Math.max(...jitter) },
    scriptRunsPerSecond: { min: Math.min(...perSecond), max: Math.max(...perSecond) },
  };
}

async function main() {
  preflight();
  const dir = mkdtempSync(join(tmpdir(), 'hkts-'));
  chmodSync(dir, 0o755);
  const cleanup = () => { killAll(); for (const ns of [NS, OBS]) sh(['ip', 'netns', 'del', ns], { allowFail: true }); rmSync(dir, { recursive: true, force: true }); };
  process.on('SIGINT', () => { cleanup(); process.exit(130); });
  const results = [];
  try {
    lab();
    for (const kind of ['hakeep', 'keepalived']) results.push(await measure(kind, dir));
  } finally {
    cleanup();
  }
  const f = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
  console.log(`tracker scale: ${INSTANCES} instances (all MASTER), ${SCRIPTS} vrrp_scripts at interval 1 s, ${SECONDS} s measured`);
  console.log('daemon       VRIDs seen  advert jitter p50 / p99 / max (ms)   script runs per second (min..max)');
  for (const r of results) {
    console.log(`${r.kind.padEnd(12)} ${String(r.vrids).padEnd(11)} ${`${f(r.jitter.p50)} / ${f(r.jitter.p99)} / ${f(r.jitter.max)}`.padEnd(36)} ${f(r.scriptRunsPerSecond.min)}..${f(r.scriptRunsPerSecond.max)}`);
  }
  const [h, k] = results;
  console.log(`p99 jitter ratio hakeep/keepalived: ${k.jitter.p99 > 0 ? (h.jitter.p99 / k.jitter.p99).toFixed(2) : 'n/a'}`);
  console.log(`${h.jitter.p99 <= 5 ? 'PASS' : 'FAIL'}  hakeep advert jitter p99 within 5 ms of the interval`);
  console.log(`${h.scriptRunsPerSecond.min >= 0.9 && h.scriptRunsPerSecond.max <= 1.1 ? 'PASS' : 'FAIL'}  each script runs once per interval`);
  if (JSON_OUT) writeFileSync(JSON_OUT, `${JSON.stringify(results, null, 2)}\n`);
}

main().catch((e) => { console.error(`bench failed: ${e.message}`); killAll(); process.exit(1); });
