// Checker benchmark, run inside a UML guest by bench/checker/guest.sh: hakeep and keepalived on the
// same config in the same guest, 100 / 1,000 / 10,000 real servers with delay_loop 1, for each
// checker type in BENCH_TYPES (TCP_CHECK; HTTP_GET with a digest, against servers answering a
// small page; MISC_CHECK running a small C program that connects to the real server).
// Measures per daemon: time from start until every real server is in IPVS, time from a real
// server's death (listener closed) until its removal from IPVS, CPU seconds per 1,000 checks in
// steady state, and peak RSS, all summed over the daemon's whole process tree (hakeep's daemon,
// checker child and script spawner; keepalived's parent and checker child; the scripts they run,
// once reaped). Writes $RESULT_DIR/bench.json; run.sh prints the table.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { controlled, log, sh, sleep, waitFor, RESULT_DIR } from '../../test/uml/guest/lib.mjs';

const REPO = process.env.REPO;
const SIZES = (process.env.BENCH_SIZES ?? '100,1000,10000').split(',').map(Number);
// (BENCH_PLAN, below, overrides BENCH_SIZES and BENCH_TYPES.)
const TYPES = (process.env.BENCH_TYPES ?? 'TCP_CHECK,HTTP_GET,MISC_CHECK').split(',');
/** The MISC_CHECK program (connect-check.c), built by run.sh. */
const MISC_BIN = process.env.BENCH_MISC_BIN ?? '/tmp/connect-check';
/** The page the servers answer in HTTP mode (accept-server.c HTTP_PAGE): its MD5 is the digest. */
const PAGE_DIGEST = createHash('md5').update('healthy page\n').digest('hex');
const DAEMONS = (process.env.BENCH_DAEMONS ?? 'hakeep,keepalived').split(',');
const STEADY_SEC = Number(process.env.BENCH_STEADY_SEC ?? 15);
const KILLS = Number(process.env.BENCH_KILLS ?? 12);
const WINDOWS = 5;
const RS_PER_VS = 100;
const ADDRS = 10; // real servers on 10.78.1.11-20, ports 20000+
const PORT0 = 20000;
const DELAY_LOOP = 1;
/** MISC_CHECK forks a process per check in both daemons (keepalived forks it from its checker
 * process, hakeep from its script spawner). A fork costs tens of milliseconds in the guest (UML
 * copies page tables through the host), so MISC_CHECK runs at most this many checks a second:
 * delay_loop = n / rate (at least 1). At 100 a second both daemons fell behind by far (2026-11-30). */
const MISC_RATE = Number(process.env.BENCH_MISC_RATE ?? 20);
/** Real servers killed per size; none when a removal would take longer than the bench can wait. */
const killsFor = (type, n) => (delayLoopFor(type, n) > 10 ? 0 : KILLS);
/** HTTP_GET's delay_loop (default 1): keepalived 2.2.7 makes no checks at all at 10,000 real servers
 * with delay_loop 1 in the guest, so a CPU ratio needs a rate both daemons sustain (2026-11-30). */
const HTTP_DELAY_LOOP = Number(process.env.BENCH_HTTP_DELAY_LOOP ?? DELAY_LOOP);
const delayLoopFor = (type, n) => (type === 'MISC_CHECK' ? Math.max(DELAY_LOOP, Math.ceil(n / MISC_RATE)) : type === 'HTTP_GET' ? HTTP_DELAY_LOOP : DELAY_LOOP);
/** `hakeep-alt` in BENCH_DAEMONS: hakeep again, with these extra Node.js flags on the daemon and the
 * checker child (a flag trial measured in the same guest as the shipped flags and keepalived). */
const ALT_FLAGS = (process.env.BENCH_ALT_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '');
const CONNECT_TIMEOUT = 1;
const HZ = 100;

const rsAddr = (i) => ({ ip: `10.78.1.${11 + (i % ADDRS)}`, port: PORT0 + Math.floor(i / ADDRS) });

