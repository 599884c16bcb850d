// Restart benchmark, run inside one UML guest per size by bench/restart/guest.sh: hakeep (-C) and
// keepalived (-n -l -C) on the same config in the same guest, rounds interleaved, all real servers
// healthy. Per daemon and round:
//   cold    empty table → daemon started (with -I) → time until /proc/net/ip_vs equals the desired
//           table; then it settles (two delay_loops) so every server has been checked
//   steady  no signal: the same observation window, the noise floor (false failures and the like)
//   term-I  SIGTERM of the daemon started with -I, wait for all its processes to end, start it again
//           with -I ("systemctl restart" with --dont-release-ipvs)
//   kill    SIGKILL (keepalived: parent frozen, checker child killed, then the parent, as
//           bench/failover/lab.mjs does; hakeep: the daemon, whose checker child dies with it),
//           wait for every process of it to be gone, start it again
//   term    SIGTERM without -I (both daemons' default stop removes the services), start again
// Each restart is sampled from just before the signal until the new daemon has run for the settle
// window and the table has been whole for a while. Writes $RESULT_DIR/restart.json.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { controlled, log, sh, sleep, RESULT_DIR } from '../../test/uml/guest/lib.mjs';
import { desiredTable, Observer, parseProc, compare, readProc } from './ipvs-watch.mjs';

const REPO = process.env.REPO;
const ROOT = process.env.HAKEEP_ROOT || REPO; // a snapshot of bin/ + dist/ (run.mjs), or the repo
const N = Number(process.env.BENCH_SIZE ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DAEMONS = (process.env.BENCH_DAEMONS ?? 'hakeep,keepalived').split(',');
const MODES = (process.env.BENCH_MODES ?? 'steady,term-I,kill,term').split(',');
const DELAY_LOOP = Number(process.env.BENCH_DELAY_LOOP ?? 5);
// Reading /proc/net/ip_vs costs the guest CPU the daemons need (8 ms for 10,000 destinations in an
// idle guest, 40-80 ms on a busy one): these defaults keep the sampler near a fifth of the CPU.
const INTERVAL_MS = Number(process.env.BENCH_INTERVAL_MS ?? (N > 1000 ? 250 : 10));
const POLL_MS = Number(process.env.BENCH_POLL_MS ?? (N > 1000 ? 500 : 20)); // the cold start's wait
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? DELAY_LOOP * 2000 + 3000);
const QUIET_MS = 2000; // the table whole this long at the end of an observation
const CAP_MS = Number(process.env.BENCH_CAP_MS ?? 240_000);
const RS_PER_VS = 100;
const ADDRS = 10; // real servers on 10.78.1.11-20, ports 20000+
const PORT0 = 20000;

const rsAddr = (i) => ({ ip: `10.78.1.${11 + (i % ADDRS)}`, port: PORT0 + Math.floor(i / ADDRS) });
const vip = (v) => `10.78.${9 + Math.floor(v / 250)}.${1 + (v % 250)}`;

function services(n) {
  const out = [];
  for (let v = 0; v * RS_PER_VS < n; v++) {
    const dests = [];
    for (let i = v * RS_PER_VS; i < Math.min(n, (v + 1) * RS_PER_VS); i++) dests.push({ ...rsAddr(i), fwd: 'Masq', weight: 1 });
    out.push({ proto: 'TCP', ip: vip(v), port: 80, sched: 'rr', dests });
  }
  return out;
}

// Healthy servers must stay healthy: a generous timeout and retries, so a check that is late on the
// guest's one busy CPU does not fail a server (that would be noise, not the restart).
function config(list) {
  let out = 'global_defs {\n  router_id hku-restart\n}\n';
  for (const s of list) {
    out += `virtual_server ${s.ip} ${s.port} {\n  delay_loop ${DELAY_LOOP}\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n`;
    for (const d of s.dests) {
      out += `  real_server ${d.ip} ${d.port} {\n    weight 1\n    TCP_CHECK {\n      connect_timeout 5\n      retry 3\n      delay_before_retry 1\n    }\n  }\n`;
    }
    out += '}\n';
  }
  return out;
}

/** Processes whose parent is `pid`, recursively (read from /proc, no process spawn). */
function descendants(pid) {
  const kids = new Map();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const s = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(Number(e));
    } catch { /* gone */ }
  }
  const out = [];
  const walk = (p) => { for (const c of kids.get(p) ?? []) { out.push(c); walk(c); } };
  walk(pid);
  return out;
}

