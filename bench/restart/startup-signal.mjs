// Reproduction, run in the UML guest by bench/restart/startup-signal.sh (guest.sh with
// BENCH_SCRIPT=startup-signal.mjs): a signal that reaches the daemon while it is still starting,
// i.e. after its checker child was forked and before the child reported ready. Seen in the restart
// benchmark when a restart came too soon after the previous one. For each case it records the
// IPVS table and the daemon's processes from the signal until 20 s after the daemon exited.
//   term-empty   empty table, SIGTERM during start (no -I): afterwards the table should be empty
//   term-full    the full table left by a previous run (-I), SIGTERM during start (no -I):
//                the default stop removes the configured services, so the table should be empty
//   kill         SIGKILL during start (0, 0.3, 1, 2, 3 s after the checker child appeared, while it
//                is not ready; BENCH_KILL_DELAYS): no process of the daemon should outlive it
// hakeep: "during start" = its checker child (dist/check/child.js) exists and "Checker side fit"
// has not been logged. keepalived, for reference: right after its checker child's pid file appears.
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { controlled, log, sh, sleep, RESULT_DIR } from '../../test/uml/guest/lib.mjs';
import { compare, desiredTable, parseProc, readProc } from './ipvs-watch.mjs';

const REPO = process.env.REPO;
const ROOT = process.env.HAKEEP_ROOT || REPO;
const N = Number(process.env.BENCH_SIZE ?? 100);
const DAEMONS = (process.env.BENCH_DAEMONS ?? 'hakeep,keepalived').split(',');
const REPEAT = Number(process.env.BENCH_ROUNDS ?? 1);
const KILL_DELAYS = (process.env.BENCH_KILL_DELAYS ?? '0,300,1000,2000,3000').split(',').map(Number);

const list = [];
for (let v = 0; v * 100 < N; v++) {
  const dests = [];
  for (let i = v * 100; i < Math.min(N, (v + 1) * 100); i++) dests.push({ ip: `10.78.1.${11 + (i % 10)}`, port: 20000 + Math.floor(i / 10), fwd: 'Masq', weight: 1 });
  list.push({ proto: 'TCP', ip: `10.78.9.${1 + v}`, port: 80, sched: 'rr', dests });
}
const desired = desiredTable(list);
let conf = 'global_defs {\n  router_id hku-startup\n}\n';
for (const s of list) {
  conf += `virtual_server ${s.ip} ${s.port} {\n  delay_loop 5\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n`;
  for (const d of s.dests) conf += `  real_server ${d.ip} ${d.port} {\n    weight 1\n    TCP_CHECK {\n      connect_timeout 5\n      retry 3\n    }\n  }\n`;
  conf += '}\n';
}
const CONF = '/run/hku-startup.conf';
writeFileSync(CONF, conf);

function procs() {
  const out = new Map();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const s = readFileSync(`/proc/${e}/stat`, 'utf8');
      const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
      if (rest[0] === 'Z') continue;
      out.set(Number(e), { ppid: Number(rest[1]), cmd: readFileSync(`/proc/${e}/cmdline`, 'latin1').split('\0').join(' ').trim() });
    } catch { /* gone */ }
  }
  return out;
}
function descendants(pid) {
  const all = procs();
  const out = [];
  const walk = (p) => { for (const [k, v] of all) if (v.ppid === p) { out.push(k); walk(k); } };
  walk(pid);
  return out;
}
const alive = (pid) => procs().has(pid);
const dests = () => { const t = parseProc(readProc()); return { services: t.services.size, dests: t.dests.size, equal: compare(desired, t).equal }; };

function start(kind, dontRelease) {
  const argv = kind === 'hakeep'
    ? ['node', `${ROOT}/bin/hakeep.js`, '-n', '-f', CONF, '-C', '--log-format', 'text', '--log-level', 'debug', '-p', '/run/hku-startup.pid', ...(dontRelease ? ['-I'] : [])]
    : ['keepalived', '-n', '-l', '-C', '-f', CONF, '-p', '/run/hku-ska.pid', '-c', '/run/hku-ska-check.pid', '-r', '/run/hku-ska-vrrp.pid', ...(dontRelease ? ['-I'] : [])];
  const file = `${RESULT_DIR}/startup-${kind}.log`;
  appendFileSync(file, `\n===== ${new Date().toISOString()} ${argv.join(' ')}\n`);
  const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const d = { kind, p, lines: [], readyT: null, t0: performance.now() };
  const onData = (b) => {
    const s = b.toString();
    appendFileSync(file, s);
    for (const l of s.split('\n')) if (l) d.lines.push([performance.now(), l]);
    if (/Checker side fit to front traffic|Startup complete/.test(s) && d.readyT === null) d.readyT = performance.now();
  };
  p.stdout.on('data', onData);
  p.stderr.on('data', onData);
  d.exited = new Promise((r) => p.on('exit', (code, signal) => { appendFileSync(file, `===== exit ${code} ${signal}\n`); r({ code, signal, t: performance.now() }); }));
  return d;
}

