// The driver inside the systemd guest (test/systemd/uml/boot.sh, stage1.sh): systemd 252 is PID 1,
// this runs as test-run.service. It installs hakeep with the README's command, then drives it
// through systemctl the way an operator would, and records each assertion in $JOB/results.jsonl
// for test/systemd/systemd-uml.test.ts. The journal goes to $JOB/journal.txt.
//
// Network: the guest's root namespace is the director (hakeep on hks0, 10.90.0.1/24, the VIP
// 10.90.0.100 and an IPVS NAT service on it); namespace hkp is the far side of the veth (10.90.0.2)
// with the two real servers (10.90.0.11/12:80) and the capture of the VRRP adverts.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { destsOf, log, readIpvs, record, sh, sleep } from '../../uml/guest/lib.mjs';

const JOB = process.env.JOB;
const REPO = process.env.REPO;
const VS = 'TCP 10.90.0.100:80';
const VIP = '10.90.0.100';
const STALL_FILE = '/run/hakeep-test-stall';
const t0 = performance.now();

function run(cmd, args, opts = {}) {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: opts.timeout ?? 120_000 });
    return { code: 0, out, err: '' };
  } catch (e) {
    return { code: e.status ?? -1, out: String(e.stdout ?? ''), err: String(e.stderr ?? e.message) };
  }
}

function show() {
  const out = run('systemctl', ['show', 'hakeep', '-p', 'ActiveState,SubState,MainPID,StatusText,NRestarts,Result']).out;
  const p = {};
  for (const l of out.split('\n')) {
    const i = l.indexOf('=');
    if (i > 0) p[l.slice(0, i)] = l.slice(i + 1);
  }
  return p;
}

/** The unit's journal lines (hakeep's and systemd's about it), short-monotonic. */
function journal() {
  return run('journalctl', ['-u', 'hakeep', '-o', 'short-monotonic', '--no-pager', '-q']).out.split('\n').filter(Boolean);
}

async function until(what, cond, timeoutMs, pollMs = 250) {
  const start = performance.now();
  for (;;) {
    const v = cond();
    if (v) return { value: v, ms: Math.round(performance.now() - start) };
    if (performance.now() - start > timeoutMs) return { value: null, ms: Math.round(performance.now() - start), what };
    await sleep(pollMs);
  }
}

function vipPresent() {
  return run('ip', ['-4', '-o', 'addr', 'show', 'dev', 'hks0']).out.includes(` ${VIP}/`);
}

function ipvsDests() {
  return JSON.stringify(destsOf(readIpvs(), VS));
}

const transitions = (lines) => lines.filter((l) => /Entering (MASTER|BACKUP|FAULT) STATE/.test(l));