function checker(type, ip, port) {
  if (type === 'HTTP_GET') return `HTTP_GET {\n      connect_timeout ${CONNECT_TIMEOUT}\n      retry 0\n      url {\n        path /health\n        digest ${PAGE_DIGEST}\n      }\n    }`;
  if (type === 'MISC_CHECK') return `MISC_CHECK {\n      misc_path "${MISC_BIN} ${ip} ${port}"\n      misc_timeout ${CONNECT_TIMEOUT + 1}\n    }`;
  return `TCP_CHECK {\n      connect_timeout ${CONNECT_TIMEOUT}\n      retry 0\n    }`;
}

function config(n, type) {
  const delay = delayLoopFor(type, n);
  let out = 'global_defs {\n  router_id hku-bench\n  script_user root\n}\n';
  for (let v = 0; v * RS_PER_VS < n; v++) {
    out += `virtual_server 10.78.${9 + Math.floor(v / 250)}.${1 + (v % 250)} 80 {\n  delay_loop ${delay}\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n`;
    for (let i = v * RS_PER_VS; i < Math.min(n, (v + 1) * RS_PER_VS); i++) {
      const { ip, port } = rsAddr(i);
      out += `  real_server ${ip} ${port} {\n    weight 1\n    ${checker(type, ip, port)}\n  }\n`;
    }
    out += '}\n';
  }
  return out;
}

/** Count destinations in /proc/net/ip_vs and whether one given dest ("IPHEX:PORTHEX") is present. */
function ipvsCount() {
  const text = readFileSync('/proc/net/ip_vs', 'utf8');
  let n = 0;
  for (let i = text.indexOf('->'); i !== -1; i = text.indexOf('->', i + 2)) n++;
  return n - 1; // the header line has one "->"
}
const hex = (ip, port) => `${ip.split('.').map((x) => Number(x).toString(16).padStart(2, '0').toUpperCase()).join('')}:${port.toString(16).padStart(4, '0').toUpperCase()}`;
const present = (ip, port) => readFileSync('/proc/net/ip_vs', 'utf8').includes(`-> ${hex(ip, port)}`);

/** Per-thread CPU ticks (utime+stime) of a process, for BENCH_DEBUG breakdowns. */
function threadTicks(pid) {
  const out = {};
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      const s = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      out[`${t}:${s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'))}`] = Number(f[11]) + Number(f[12]);
    }
  } catch { /* gone */ }
  return out;
}

/** `root` and every process below it (the checker child, the script spawner, scripts running). */
function tree(root) {
  const kids = new Map();
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const s = readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(Number(p));
    } catch { /* gone */ }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(kids.get(out[i]) ?? []));
  return out;
}

/** Peak RSS per process seen so far (VmHWM of processes that have exited would be lost). */
const peaks = new Map();
/** What each of those processes is (for the per-process breakdown in bench.json). */
const names = new Map();
function describe(pid) {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const js = argv.find((a) => a.endsWith('.js') || a.endsWith('.mjs'));
    return js ? `${argv[0].split('/').pop()} ${js.split('/').slice(-2).join('/')}` : argv.slice(0, 2).join(' ');
  } catch {
    return '?';
  }
}

/** utime+stime(+children) in seconds and VmHWM in MiB for a set of pids. */
function usage(pids) {
  let cpu = 0;
  let hwm = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpu += (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / HZ;
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      // Short-lived scripts do not count towards the daemon's memory.
      if (m && !/^\S+ \((sh|connect-check|true)\)/.test(stat)) {
        peaks.set(pid, Math.max(peaks.get(pid) ?? 0, Number(m[1]) / 1024));
        if (!names.has(pid)) names.set(pid, describe(pid));
      }
    } catch { /* process gone */ }
  }
  for (const pid of pids) hwm += peaks.get(pid) ?? 0;
  return { cpu, hwm };
}

/**
 * Proportional set size of the tree now (MiB): pages shared between the daemon's processes (the
 * node binary hakeep's two processes both map; keepalived's forked parent and child) count once
 * in all, where summed RSS counts them once per process. Sampled, so the peak is approximate.
 */