/** Alive and not a zombie (orphans are reparented to the guest's init shell, which may not reap them). */
function alive(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const st = s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
    return st !== 'Z' && st !== 'X';
  } catch {
    return false;
  }
}

const KA_FILES = { main: '/run/hku-ka.pid', check: '/run/hku-ka-check.pid', vrrp: '/run/hku-ka-vrrp.pid' };

/** One process of a daemon, from spawn to exit. */
class Proc {
  constructor(kind, conf, dontRelease) {
    this.kind = kind;
    this.dontRelease = dontRelease;
    const argv = kind === 'hakeep'
      ? ['node', `${ROOT}/bin/hakeep.js`, '-n', '-f', conf, '-C', '--log-format', 'text', '--log-level', 'debug', '-p', '/run/hku-hakeep.pid', ...(dontRelease ? ['-I'] : [])]
      : ['keepalived', '-n', '-l', '-C', '-f', conf, '-p', KA_FILES.main, '-c', KA_FILES.check, '-r', KA_FILES.vrrp, ...(dontRelease ? ['-I'] : [])];
    const logFile = `${RESULT_DIR}/${kind}-${N}.log`;
    const out = createWriteStream(logFile, { flags: 'a' });
    out.write(`\n===== ${new Date().toISOString()} start: ${argv.join(' ')}\n`);
    this.t0 = performance.now();
    this.proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout.pipe(out, { end: false });
    this.proc.stderr.pipe(out, { end: false });
    // Ready: the first IPVS sync is done and checks run. hakeep says so at debug level ("Checker
    // side fit to front traffic"), keepalived with "Startup complete".
    // hakeep at debug level also logs every batch it sends ("IPVS: applied N change(s)"): the
    // commands a restart cost, beside what the samples saw.
    this.readyT = null;
    this.applied = []; // [t, changes]
    this.watchdogKills = 0; // hakeep: "sent no heartbeat" (its checker child killed by the daemon)
    this.tailText = '';
    this.ready = new Promise((resolve) => {
      const re = kind === 'hakeep' ? /Checker side fit to front traffic/ : /Startup complete/;
      const partial = { stdout: '', stderr: '' };
      const scan = (which) => (d) => {
        const text = d.toString('latin1');
        this.tailText = (this.tailText + text).slice(-2000);
        const lines = (partial[which] + text).split('\n');
        partial[which] = lines.pop();
        const now = performance.now();
        for (const l of lines) {
          if (this.readyT === null && re.test(l)) { this.readyT = now; resolve(now); }
          if (kind === 'hakeep') {
            const m = /IPVS: applied (\d+) change|IPVS: removed (\d+) service/.exec(l);
            if (m) this.applied.push([now, Number(m[1] ?? m[2])]);
            if (/sent no heartbeat|did not start within/.test(l)) this.watchdogKills++;
          }
        }
      };
      this.proc.stdout.on('data', scan('stdout'));
      this.proc.stderr.on('data', scan('stderr'));
    });
    this.exited = new Promise((r) => this.proc.on('exit', (code, signal) => { out.write(`===== exit code ${code} signal ${signal}\n`); r({ code, signal }); }));
  }

  get pid() { return this.proc.pid; }
  get running() { return this.proc.exitCode === null && this.proc.signalCode === null; }

  /** The last lines it printed (why it exited by itself). */
  lastLines(n = 6) {
    return this.tailText.split('\n').filter(Boolean).slice(-n);
  }