/** Until the daemon is "starting": its checker child exists, and it has not said it is ready. */
async function waitStarting(d) {
  for (let i = 0; i < 60_000 / 5; i++) {
    const kids = descendants(d.p.pid);
    const child = kids.find((k) => /check\/child\.js/.test(procs().get(k)?.cmd ?? '')) ?? (d.kind === 'keepalived' && existsSync('/run/hku-ska-check.pid') ? kids[0] : undefined);
    if (child !== undefined && d.readyT === null) return { child, kids };
    if (d.readyT !== null) return null;
    await sleep(5);
  }
  return null;
}

async function fullTable(kind) {
  // A previous run with -I leaves the whole table.
  const d = start(kind, true);
  for (let i = 0; i < 1200 && !(dests().equal && d.readyT !== null); i++) await sleep(50);
  d.p.kill('SIGTERM');
  await d.exited;
  for (const f of ['/run/hku-ska.pid', '/run/hku-ska-check.pid', '/run/hku-ska-vrrp.pid']) rmSync(f, { force: true });
  return dests();
}

async function runCase(kind, name, delayMs = 0) {
  sh('ipvsadm', ['-C']);
  rmSync('/run/hakeep/ipvs-owned.json', { force: true });
  let before = dests();
  if (name === 'term-full') before = await fullTable(kind);
  const d = start(kind, false);
  let s = await waitStarting(d);
  if (s && delayMs > 0) {
    await sleep(delayMs);
    if (d.readyT !== null) s = null;
  }
  if (!s) { log(`${kind} ${name}: the daemon was ready before its checker child was seen; no case`); d.p.kill('SIGKILL'); await d.exited; return { kind, name, delayAfterChildSeenMs: delayMs, skipped: true }; }
  const tSig = performance.now();
  const atSignal = dests();
  const kidsAtSignal = descendants(d.p.pid);
  if (name === 'kill') {
    if (kind === 'keepalived') {
      // As bench/failover/lab.mjs: freeze the parent, kill its children, then the parent.
      d.p.kill('SIGSTOP');
      for (const k of kidsAtSignal) { try { process.kill(k, 'SIGKILL'); } catch { /* gone */ } }
    }
    d.p.kill('SIGKILL');
  } else {
    d.p.kill('SIGTERM');
  }
  await sleep(20);
  for (const k of descendants(d.p.pid)) if (!kidsAtSignal.includes(k)) kidsAtSignal.push(k);
  const ex = await Promise.race([d.exited, sleep(60_000).then(() => null)]);
  const exitMs = ex ? Math.round(ex.t - tSig) : null;
  const atExit = dests();
  const stoppedLine = d.lines.find(([, l]) => /Stopped hakeep|Stopped Keepalived/.test(l));
  // Watch 20 s after the exit: the table, and what is left of the daemon.
  const timeline = [];
  let last = '';
  const t1 = performance.now();
  const leftover = new Map();
  while (performance.now() - t1 < 20_000) {
    const t = dests();
    const key = `${t.services}/${t.dests}`;
    if (key !== last) { timeline.push([Math.round(performance.now() - tSig), t.services, t.dests]); last = key; }
    for (const k of kidsAtSignal) if (alive(k)) leftover.set(k, { cmd: procs().get(k)?.cmd, lastSeenMs: Math.round(performance.now() - tSig) });
    await sleep(100);
  }
  const after = dests();
  for (const k of kidsAtSignal) if (alive(k)) { try { process.kill(k, 'SIGKILL'); } catch { /* gone */ } }
  if (!ex) { d.p.kill('SIGKILL'); await d.exited; }
  for (const f of ['/run/hku-ska.pid', '/run/hku-ska-check.pid', '/run/hku-ska-vrrp.pid']) rmSync(f, { force: true });
  const linesAfterStopped = stoppedLine ? d.lines.filter(([t]) => t > stoppedLine[0]).map(([t, l]) => `+${Math.round(t - tSig)} ms ${l}`).slice(0, 12) : [];
  const r = {
    kind, name, delayAfterChildSeenMs: delayMs, signalAfterStartMs: Math.round(tSig - d.t0), before, atSignal, exit: ex && { code: ex.code, signal: ex.signal }, exitMs,
    stoppedLineMs: stoppedLine ? Math.round(stoppedLine[0] - tSig) : null, atExit, after20s: after, tableTimeline: timeline,
    leftoverProcesses: [...leftover].map(([pid, v]) => ({ pid, ...v })), linesAfterStopped,
  };
  log(`${kind} ${name}: ${JSON.stringify(r)}`);
  return r;
}

async function main() {
  const servers = controlled(['ip', 'netns', 'exec', 'hkurs', process.env.BENCH_SERVER], 'servers');
  for (let a = 0; a < 10; a++) log(await servers.ask(`range 10.78.1.${11 + a} 20000 ${Math.ceil(N / 10)} rs`));
  const results = [];
  try {
    for (let r = 0; r < REPEAT; r++) {
      for (const kind of DAEMONS) {
        for (const name of ['term-empty', 'term-full']) results.push(await runCase(kind, name));
        // SIGKILL at several points of the checker child's start.
        for (const delay of KILL_DELAYS) results.push(await runCase(kind, 'kill', delay));
      }
    }
  } finally {
    servers.stop();
  }
  writeFileSync(`${RESULT_DIR}/startup-signal.json`, JSON.stringify(results, null, 1));
}

main().then(() => process.exit(0), (e) => { log(String(e?.stack ?? e)); process.exit(1); });
