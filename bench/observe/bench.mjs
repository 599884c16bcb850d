// Observability under load, run inside a UML guest (bench/observe/run.sh boots it through
// bench/checker's run.sh and guest.sh: the namespace "hkubs" with the real servers on 10.78.1.11-20
// behind the veth hkubs0, and accept-server.c listening on 10,000 ports).
//
// The guest root is the director: the daemon runs there as VRRP MASTER on hkubs0 (advert_int 1,
// VRID 51) and health-checks N real servers with TCP_CHECK (delay_loop 1, real IPVS). tcpdump in
// the servers' namespace (the other end of the veth) timestamps every advert as it arrives.
// Every second the driver asks what an operator's monitoring would ask:
//   hakeep:     `hakeep status --json` (the real CLI, a new process each time, over the status
//               socket) and GET /metrics ([metrics] listen in hakeep.ini);
//   (BENCH_NODE_ARGS: extra node flags for hakeep's daemon, e.g. --cpu-prof --cpu-prof-dir=DIR)
//   keepalived: what 2.2.7 has: SIGJSON (the VRRP process writes keepalived.json; this Debian
//               build has --enable-json) and SIGUSR1 (both processes write their data dump, the
//               checker's with all N real servers), then the files are read. keepalived has no
//               metrics endpoint (SNMP only, not configured here).
// Measured per daemon: advert interval deviation |interval - 1000 ms| p50 / p99 / max over the
// window (BENCH_SECONDS, >= 120 adverts), the scrapes' own latency, and hakeep's own VRRP timer
// figures from its status. Writes $RESULT_DIR/bench.json; bench/observe/report.mjs prints it.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, createWriteStream } from 'node:fs';
import { controlled, log, sh, sleep, waitFor, RESULT_DIR } from '../../test/uml/guest/lib.mjs';
import { request } from '../../test/uml/guest/daemons.mjs';

const REPO = process.env.REPO;
const ROOT = process.env.HAKEEP_ROOT || REPO;
const N = Number(process.env.BENCH_N ?? 10000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 130);
const DAEMONS = (process.env.BENCH_DAEMONS ?? 'hakeep,keepalived').split(',');
/** BENCH_SCRAPE=0: the same run without any scrape (a baseline for the scrape's share). A
 * daemon named NAME:quiet in BENCH_DAEMONS runs without scrapes too (e.g. hakeep,keepalived,hakeep:quiet);
 * hakeep:nopacer runs hakeep with HAKEEP_ADVERT_PACER=0 (adverts from the event loop, as before the pacer). */
const SCRAPE_ALL = process.env.BENCH_SCRAPE !== '0';
const RS_PER_VS = 100;
const ADDRS = 10;
const PORT0 = 20000;
const VRID = 51;
const PRIO = 150;
const SOCK = '/run/hko/status.sock';
const INI = '/run/hko/hakeep.ini';
const METRICS = '127.0.0.1:9650';
const KA_TMP = '/run/hko/ka';

const rsAddr = (i) => ({ ip: `10.78.1.${11 + (i % ADDRS)}`, port: PORT0 + Math.floor(i / ADDRS) });

/**
 * The same virtual servers as bench/checker's TCP_CHECK rows, plus two VRRP instances: VI_VS
 * (VRID 52) carries the first virtual server's address, so it fronts the virtual servers and
 * hakeep holds it in FAULT while its checker side is unfit (src/vrrp/fronting.ts); VI_OBS (VRID
 * 51, the one measured) fronts none, so its adverts show the VRRP loop alone, whatever the
 * checker child does. keepalived runs the same file (it has no such link: both stay MASTER).
 */
function config(n) {
  const inst = (name, vrid, vip) => `vrrp_instance ${name} {\n  state MASTER\n  interface hkubs0\n  virtual_router_id ${vrid}\n  priority ${PRIO}\n  advert_int 1\n  virtual_ipaddress {\n    ${vip}/32\n  }\n}\n`;
  let out = `global_defs {\n  router_id hko-bench\n}\n${inst('VI_OBS', VRID, '10.78.1.100')}${inst('VI_VS', VRID + 1, '10.78.9.1')}`;
  for (let v = 0; v * RS_PER_VS < n; v++) {
    out += `virtual_server 10.78.${9 + Math.floor(v / 250)}.${1 + (v % 250)} 80 {\n  delay_loop 1\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n`;
    for (let i = v * RS_PER_VS; i < Math.min(n, (v + 1) * RS_PER_VS); i++) {
      const { ip, port } = rsAddr(i);
      out += `  real_server ${ip} ${port} {\n    weight 1\n    TCP_CHECK {\n      connect_timeout 1\n      retry 0\n    }\n  }\n`;
    }
    out += '}\n';
  }
  return out;
}