  /** Signal it and wait until the daemon and every process it started are gone. */
  async stop(how) {
    if (!this.running) return { exit: { code: this.proc.exitCode, signal: this.proc.signalCode, already: true }, mainGoneMs: 0, allGoneMs: 0, children: 0, killedLeftovers: 0, leftovers: [], wasReady: this.readyT !== null };
    const kids = descendants(this.pid);
    const t0 = performance.now();
    if (how === 'kill') {
      if (this.kind === 'keepalived') {
        // keepalived's children get SIGTERM from a dying parent (PR_SET_PDEATHSIG) and would clean
        // up: freeze the parent, kill the children, then the parent (bench/failover/lab.mjs).
        process.kill(this.pid, 'SIGSTOP');
        for (const k of kids) { try { process.kill(k, 'SIGKILL'); } catch { /* gone */ } }
      }
      process.kill(this.pid, 'SIGKILL');
    } else {
      process.kill(this.pid, 'SIGTERM');
    }
    const ex = await Promise.race([this.exited, sleep(120_000).then(() => null)]);
    if (ex === null) { log(`${this.kind} did not exit within 120 s; SIGKILL`); process.kill(this.pid, 'SIGKILL'); await this.exited; }
    const mainGoneMs = performance.now() - t0;
    // Children left behind (hakeep's checker child notices the dead parent by itself); a service
    // manager would kill what is left of the unit after its stop timeout: 30 s here.
    let killedLeftovers = 0;
    const leftovers = [];
    while (kids.some(alive) && performance.now() - t0 < mainGoneMs + 30_000) await sleep(2);
    for (const k of kids.filter(alive)) {
      killedLeftovers++;
      let cmd = '?';
      try { cmd = readFileSync(`/proc/${k}/cmdline`, 'latin1').split('\0').join(' ').trim(); } catch { /* gone */ }
      leftovers.push(`${k} ${cmd}`);
      log(`${this.kind}: process ${k} (${cmd}) still alive 30 s after the daemon ended; SIGKILL`);
      try { process.kill(k, 'SIGKILL'); } catch { /* gone */ }
    }
    while (kids.some(alive)) await sleep(2);
    const allGoneMs = performance.now() - t0;
    if (this.kind === 'keepalived') for (const f of Object.values(KA_FILES)) rmSync(f, { force: true });
    return { exit: ex ?? { code: 'timeout' }, mainGoneMs: Math.round(mainGoneMs), allGoneMs: Math.round(allGoneMs), children: kids.length, killedLeftovers, leftovers, wasReady: this.readyT !== null };
  }
}

/**
 * A daemon as its service manager runs it: examples/hakeep.service has Restart=on-failure and
 * RestartSec=1, so a process that exits by itself with a failure is started again 1 s later (each
 * such exit is recorded). t0 is the first start, readyT the first time one of its processes said
 * it was ready.
 */
class Daemon {
  constructor(kind, conf, dontRelease) {
    this.kind = kind;
    this.conf = conf;
    this.dontRelease = dontRelease;
    this.t0 = performance.now();
    this.readyT = null;
    this.failures = [];
    this.stopping = false;
    this.gaveUp = false;
    this.timer = null;
    this.ready = new Promise((r) => { this.resolveReady = r; });
    this.spawn();
  }

  spawn() {
    const p = new Proc(this.kind, this.conf, this.dontRelease);
    this.proc = p;
    (this.procs ??= []).push(p);
    void p.ready.then((t) => { if (this.readyT === null) { this.readyT = t; this.resolveReady(t); } });
    void p.exited.then((ex) => {
      if (this.stopping || this.proc !== p) return;
      const f = { atMs: Math.round(performance.now() - this.t0), code: ex.code, signal: ex.signal, wasReady: p.readyT !== null, lastLines: p.lastLines() };
      this.failures.push(f);
      const restart = ex.code !== 0 && this.failures.length < 10;
      log(`${this.kind} exited by itself (code ${ex.code}, signal ${ex.signal}) ${f.atMs} ms after its first start${restart ? '; starting it again in 1 s (Restart=on-failure)' : ''}: ${f.lastLines.join(' | ').slice(-600)}`);
      if (!restart) { this.gaveUp = true; return; }
      this.timer = setTimeout(() => { this.timer = null; if (!this.stopping) this.spawn(); }, 1000);
    });
  }

  get running() { return !this.gaveUp; }

  /** Over all its processes: IPVS changes hakeep logged as applied, and watchdog kills of its checker child. */
  get applied() { return this.procs.flatMap((p) => p.applied); }
  get watchdogKills() { return this.procs.reduce((a, p) => a + p.watchdogKills, 0); }

  async stop(how) {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    return this.proc.stop(how);
  }
}

function median(xs) {
  const s = xs.filter((x) => x !== null && x !== undefined).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : null;
}

async function waitEqual(desired, timeoutMs, pollMs) {
  const t0 = performance.now();
  for (;;) {
    const st = compare(desired, parseProc(readProc()));
    if (st.equal) return { ms: Math.round(performance.now() - t0), st };
    if (performance.now() - t0 > timeoutMs) return { ms: null, st };
    await sleep(pollMs);
  }
}

/**
 * Observe until the new daemon has been ready (first sync done, checks running) for SETTLE_MS, so
 * that every server has had its first check from it, and the table has been whole QUIET_MS; give
 * up CAP_MS after tStart.
 */