let peakPss = 0;
function samplePss(pids) {
  let kb = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (/^\S+ \((sh|connect-check|true)\)/.test(stat)) continue;
      const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch { /* gone */ }
  }
  peakPss = Math.max(peakPss, kb / 1024);
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
}

async function runOne(daemon, n, servers, type) {
  const conf = `/run/hku-bench-${n}.conf`;
  writeFileSync(conf, config(n, type));
  peaks.clear();
  names.clear();
  sh('ipvsadm', ['-C']); // the guest is ours alone: start every run from an empty table
  const logFile = `${RESULT_DIR}/${daemon}-${type}-${n}.log`;
  const out = createWriteStream(logFile);
  const alt = daemon === 'hakeep-alt' ? ALT_FLAGS : [];
  const argv = daemon.startsWith('hakeep')
    ? ['node', ...(process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ') : []), ...alt, `${process.env.HAKEEP_ROOT || REPO}/bin/hakeep.js`, '-n', '-f', conf, '-C', '--log-format', 'text', '-p', '/run/hku-hakeep.pid', ...(process.env.BENCH_DEBUG ? ['--log-level', 'debug'] : [])]
    : ['keepalived', '-n', '-l', '-C', '-f', conf, '-p', '/run/hku-ka.pid', '-c', '/run/hku-ka-check.pid', '-r', '/run/hku-ka-vrrp.pid'];
  const t0 = performance.now();
  const env = alt.length ? { ...process.env, HAKEEP_CHECKER_NODE_FLAGS: [process.env.HAKEEP_CHECKER_NODE_FLAGS ?? '', ...alt].join(' ').trim() } : process.env;
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  let gone = null;
  const exited = new Promise((r) => child.on('exit', (code, signal) => { gone = { code, signal }; r(gone); }));
  // The whole process tree: hakeep's checker child (and spawner) are the daemon's children, as is
  // keepalived's checker process; scripts' CPU comes in through their parents once reaped.
  const pids = () => {
    const list = tree(child.pid);
    if (daemon === 'keepalived' && existsSync('/run/hku-ka-check.pid')) {
      const ck = Number(readFileSync('/run/hku-ka-check.pid', 'utf8'));
      if (!list.includes(ck)) list.push(...tree(ck));
    }
    return list;
  };
  // Sample peaks now and then: a process's VmHWM is lost when it exits.
  peakPss = 0;
  const sampler = setInterval(() => { const p = pids(); usage(p); samplePss(p); }, 2000);

  // Reading /proc/net/ip_vs costs guest CPU in proportion to the table: poll large tables less often.
  const pollMs = n > 1000 ? 100 : 20;
  const up = await waitFor(() => gone !== null || ipvsCount() >= n, 120_000, pollMs * 5);
  const startMs = up.value && gone === null ? Math.round(performance.now() - t0) : null;
  log(`${daemon} ${type} n=${n}: all ${n} in IPVS after ${startMs} ms`);
  if (gone !== null) {
    // The daemon did not start (or died): say so in the results rather than measure nothing.
    clearInterval(sampler);
    const res = { daemon, type, n, failed: `exited during start-up: ${JSON.stringify(gone)} (see ${logFile})`, startMs: null, cpuPer1000: null, checksPerSec: 0, nominalChecksPerSec: n / delayLoopFor(type, n), delayLoop: delayLoopFor(type, n), peakRssMiB: Math.round([...peaks.values()].reduce((a, b) => a + b, 0)), removalMs: { median: null, max: null, samples: [] }, exit: gone, destsLeftAfterStop: ipvsCount() };
    log(JSON.stringify(res));
    return res;
  }

  const count = async () => Number((await servers.ask('count')).split(' ')[1]);
  // Checks must be flowing before the window opens: every server in IPVS does not mean checks
  // have started (keepalived at 10,000 real servers on a busy guest spends a minute setting up
  // before its first round; hakeep's checks start after its first IPVS sync). Wait for one full
  // round of checks (n connections at the servers, at most ten seconds' worth), bounded to 3 minutes.
  const round0 = await count();
  // At most ten seconds' worth of checks (MISC_CHECK's long delay_loop at 10,000).
  const roundChecks = Math.min(n, Math.ceil((n / delayLoopFor(type, n)) * 10));
  let flowing = false;
  for (const tEnd = performance.now() + 180_000; !flowing && gone === null && performance.now() < tEnd;) {
    await sleep(500);
    flowing = (await count()) - round0 >= roundChecks;
  }
  const firstRoundMs = flowing ? Math.round(performance.now() - t0) : null;
  if (!flowing) log(`${daemon} ${type} n=${n}: fewer than ${roundChecks} checks within 3 minutes of start-up; measuring anyway`);
  // Steady state: let the warmup spread settle, then measure CPU over a window.
  await sleep(Math.max(3000, Math.min(delayLoopFor(type, n), 10) * 1000));
  // CPU per check over several short windows, reported as the median: CPU accounting in a UML
  // guest is inflated whenever the host is busy, and the median shrugs off such spikes.
  const inIpvs0 = ipvsCount();
  const pids0 = pids();
  const th0 = pids0.map(threadTicks);
  const th0Of = (pid) => th0[pids0.indexOf(pid)] ?? {};
  const uStart = usage(pids());
  const cStart = await count();
  const wStart = performance.now();
  const perWindow = [];
  for (let w = 0; w < WINDOWS; w++) {
    const c0 = await count();
    const u0 = usage(pids());
    await sleep((STEADY_SEC * 1000) / WINDOWS);
    const u1 = usage(pids());
    const c1 = await count();
    if (c1 > c0) perWindow.push(((u1.cpu - u0.cpu) / (c1 - c0)) * 1000);
  }
  const uEnd = usage(pids());
  const inIpvs1 = ipvsCount();
  // CPU seconds in the window per process of the tree (its threads' ticks; reaped children's CPU
  // is in the totals above, not here): where the daemon's CPU goes.
  const pidsAtEnd = pids();
  const th1 = pidsAtEnd.map(threadTicks);
  const cpuByProcess = pidsAtEnd.map((pid, i) => {
    const before = th0Of(pid);
    const ticks = Object.entries(th1[i]).reduce((a, [k, v]) => a + v - (before[k] ?? 0), 0);
    return { pid, what: names.get(pid) ?? describe(pid), cpuSec: Math.round((ticks / HZ) * 100) / 100 };
  });
  if (process.env.BENCH_DEBUG) {
    th1.forEach((m, i) => log(`${daemon} n=${n} pid ${pidsAtEnd[i]} thread ticks in window: ${JSON.stringify(Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v - (th0Of(pidsAtEnd[i])[k] ?? 0)]).filter(([, v]) => v > 0)))}; cpu ${(uEnd.cpu - uStart.cpu).toFixed(2)} s incl. children`));
  }
  const windowSec = (performance.now() - wStart) / 1000;
  // Checks actually made (connections the servers accepted), not the nominal n per delay_loop:
  // a daemon that cannot keep up makes fewer.
  const checksPerSec = ((await count()) - cStart) / windowSec;
  const cpuPer1000 = median(perWindow);

  // Removal latency: close one listener at a random phase, wait for its destination to go.
  const lat = [];
  /** How long before each close the daemon had last checked that server (C servers only). */
  const idles = [];
  const kills = killsFor(type, n);
  for (let k = 0; k < kills; k++) {
    const i = Math.floor(((k + 0.5) * n) / kills);
    const { ip, port } = rsAddr(i);
    await sleep(Math.random() * 1000);
    const closed = await servers.ask(`close ${ip} ${port}`);
    const t = performance.now();
    const idle = /idle (-?\d+)/.exec(closed);
    if (idle) idles.push(Number(idle[1]));
    if (process.env.BENCH_DEBUG) log(`closed ${ip}:${port} at ${new Date().toISOString()}`);
    const r = await waitFor(() => !present(ip, port), 10_000 + delayLoopFor(type, n) * 1000, pollMs);
    lat.push(r.value ? Math.round(performance.now() - t) : Infinity);
    await servers.ask(`open ${ip} ${port} rs`);
  }
  const hwm = usage(pids()).hwm;
  clearInterval(sampler);

  child.kill('SIGTERM');
  const ex = await Promise.race([exited, sleep(60_000).then(() => ({ code: 'timeout' }))]);
  if (ex.code === 'timeout') child.kill('SIGKILL');
  const left = ipvsCount();
  const res = {
    daemon, type, n, startMs, firstRoundMs, cpuPer1000, cpuPer1000Windows: perWindow.map((x) => Math.round(x * 1000) / 1000), cpuSec: uEnd.cpu - uStart.cpu, windowSec, checksPerSec: Math.round(checksPerSec), nominalChecksPerSec: n / delayLoopFor(type, n), delayLoop: delayLoopFor(type, n),
    peakRssMiB: Math.round(hwm),
    peakPssMiB: Math.round(peakPss),
    cpuByProcess,
    peakRssByProcess: [...peaks].map(([pid, mib]) => ({ pid, what: names.get(pid) ?? '?', peakMiB: Math.round(mib) })),
    // Real servers in IPVS at the start and end of the window: fewer than n means false failures.
    inIpvs: [inIpvs0, inIpvs1],
    // Infinity (not removed within 10 s + delay_loop) becomes null in JSON.
    removalMs: { median: median(lat), max: Math.max(...lat), samples: lat, idleBeforeClose: idles }, exit: ex, destsLeftAfterStop: left,
  };
  log(JSON.stringify(res));
  await sleep(500);
  return res;
}

async function main() {
  // BENCH_PLAN=TYPE:N,TYPE:N… runs exactly those, in that order (the most wanted rows first when
  // time is short); else every type in BENCH_TYPES at every size, MISC_CHECK smallest first (its
  // largest size is the slowest to measure).
  const plan = process.env.BENCH_PLAN
    ? process.env.BENCH_PLAN.split(',').map((x) => { const [t, n] = x.split(':'); return { type: t, n: Number(n) }; })
    : TYPES.flatMap((type) => (type === 'MISC_CHECK' ? [...SIZES].sort((a, b) => a - b) : SIZES).map((n) => ({ type, n })));
  const maxN = Math.max(...plan.map((p) => p.n));
  const serverCmd = process.env.BENCH_SERVER ? [process.env.BENCH_SERVER] : ['node', `${REPO}/test/uml/guest/servers.mjs`];
  log(`real servers: ${serverCmd.join(' ')}`);
  const servers = controlled(['ip', 'netns', 'exec', 'hkubs', ...serverCmd], 'servers');
  const perAddr = Math.ceil(maxN / ADDRS);
  for (let a = 0; a < ADDRS; a++) log(await servers.ask(`range 10.78.1.${11 + a} ${PORT0} ${perAddr} rs`, 300_000));
  const results = [];
  let mode = null;
  try {
    for (const { type, n } of plan) {
      // HTTP_GET needs servers that answer a page; the others only need the connection.
      const want = type === 'HTTP_GET' ? 'http' : 'close';
      if (mode !== want) log(await servers.ask(`mode ${want}`));
      mode = want;
      for (const d of DAEMONS) results.push(await runOne(d, n, servers, type));
      writeFileSync(`${RESULT_DIR}/bench.json`, JSON.stringify({ delayLoop: DELAY_LOOP, connectTimeout: CONNECT_TIMEOUT, steadySec: STEADY_SEC, results, partial: true }, null, 2));
    }
  } finally {
    servers.stop();
  }
  writeFileSync(`${RESULT_DIR}/bench.json`, JSON.stringify({ delayLoop: DELAY_LOOP, connectTimeout: CONNECT_TIMEOUT, steadySec: STEADY_SEC, results }, null, 2));
}

main().then(() => process.exit(0), (e) => { log(String(e?.stack ?? e)); process.exit(1); });