function ipvsCount() {
  const text = readFileSync('/proc/net/ip_vs', 'utf8');
  let n = 0;
  for (let i = text.indexOf('->'); i !== -1; i = text.indexOf('->', i + 2)) n++;
  return n - 1;
}

/** tcpdump on the far end of the veth: every VRRP advert with its kernel arrival time. */
function capture() {
  const adverts = [];
  let buf = '';
  let err = '';
  const p = spawn('ip', ['netns', 'exec', 'hkubs', 'tcpdump', '-i', 'eth0', '-n', '-tt', '-l', '-B', '4096', 'proto', '112'], { stdio: ['ignore', 'pipe', 'pipe'] });
  p.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
  p.stdout.setEncoding('utf8').on('data', (d) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop();
    for (const l of lines) {
      const m = /^(\d+\.\d+) IP \S+ > \S+: VRRPv2, Advertisement, vrid (\d+), prio (\d+)/.exec(l);
      if (m) adverts.push({ t: Number(m[1]) * 1000, vrid: Number(m[2]), prio: Number(m[3]) });
    }
  });
  return {
    adverts,
    ready: () => err.includes('listening on'),
    stop: () => { try { process.kill(p.pid, 'SIGTERM'); } catch { /* gone */ } return err; },
  };
}

const pct = (xs, q) => { const v = [...xs].sort((a, b) => a - b); return v.length ? v[Math.min(v.length - 1, Math.floor(q * v.length))] : null; };
const r2 = (x) => (x === null || !Number.isFinite(x) ? null : Math.round(x * 100) / 100);

/** Run a command, resolve with its exit code, stdout length and wall time (no shell). */
function timed(argv, env) {
  return new Promise((resolve) => {
    const t = performance.now();
    const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
    let out = '';
    let err = '';
    p.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
    p.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
    p.on('exit', (code) => resolve({ code, out, err, ms: performance.now() - t }));
  });
}

/** One scrape round, as monitoring would do it; returns what it saw. */
let round = 0;
async function scrapeHakeep() {
  // The driver shares the guest's one CPU with the daemon: it reads every answer whole but parses
  // (validates) only every tenth, as parsing 2.5 MB each second took it most of a second in UML.
  const validate = round++ % 10 === 0;
  // The request `hakeep status --json` sends (one `status` line on the status socket); the CLI
  // itself is not started every second: a new node process reads ~200 modules over the guest's
  // hostfs and took many seconds in UML (it is run once at the end, to check it answers).
  const t0 = performance.now();
  const text = await request(SOCK, 'status', 10_000);
  const statusMs = performance.now() - t0;
  let rsUp = null;
  let state = null;
  let doc = null;
  try {
    if (validate) {
      doc = JSON.parse(text);
      state = doc.services?.vrrp?.instances?.[0]?.state ?? null;
      rsUp = (doc.services?.check?.virtualServers ?? []).reduce((a, vs) => a + (vs.realServers ?? []).filter((r) => r.alive).length, 0);
    } else if (text !== null && text.startsWith('{') && text.endsWith('}\n')) {
      doc = true;
    }
  } catch { /* counted as a failed scrape */ }
  const st = { ms: statusMs, out: text ?? '', code: text === null ? null : 0 };
  const t = performance.now();
  let metricsBytes = 0;
  let metricsOk = false;
  try {
    const res = await fetch(`http://${METRICS}/metrics`, { signal: AbortSignal.timeout(5000) });
    metricsBytes = (await res.text()).length;
    metricsOk = res.ok;
  } catch { /* counted */ }
  return { statusMs: st.ms, statusOk: doc !== null, validated: validate, statusExit: st.code, statusBytes: st.out.length, state, rsUp, doc, metricsMs: performance.now() - t, metricsOk, metricsBytes };
}

let sigJson = null;
async function scrapeKeepalived(pid) {
  sigJson ??= Number(sh('keepalived', ['--signum=JSON']).trim());
  const files = [`${KA_TMP}/keepalived.json`, `${KA_TMP}/keepalived.data`, `${KA_TMP}/keepalived_check.data`];
  for (const f of files) rmSync(f, { force: true });
  const t = performance.now();
  process.kill(pid, sigJson);
  process.kill(pid, 'SIGUSR1');
  // The dumps are written asynchronously by keepalived's processes: wait (bounded) for all three.
  const seen = await waitFor(() => files.every((f) => existsSync(f) && statSync(f).size > 0), 5000, 20);
  let bytes = 0;
  let state = null;
  for (const f of files) {
    try {
      const text = readFileSync(f, 'utf8');
      bytes += text.length;
      if (f.endsWith('.json')) state = JSON.parse(text)[0]?.data?.state ?? null;
    } catch { /* incomplete */ }
  }
  return { statusMs: performance.now() - t, statusOk: Boolean(seen.value), statusBytes: bytes, state };
}