async function observeUntilSettled(obs, d, tStart) {
  let wholeSince = null;
  for (;;) {
    await sleep(50);
    const now = performance.now();
    if (obs.equal) wholeSince ??= now; else wholeSince = null;
    if (d.readyT !== null && now - d.readyT >= SETTLE_MS && wholeSince !== null && now - wholeSince >= QUIET_MS) return true;
    if (now - tStart >= CAP_MS) return false;
  }
}

async function restartEvent(d, mode, desired, nextDontRelease, conf) {
  const pre = compare(desired, parseProc(readProc()));
  d.killsBefore = d.watchdogKills;
  const obs = new Observer(desired, INTERVAL_MS);
  obs.start();
  await sleep(300); // some samples of the table before the signal
  const t0 = performance.now();
  if (mode === 'steady') obs.mark('steadyFrom', t0);
  obs.mark('signal', t0);
  let stop = null;
  let nd = d;
  if (mode !== 'steady') {
    stop = await d.stop(mode === 'kill' ? 'kill' : 'term');
    obs.mark('oldGone');
    nd = new Daemon(d.kind, conf, nextDontRelease);
    obs.mark('newStarted', nd.t0);
  }
  if (mode === 'steady') await sleep(SETTLE_MS); // the same window as a restart's, without one
  const settled = await observeUntilSettled(obs, nd, mode === 'steady' ? t0 : nd.t0);
  if (mode !== 'steady' && nd.readyT !== null) obs.mark('newReady', nd.readyT);
  obs.mark('end');
  await obs.stop();
  const r = obs.result(t0);
  const tEnd = obs.marks.end;
  const during = (u) => (d.kind === 'hakeep' ? u.applied.filter(([t]) => t >= t0 - 300 && t <= tEnd) : null);
  const oldApplied = mode === 'steady' ? null : during(d);
  const newApplied = during(nd);
  return {
    daemon: d, next: nd,
    res: {
      mode, preEqual: pre.equal, pre, stop, settled, failuresBefore: d.failures, newDaemonFailures: mode === 'steady' ? [] : nd.failures,
      // hakeep only (null for keepalived): IPVS changes it logged as applied during the observation.
      ipvsChangesOld: oldApplied && oldApplied.reduce((a, [, n]) => a + n, 0),
      ipvsChangesNew: newApplied && newApplied.reduce((a, [, n]) => a + n, 0),
      watchdogKills: d.kind === 'hakeep' ? (mode === 'steady' ? d.watchdogKills - (d.killsBefore ?? 0) : nd.watchdogKills) : null,
      ...r,
    },
  };
}