async function main() {
  // --- the lab ------------------------------------------------------------------------------------
  for (const m of ['ip_vs', 'ip_vs_rr', 'veth']) run('modprobe', [m]);
  sh('ip', ['-batch', '-'], [
    'netns add hkp',
    'link add hks0 type veth peer name eth0 netns hkp',
    'addr add 10.90.0.1/24 dev hks0',
    'link set hks0 up',
    'link set lo up',
  ].join('\n') + '\n');
  sh('ip', ['-n', 'hkp', '-batch', '-'], [
    'link set lo up',
    'addr add 10.90.0.2/24 dev eth0',
    'addr add 10.90.0.11/24 dev eth0',
    'addr add 10.90.0.12/24 dev eth0',
    'link set eth0 up',
    'route add default via 10.90.0.1',
  ].join('\n') + '\n');
  const servers = spawn('ip', ['netns', 'exec', 'hkp', process.execPath, '-e', `
    const net = require('node:net');
    for (const a of ['10.90.0.11', '10.90.0.12']) net.createServer((c) => { c.on('error', () => {}); c.end('ok\\n'); }).listen(80, a);
    setInterval(() => {}, 1 << 30);`], { stdio: 'ignore' });
  // Adverts as the peer sees them, for the whole run.
  const cap = spawn('ip', ['netns', 'exec', 'hkp', 'tcpdump', '-Z', 'root', '-i', 'eth0', '-n', '-U', '-w', `${JOB}/vrrp.pcap`, 'ip proto 112'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let capErr = '';
  cap.stderr.on('data', (d) => { capErr += d; });
  cap.on('error', (e) => { capErr += String(e); });

  // --- 1. install, as the README says -------------------------------------------------------------
  let t = performance.now();
  const inst = run('bash', [`${REPO}/scripts/install.sh`], { timeout: 180_000 });
  const installMs = Math.round(performance.now() - t);
  writeFileSync(`${JOB}/install.log`, `${inst.out}\n--- stderr ---\n${inst.err}`);
  record('install: `bash scripts/install.sh` from the clone exits 0', inst.code === 0, { ms: installMs, tail: inst.out.split('\n').slice(-8).join(' | '), err: inst.err.slice(-400) });
  const files = ['/usr/sbin/hakeep', '/usr/lib/hakeep/bin/hakeep.js', '/usr/lib/hakeep/dist/cli.js', '/usr/lib/hakeep/native/build/Release/hakeep_native.node',
    '/etc/systemd/system/hakeep.service', '/etc/hakeep/keepalived.conf', '/etc/hakeep/hakeep.ini'];
  const missing = files.filter((f) => !existsSync(f));
  const sample = run('/usr/sbin/hakeep', ['-t']);
  record('install: wrapper, package, unit and /etc/hakeep with a sample config that passes hakeep -t', missing.length === 0 && sample.code === 0, { missing, test: (sample.err || sample.out).trim().split('\n').slice(-1)[0] });
  if (inst.code !== 0) return;

  // The test's configuration (the operator's step), and a drop-in with the test hook and no cores.
  writeFileSync('/etc/hakeep/keepalived.conf', `
global_defs {
    router_id director1
}
vrrp_instance VI_1 {
    state MASTER
    interface hks0
    virtual_router_id 51
    priority 150
    advert_int 1
    virtual_ipaddress {
        ${VIP}/24
    }
}
virtual_server ${VIP} 80 {
    delay_loop 2
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.90.0.11 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 10.90.0.12 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`);
  mkdirSync('/etc/systemd/system/hakeep.service.d', { recursive: true });
  writeFileSync('/etc/systemd/system/hakeep.service.d/test.conf', `[Service]
# test hook: block the main thread for 30 s whenever ${STALL_FILE} appears
Environment=HAKEEP_TEST_STALL_MS=30000 HAKEEP_TEST_STALL_FILE=${STALL_FILE}
LimitCORE=0
`);
  run('systemctl', ['daemon-reload']);

  // --- 2. start: READY=1 only once VRRP and the checkers run --------------------------------------
  t = performance.now();
  const start = run('systemctl', ['start', 'hakeep'], { timeout: 60_000 });
  const startMs = Math.round(performance.now() - t);
  const atReady = show();
  const ipvsAtReady = ipvsDests();
  const child = run('pgrep', ['-f', 'dist/check/child.js']).out.trim();
  record('systemctl start returns once hakeep sent READY=1: active (running), both halves up', start.code === 0 && atReady.ActiveState === 'active' && atReady.SubState === 'running'
    && /^VI_1 (MASTER|BACKUP|FAULT), [0-2]\/2 real servers up$/.test(atReady.StatusText ?? '') && child !== '' && ipvsAtReady !== 'null',
  { startMs, show: atReady, checkerChild: child, ipvs: ipvsAtReady, err: start.err.slice(-300) });
  if (start.code !== 0) return;
  // Root, but bounded: CAP_CHOWN DAC_OVERRIDE KILL SETGID SETUID NET_ADMIN NET_RAW SYS_MODULE only.
  const caps = Object.fromEntries(readFileSync(`/proc/${atReady.MainPID}/status`, 'utf8').split('\n')
    .filter((l) => /^(Uid|CapEff|CapBnd):/.test(l)).map((l) => l.split(/:\s+/)));
  record('the daemon runs as root with only the unit\'s capabilities (CapEff = CapBnd = 0x8130e3)', BigInt(`0x${caps.CapEff}`) === 0x8130e3n && BigInt(`0x${caps.CapBnd}`) === 0x8130e3n, caps);
  const master = await until('MASTER', () => /^VI_1 MASTER, 2\/2 real servers up$/.test(show().StatusText ?? ''), 20_000);
  const st = run('systemctl', ['status', 'hakeep', '--no-pager', '-n', '0']).out;
  record('systemctl status shows the STATUS text "VI_1 MASTER, 2/2 real servers up"', master.value !== null && st.includes('Status: "VI_1 MASTER, 2/2 real servers up"'),
    { waitedMs: master.ms, status: st.split('\n').slice(0, 12).join(' | ') });
  const ipvs0 = ipvsDests();
  record('VIP on hks0 and the IPVS service with both real servers', vipPresent() && ipvs0 === JSON.stringify(['10.90.0.11:80/1', '10.90.0.12:80/1']), { ipvs: ipvs0, vip: vipPresent() });

  // --- 3. reload: no transition -------------------------------------------------------------------
  const pid1 = show().MainPID;
  let before = journal().length;
  const rl = run('systemctl', ['reload', 'hakeep']);
  // systemd 252 returns when kill has exited: wait for hakeep's own word, and for READY=1 again.
  const reloaded = await until('reloaded', () => journal().slice(before).some((l) => /Reload finished/.test(l)) && show().SubState === 'running', 20_000);
  await sleep(1500);
  const jr = journal().slice(before);
  record('systemctl reload: RELOADING then READY (systemd logs Reloading/Reloaded), same MainPID, no transition, IPVS unchanged, VIP kept', rl.code === 0 && reloaded.value !== null
    && jr.some((l) => /Reloaded hakeep/.test(l)) && transitions(jr).length === 0 && show().MainPID === pid1 && ipvsDests() === ipvs0 && vipPresent(),
  { ms: reloaded.ms, lines: jr.slice(-8), transitions: transitions(jr) });

  // --- 4. a stalled main thread: the watchdog restarts hakeep -------------------------------------
  const r0 = Number(show().NRestarts);
  before = journal().length;
  t = performance.now();
  writeFileSync(STALL_FILE, '');
  const wd = await until('watchdog restart', () => { const s = show(); return s.MainPID !== pid1 && s.MainPID !== '0' && s.ActiveState === 'active' && s.SubState === 'running' ? s : null; }, 40_000, 200);
  const wdMs = Math.round(performance.now() - t);
  const jw = journal().slice(before);
  record('main thread stalled (test hook) → "Watchdog timeout", killed (result watchdog) and restarted with a new MainPID', wd.value !== null
    && jw.some((l) => /Watchdog timeout/.test(l)) && jw.some((l) => /Failed with result 'watchdog'/.test(l)) && Number(show().NRestarts) === r0 + 1,
  { ms: wdMs, show: wd.value, lines: jw.filter((l) => /systemd\[1\]/.test(l)).slice(-10) });
  const m2 = await until('MASTER again', () => /^VI_1 MASTER/.test(show().StatusText ?? ''), 20_000);
  record('after the watchdog restart: MASTER again with the VIP, IPVS adopted (same destinations)', m2.value !== null && vipPresent() && ipvsDests() === ipvs0, { ms: m2.ms, ipvs: ipvsDests() });

  // --- 5. SIGKILL: restarted, VIPs and IPVS entries adopted ---------------------------------------
  const pid2 = show().MainPID;
  const r1 = Number(show().NRestarts);
  before = journal().length;
  const samples = new Set();
  let sampling = true;
  let n = 0;
  const sampler = (async () => { while (sampling) { samples.add(ipvsDests()); n += 1; await sleep(20); } })();
  process.kill(Number(pid2), 'SIGKILL');
  t = performance.now();
  const k = await until('restart after SIGKILL', () => { const s = show(); return s.MainPID !== pid2 && s.MainPID !== '0' && s.SubState === 'running' ? s : null; }, 30_000, 200);
  const m3 = await until('MASTER after SIGKILL', () => /^VI_1 MASTER, 2\/2/.test(show().StatusText ?? ''), 20_000);
  const killMs = Math.round(performance.now() - t);
  await sleep(500);
  sampling = false;
  await sampler;
  const jk = journal().slice(before);
  record('SIGKILL → restarted (Restart=on-failure), new MainPID, MASTER again with the VIP', k.value !== null && m3.value !== null && vipPresent() && Number(show().NRestarts) === r1 + 1,
    { ms: killMs, show: show(), lines: jk.filter((l) => /systemd\[1\]|cleanup/.test(l)).slice(-8) });
  record('SIGKILL → the IPVS entries were adopted: every /proc/net/ip_vs sample identical (none removed or re-added)', samples.size === 1 && samples.has(ipvs0), { samples: n, distinct: [...samples] });

  // --- 6. journal: the transition lines ------------------------------------------------------------
  const all = journal();
  record('journalctl -u hakeep shows the transition lines, each start and systemd\'s view', all.filter((l) => /\(VI_1\) Entering MASTER STATE/.test(l)).length >= 3
    && all.filter((l) => /Started hakeep/.test(l)).length >= 3, { masters: all.filter((l) => /Entering MASTER STATE/.test(l)) });
  // CAP_SYS_NICE in the unit: the advert pacer's thread gets SCHED_FIFO, in systemd's cgroup too.
  const pacer = all.filter((l) => /Advert pacer/.test(l));
  record('the advert pacer\'s thread runs real-time under the unit (journal, each start)', pacer.length >= 3 && pacer.every((l) => /real-time thread \(SCHED_FIFO 1\)/.test(l)), { pacer });

  // --- 7. stop: priority 0 on the wire, nothing left behind -----------------------------------------
  const pid3 = show().MainPID;
  t = performance.now();
  const stop = run('systemctl', ['stop', 'hakeep'], { timeout: 30_000 });
  const stopMs = Math.round(performance.now() - t);
  await sleep(700);
  cap.kill('SIGINT');
  await new Promise((r) => { cap.on('close', r); setTimeout(r, 3000); });
  const dump = run('tcpdump', ['-r', `${JOB}/vrrp.pcap`, '-n', '-v']).out;
  const prio0 = dump.split('\n').filter((l) => /vrid 51, prio 0\b/.test(l));
  const adverts = dump.split('\n').filter((l) => /VRRPv2, Advertisement, vrid 51/.test(l)).length;
  record('systemctl stop → a priority-0 advert on the wire (captured in the peer namespace)', stop.code === 0 && prio0.length >= 1, { stopMs, adverts, prio0: prio0.length, capErr: capErr.slice(-200) });
  const left = {
    state: show().ActiveState,
    processes: run('pgrep', ['-f', '/usr/lib/hakeep/']).out.trim(),
    vip: vipPresent(),
    ipvs: ipvsDests(),
    pidFile: existsSync('/run/hakeep.pid'),
    statusSocket: existsSync('/run/hakeep/status.sock'),
    oldPidAlive: existsSync(`/proc/${pid3}`),
  };
  record('after stop: inactive, no hakeep process, no VIP, no IPVS service, no pid file or status socket', left.state === 'inactive' && left.processes === '' && !left.vip
    && left.ipvs === 'null' && !left.pidFile && !left.statusSocket && !left.oldPidAlive, left);
  const js = journal();
  const stopLines = js.slice(-12);
  record('journal of the stop: hakeep\'s own stop lines and systemd\'s "Stopped"', stopLines.some((l) => /Stopped hakeep v/.test(l)) && stopLines.some((l) => /systemd\[1\]: Stopped hakeep/.test(l))
    && js.some((l) => /\(VI_1\) Entering MASTER STATE/.test(l)), { lines: stopLines });
  servers.kill();
}

let code = 0;
try {
  await main();
} catch (e) {
  record('the scenario ran to its end', false, String(e.stack ?? e));
  code = 1;
}
writeFileSync(`${JOB}/journal.txt`, run('journalctl', ['-o', 'short-monotonic', '--no-pager', '-q']).out);
log(`scenario done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
if (existsSync(`${JOB}/results.jsonl`)) {
  const bad = readFileSync(`${JOB}/results.jsonl`, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => !r.ok);
  if (bad.length) code = 1;
}
writeFileSync(`${JOB}/exit-code`, `${code}\n`);
// Off at once (reboot(2), no unit stops): the results are on the host already, and an orderly
// shutdown of this guest can hang on its hostfs/overlay mounts. The unit's SuccessAction/
// FailureAction (poweroff-force) is the fallback.
run('sync', []);
run('systemctl', ['poweroff', '--force', '--force']);
process.exit(code);