async function runOne(daemon, servers, SCRAPE, mode) {
  const noPacer = daemon === 'hakeep' && mode === 'nopacer';
  const conf = '/run/hko/keepalived.conf';
  writeFileSync(conf, config(N));
  writeFileSync(INI, `[daemon]\nstatus_socket = ${SOCK}\n[metrics]\nlisten = ${METRICS}\n`);
  mkdirSync(KA_TMP, { recursive: true });
  sh('ipvsadm', ['-C']);
  const cap = capture();
  const ready = await waitFor(() => cap.ready(), 10_000, 20);
  if (!ready.value) throw new Error(`tcpdump did not start: ${cap.stop()}`);
  const logFile = `${RESULT_DIR}/${daemon}${noPacer ? '-nopacer' : ''}${SCRAPE ? '' : '-quiet'}.log`;
  const out = createWriteStream(logFile);
  const argv = daemon === 'hakeep'
    ? ['node', ...(process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ') : []), `${ROOT}/bin/hakeep.js`, '-n', '-f', conf, '--settings', INI, '--log-format', 'text', '-p', '/run/hko/hk.pid']
    : ['keepalived', '-n', '-l', '-f', conf, '-p', '/run/hko/ka.pid', '-c', '/run/hko/ka-check.pid', '-r', '/run/hko/ka-vrrp.pid'];
  const t0 = performance.now();
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: KA_TMP, ...(noPacer ? { HAKEEP_ADVERT_PACER: '0' } : {}) } });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  let gone = null;
  const exited = new Promise((r) => child.on('exit', (code, signal) => { gone = { code, signal }; r(gone); }));
  const up = await waitFor(() => gone !== null || ipvsCount() >= N, 240_000, 500);
  const allUpMs = up.value && gone === null ? Math.round(performance.now() - t0) : null;
  log(`${daemon}: all ${N} real servers in IPVS after ${allUpMs} ms`);
  // Let the first rounds of checks settle, and make sure we are the advertising master.
  await sleep(10_000);
  const res = { daemon: noPacer ? 'hakeep:nopacer' : daemon, scrape: SCRAPE, n: N, allUpMs, failed: null };
  if (gone !== null) res.failed = `exited during start-up: ${JSON.stringify(gone)}`;
  const scrapes = [];
  const from = Date.now();
  if (gone === null) {
    // A scrape round every second for SECONDS (a round that takes longer than a second delays
    // the next one, which then starts at once: rounds never overlap; perSecond says how many).
    for (let k = 0; Date.now() < from + SECONDS * 1000 && gone === null; k++) {
      const next = Date.now() + 1000;
      if (SCRAPE) {
        const at = Date.now() - from;
        const s = daemon === 'hakeep' ? await scrapeHakeep() : await scrapeKeepalived(child.pid);
        s.at = at;
        const { doc, ...keep } = s;
        scrapes.push(keep);
        if (k % 30 === 29) log(`${daemon}: ${k + 1} scrape rounds; last status ${Math.round(keep.statusMs)} ms${keep.metricsMs !== undefined ? `, metrics ${Math.round(keep.metricsMs)} ms` : ''}`);
      } else if (k % 30 === 29) {
        log(`${daemon}: ${k + 1} s without scrapes`);
      }
      const wait = next - Date.now();
      if (wait > 0) await sleep(wait);
    }
  }
  const to = Date.now();
  res.inIpvsAtEnd = ipvsCount();
  if (daemon === 'hakeep' && gone === null) {
    // The real CLI once, and hakeep's own view of its VRRP timer (how late it fired) at the end.
    const st = await timed(['node', `${ROOT}/bin/hakeep.js`, 'status', '--json', '--status-socket', SOCK]);
    res.cli = { exit: st.code, ms: Math.round(st.ms), bytes: st.out.length };
    try {
      const vrrp = JSON.parse(st.out).services?.vrrp;
      res.timer = vrrp?.instances?.[0]?.timer ?? null;
      // The pacer thread's own view: how late it woke to send (the rest of a late capture is the guest's).
      res.pacer = vrrp?.advertPacer ?? null;
      res.paced = vrrp?.instances?.map((i) => i.counters?.advertsPaced ?? null) ?? null;
    } catch { res.timer = null; }
  }
  child.kill('SIGTERM');
  const ex = await Promise.race([exited, sleep(60_000).then(() => ({ code: 'timeout' }))]);
  if (ex.code === 'timeout') child.kill('SIGKILL');
  await sleep(300);
  const err = cap.stop();
  // Intervals between consecutive adverts of VRID 51 at the MASTER's priority, inside the window.
  const ts = cap.adverts.filter((a) => a.vrid === VRID && a.prio === PRIO && a.t >= from && a.t <= to).map((a) => a.t);
  const dev = [];
  const worst = [];
  for (let i = 1; i < ts.length; i++) {
    const d = Math.abs(ts[i] - ts[i - 1] - 1000);
    dev.push(d);
    worst.push({ at: Math.round((ts[i] - from) / 100) / 10, ms: r2(d) });
  }
  // The fronting instance: adverts seen (fewer than one a second when hakeep held it in FAULT).
  res.frontingAdverts = cap.adverts.filter((a) => a.vrid === VRID + 1 && a.prio === PRIO && a.t >= from && a.t <= to).length;
  if (daemon === 'hakeep') {
    // Checker child deaths over the whole run (the daemon restarts it; the fronting instance
    // waits in FAULT meanwhile), from the daemon's log.
    await waitFor(() => out.writableFinished, 3000, 50);
    const text = readFileSync(logFile, 'utf8');
    res.checkerDeaths = (text.match(/ERROR check: Checker child \d+ \(pid \d+\) died/g) ?? []).length;
    res.frontingFaults = (text.match(/\(VI_VS\) Entering FAULT STATE/g) ?? []).length;
  }
  res.windowSec = (to - from) / 1000;
  res.adverts = ts.length;
  res.intervals = dev.length;
  res.deviationMs = { p50: r2(pct(dev, 0.5)), p99: r2(pct(dev, 0.99)), max: r2(dev.length ? Math.max(...dev) : null) };
  res.worst = worst.sort((a, b) => b.ms - a.ms).slice(0, 8);
  // For lining delays up with scrapes and daemon events afterwards (ms from the window's start).
  res.advertAt = ts.map((t) => Math.round(t - from));
  res.windowStartWall = new Date(from).toISOString();
  res.scrapeAt = scrapes.map((x) => [x.at, Math.round(x.statusMs), Math.round(x.metricsMs ?? 0)]);
  if (SCRAPE) {
    const ok = scrapes.filter((s) => s.statusOk);
    res.scrapes = {
      rounds: scrapes.length,
      perSecond: r2(scrapes.length / ((to - from) / 1000)),
      statusOk: ok.length,
      statusMs: { p50: r2(pct(scrapes.map((s) => s.statusMs), 0.5)), max: r2(Math.max(...scrapes.map((s) => s.statusMs))) },
      statusBytes: pct(scrapes.map((s) => s.statusBytes), 0.5),
      ...(daemon === 'hakeep' ? {
        metricsOk: scrapes.filter((s) => s.metricsOk).length,
        metricsMs: { p50: r2(pct(scrapes.map((s) => s.metricsMs), 0.5)), max: r2(Math.max(...scrapes.map((s) => s.metricsMs))) },
        metricsBytes: pct(scrapes.map((s) => s.metricsBytes), 0.5),
        validated: ok.filter((s) => s.validated).length,
        rsUp: { min: Math.min(...ok.filter((s) => s.validated).map((s) => s.rsUp ?? 0)), max: Math.max(...ok.filter((s) => s.validated).map((s) => s.rsUp ?? 0)) },
        states: [...new Set(ok.filter((s) => s.validated).map((s) => s.state))], // VI_OBS
      } : { states: [...new Set(ok.map((s) => s.state))] }),
    };
  }
  res.exit = ex;
  if (ts.length < 2) res.captureErr = err.slice(-500);
  log(JSON.stringify(res));
  return res;
}