async function main() {
  const list = services(N);
  const desired = desiredTable(list);
  const conf = `/run/hku-restart-${N}.conf`;
  writeFileSync(conf, config(list));
  const serverCmd = process.env.BENCH_SERVER ? [process.env.BENCH_SERVER] : ['node', `${REPO}/test/uml/guest/servers.mjs`];
  log(`size ${N}, rounds ${ROUNDS}, daemons ${DAEMONS.join(',')}, modes ${MODES.join(',')}, delay_loop ${DELAY_LOOP} s, sample interval ${INTERVAL_MS} ms, settle ${SETTLE_MS} ms; hakeep from ${ROOT}; ${spawnSync('keepalived', ['-v'], { encoding: 'utf8' }).stderr.split('\n')[0]}`);
  const servers = controlled(['ip', 'netns', 'exec', 'hkurs', ...serverCmd], 'servers');
  const perAddr = Math.ceil(N / ADDRS);
  for (let a = 0; a < ADDRS; a++) log(await servers.ask(`range 10.78.1.${11 + a} ${PORT0} ${perAddr} rs`, 300_000));

  // The cost of one sample of the full table, for the record.
  sh('ipvsadm', ['-C']);
  const dontReleaseFor = (m) => (m === 'term-I' ? true : m === 'term' ? false : null);
  const out = { size: N, rounds: ROUNDS, delayLoop: DELAY_LOOP, intervalMs: INTERVAL_MS, pollMs: POLL_MS, settleMs: SETTLE_MS, quietMs: QUIET_MS, modes: MODES, hakeepRoot: ROOT, cold: [], events: [] };
  const t00 = performance.now();
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? DAEMONS : [...DAEMONS].reverse();
      for (const kind of order) {
        sh('ipvsadm', ['-C']);
        rmSync('/run/hakeep/ipvs-owned.json', { force: true });
        const firstFlag = MODES.map(dontReleaseFor).find((x) => x !== null) ?? true;
        let d = new Daemon(kind, conf, firstFlag);
        const w = await waitEqual(desired, CAP_MS, POLL_MS);
        const coldMs = w.ms === null ? null : Math.round(performance.now() - d.t0);
        await Promise.race([d.ready, sleep(CAP_MS)]);
        const readyMs = d.readyT === null ? null : Math.round(d.readyT - d.t0);
        log(`round ${round} ${kind}: cold start, table whole after ${coldMs} ms, ready after ${readyMs} ms${d.failures.length ? `, after ${d.failures.length} failed start(s)` : ''}`);
        out.cold.push({ round, daemon: kind, coldMs, readyMs, st: w.st, failures: d.failures, watchdogKills: kind === 'hakeep' ? d.watchdogKills : null });
        if (coldMs === null || readyMs === null) {
          log(`round ${round} ${kind}: did not start within ${CAP_MS} ms; no restarts measured this round`);
          await d.stop('term');
          sh('ipvsadm', ['-C']);
          continue;
        }
        // Settled: every server checked once by this daemon.
        await sleep(Math.max(0, SETTLE_MS - (performance.now() - (d.readyT ?? performance.now()))));
        for (let i = 0; i < MODES.length; i++) {
          const mode = MODES[i];
          // The daemon started now must have the -I the next mode stops with.
          // term-I and term restart with the flag they stopped with ("systemctl restart"); after
          // steady (no restart) and kill the new daemon gets what the next stop needs.
          let next = dontReleaseFor(mode);
          if (next === null) {
            next = d.dontRelease;
            for (let j = i + 1; j < MODES.length; j++) { const f = dontReleaseFor(MODES[j]); if (f !== null) { next = f; break; } }
          }
          if (dontReleaseFor(mode) !== null && dontReleaseFor(mode) !== d.dontRelease) log(`round ${round} ${kind}: ${mode} wants -I=${dontReleaseFor(mode)} but the daemon has ${d.dontRelease}`);
          const e = await restartEvent(d, mode, desired, next, conf);
          d = e.next;
          const r = e.res;
          out.events.push({ round, daemon: kind, size: N, dontRelease: e.daemon.dontRelease, ...r });
          if (r.newDaemonFailures.length) log(`round ${round} ${kind} ${mode}: the new daemon failed ${r.newDaemonFailures.length} time(s) before it ran`);
          log(`round ${round} ${kind} ${mode}: new daemon ready ${r.marks.newReady ?? '-'} ms${kind === 'hakeep' ? ` (IPVS changes sent: old ${r.ipvsChangesOld ?? '-'}, new ${r.ipvsChangesNew}; checker child killed by the watchdog ${r.watchdogKills} time(s))` : ''}, whole after ${r.wholeMs} ms, max missing ${r.maxMissing}, missing dest-samples ${r.missingDestSamples}, longest missing ${r.longestMissingMs} ms, removed ${r.removed} re-added ${r.readded}, weight changes ${r.weightChanges}, reorders ${r.reorders}, extra ${r.maxExtra}; old gone ${r.stop ? `${r.stop.mainGoneMs}/${r.stop.allGoneMs} ms` : '-'}; ${r.samples} samples, gap mean ${r.sampleGapMsMean} max ${r.sampleGapMsMax} ms, read ${r.readMsMean} ms${r.settled ? '' : ' (NOT settled)'}`);
          await sleep(200);
        }
        // Leave an empty table for the other daemon.
        if (d.dontRelease) log(`round ${round} ${kind}: last daemon runs with -I; its table is cleared by ipvsadm -C`);
        await d.stop('term');
        sh('ipvsadm', ['-C']);
        await sleep(500);
      }
    }
  } finally {
    servers.stop();
  }
  out.wallSec = Math.round((performance.now() - t00) / 1000);
  out.summary = {};
  for (const kind of DAEMONS) {
    for (const mode of MODES) {
      const ev = out.events.filter((e) => e.daemon === kind && e.mode === mode);
      out.summary[`${kind} ${mode}`] = { wholeMs: median(ev.map((e) => e.wholeMs)), maxMissing: median(ev.map((e) => e.maxMissing)), removed: median(ev.map((e) => e.removed)), readded: median(ev.map((e) => e.readded)) };
    }
  }
  writeFileSync(`${RESULT_DIR}/restart.json`, JSON.stringify(out, null, 1));
  log(`done in ${out.wallSec} s`);
}

main().then(() => process.exit(0), (e) => { log(String(e?.stack ?? e)); process.exit(1); });