async function main() {
  mkdirSync('/run/hko', { recursive: true });
  const serverCmd = process.env.BENCH_SERVER ? [process.env.BENCH_SERVER] : ['node', `${REPO}/test/uml/guest/servers.mjs`];
  const servers = controlled(['ip', 'netns', 'exec', 'hkubs', ...serverCmd], 'servers');
  const perAddr = Math.ceil(N / ADDRS);
  for (let a = 0; a < ADDRS; a++) log(await servers.ask(`range 10.78.1.${11 + a} ${PORT0} ${perAddr} rs`, 300_000));
  log(await servers.ask('mode close'));
  const results = [];
  try {
    for (const d of DAEMONS) {
      const [daemon, mode] = d.split(':');
      results.push(await runOne(daemon, servers, SCRAPE_ALL && mode !== 'quiet', mode));
      writeFileSync(`${RESULT_DIR}/bench.json`, JSON.stringify({ n: N, seconds: SECONDS, results, partial: true }, null, 2));
    }
  } finally {
    servers.stop();
  }
  writeFileSync(`${RESULT_DIR}/bench.json`, JSON.stringify({ n: N, seconds: SECONDS, results }, null, 2));
}

main().then(() => process.exit(0), (e) => { log(String(e?.stack ?? e)); process.exit(1); });
