// The checker side as a supervised child process, against real kernel IPVS, run inside a UML guest
// by test/uml/guest/checker-child-scenario.sh. hakeep runs both halves: a VRRP instance fronting
// one NAT virtual server, real servers in namespace hkcrs (10.78.1.11-12). The checker child's
// test hook hangs the first child's event loop; later the test SIGKILLs the second child while a
// real server is down, and finally SIGKILLs the daemon. Each assertion goes to
// $RESULT_DIR/results.jsonl; test/uml/checker-child.test.ts checks them one by one on the host.
import { spawn } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { controlled, destsOf, log, readIpvs, record, sleep, waitFor, RESULT_DIR } from './lib.mjs';

const REPO = process.env.REPO;
/** The hakeep to run: a copy compiled by the host-side test, else the checkout (needs its dist/). */
const HAKEEP = `${process.env.HAKEEP_ROOT || REPO}/bin/hakeep.js`;
const CONF = `${REPO}/test/uml/fixtures/checker-child.conf`;
const SOCK = '/run/hkc/status.sock';
const NAT = 'TCP 10.78.9.100:80';
const RS1 = '10.78.1.11:8080';
const RS2 = '10.78.1.12:8080';
/** The supervisor's heartbeat deadline (src/check/service.ts) and its watchdog tick. */
const DEADLINE_MS = 5000;
const TICK_MS = 1000;
/** The test hook hangs the first child this long after its first IPVS sync. */
const HANG_AFTER_MS = 3000;

/** The daemon's status document, or null when it does not answer. */
function status() {
  return new Promise((resolve) => {
    const c = createConnection(SOCK);
    let data = '';
    const t = setTimeout(() => { c.destroy(); resolve(null); }, 3000);
    c.on('connect', () => c.write('status\n'));
    c.on('data', (d) => { data += d; });
    c.on('end', () => { clearTimeout(t); try { resolve(JSON.parse(data)); } catch { resolve(null); } });
    c.on('error', () => { clearTimeout(t); resolve(null); });
  });
}

function alive(pid) {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Checker children alive anywhere in the guest. */
function checkerChildren() {
  const out = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('check/child.js') && alive(Number(p))) out.push(Number(p));
    } catch { /* gone */ }
  }
  return out;
}

async function main() {
  const servers = controlled(['ip', 'netns', 'exec', 'hkcrs', 'node', `${REPO}/test/uml/guest/servers.mjs`], 'servers');
  let hakeep = null;
  let polling = true;
  try {
    log(await servers.ask('open 10.78.1.11 8080 rs1'));
    log(await servers.ask('open 10.78.1.12 8080 rs2'));

    const out = createWriteStream(`${RESULT_DIR}/hakeep.log`);
    hakeep = spawn('node', [HAKEEP, '-n', '-f', CONF, '--log-format', 'text', '-p', '/run/hkc/hakeep.pid', '--status-socket', SOCK], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HAKEEP_TEST_CHECKER_FAULT: 'hang', HAKEEP_TEST_CHECKER_FAULT_TIMES: '1', HAKEEP_TEST_CHECKER_FAULT_AFTER_MS: String(HANG_AFTER_MS) },
    });
    hakeep.stdout.pipe(out);
    hakeep.stderr.pipe(out);
    const daemonPid = hakeep.pid;

    // The timeline: checker health and the VRRP instance, polled every 100 ms over the socket.
    const timeline = [];
    let cur = null;
    const t0 = performance.now();
    const poller = (async () => {
      while (polling) {
        const s = await status();
        if (s) {
          cur = s;
          const h = s.services?.check?.health ?? null;
          const vi = s.services?.vrrp?.instances?.[0] ?? null;
          const entry = { ok: h?.ok ?? null, detail: h?.detail ?? null, gen: s.services?.check?.child?.generation ?? null, vrrp: vi?.state ?? null };
          const prev = timeline.at(-1);
          if (!prev || prev.ok !== entry.ok || prev.detail !== entry.detail || prev.gen !== entry.gen || prev.vrrp !== entry.vrrp) {
            timeline.push({ ms: Math.round(performance.now() - t0), ...entry });
          }
        }
        await sleep(100);
      }
    })();
    const check = () => cur?.services?.check ?? null;
    const vrrp = () => cur?.services?.vrrp?.instances?.[0] ?? null;
    const at = (pred) => timeline.find(pred)?.ms ?? null;

    // 1. Start: IPVS programmed, VRRP MASTER with its VIP (it waited for the table).
    let r = await waitFor(() => check()?.health?.ok && vrrp()?.state === 'MASTER' && vrrp()?.vipsPresent?.length === 1 &&
      JSON.stringify(destsOf(readIpvs(), NAT)) === JSON.stringify([`${RS1}/1`, `${RS2}/1`]), 60_000);
    record('start: IPVS programmed, then the VRRP instance MASTER with its VIP', r.value, { timeline, ipvs: destsOf(readIpvs(), NAT) });
    const okAt = at((e) => e.ok === true);
    const gen1 = check()?.child?.pid;

    // 2. The first child's loop hangs (test hook): silent past the deadline → killed, replaced.
    r = await waitFor(() => check()?.health?.ok === false, HANG_AFTER_MS + DEADLINE_MS + 2 * TICK_MS + 5000);
    const silentAt = at((e) => e.ok === false && e.ms > okAt);
    const silentMs = silentAt === null ? null : silentAt - okAt - HANG_AFTER_MS;
    // The 'silent' state lasts only until the kill lands; the 100 ms poll may see 'restarting' first.
    const firstDown = timeline.find((e) => e.ok === false && e.ms > okAt)?.detail;
    record('hang hook: health not ok within the heartbeat deadline', r.value && silentMs !== null && silentMs <= DEADLINE_MS + TICK_MS + 700 &&
      (firstDown === 'checker silent for more than 5 s (no heartbeat); restarting it' || firstDown === 'checker restarting after it died (no heartbeat for 5 s, killed)'),
    { silentMsAfterHang: silentMs, timeline });
    r = await waitFor(() => check()?.health?.ok && check()?.child?.generation === 2, 30_000);
    record('hang hook: the hung child was killed and a new one synced IPVS', r.value && gen1 !== undefined && !alive(gen1),
      { recoveredMsAfterSilent: r.ms, gen1, gen1Alive: gen1 ? alive(gen1) : null, child: check()?.child });
    r = await waitFor(() => vrrp()?.state === 'MASTER' && vrrp()?.vipsPresent?.length === 1, 10_000);
    record('hang hook: the daemon kept running and its VRRP instance is MASTER with the VIP again', r.value && alive(daemonPid), { vrrp: vrrp()?.state, timeline });

    // 3. A real server goes down; then the checker child is SIGKILLed.
    log(await servers.ask('close 10.78.1.12 8080'));
    r = await waitFor(() => JSON.stringify(destsOf(readIpvs(), NAT)) === JSON.stringify([`${RS1}/1`]), 8000);
    record('rs2 stopped: removed from the service', r.value, destsOf(readIpvs(), NAT));
    let seenRs2 = 0;
    let samples = 0;
    const monitor = setInterval(() => {
      samples++;
      if ((destsOf(readIpvs(), NAT) ?? []).some((d) => d.startsWith(RS2))) seenRs2++;
    }, 10);
    const gen2 = check()?.child?.pid;
    const advertsBefore = vrrp()?.counters?.advertsSent ?? 0;
    const killedAt = performance.now();
    const logBefore = readFileSync(`${RESULT_DIR}/hakeep.log`, 'utf8').length;
    process.kill(gen2, 'SIGKILL');
    r = await waitFor(() => check()?.health?.ok && check()?.child?.generation === 3, 30_000);
    const recovered = r.value;
    const recoveredMs = Math.round(performance.now() - killedAt);
    await sleep(3000); // a few check rounds of the new child
    clearInterval(monitor);
    record('SIGKILL of the checker child: a new child synced IPVS', recovered && !alive(gen2), { recoveredMs, child: check()?.child });
    record('SIGKILL: the dead real server was never re-added to IPVS', seenRs2 === 0 && samples > 100, { seenRs2, samples, ipvs: destsOf(readIpvs(), NAT) });
    const rs2 = check()?.virtualServers?.[0]?.realServers?.find((x) => x.rs === '[10.78.1.12]:tcp:8080');
    const text = readFileSync(`${RESULT_DIR}/hakeep.log`, 'utf8');
    const since = text.slice(logBefore);
    const resumed = /Checker child 3 \(pid \d+\): TCP checks use the native probe; starting from the last known health of 2 real server\(s\)/.test(since);
    const rs2Lines = since.split('\n').filter((l) => l.includes('10.78.1.12'));
    // Dead before, dead now: no up/down line about rs2 (no "success", no "Adding", no "Removing").
    record('SIGKILL: the new child started from the last known health', rs2?.alive === false && resumed &&
      !rs2Lines.some((l) => /success|Adding|Removing/.test(l)), { rs2, resumed, rs2Lines });
    r = await waitFor(() => vrrp()?.state === 'MASTER' && vrrp()?.vipsPresent?.length === 1 && (vrrp()?.counters?.advertsSent ?? 0) > advertsBefore + 2, 10_000);
    record('SIGKILL: the daemon (VRRP side) kept running: MASTER with its VIP, adverts going out', r.value && alive(daemonPid),
      { vrrp: vrrp()?.state, advertsBefore, advertsNow: vrrp()?.counters?.advertsSent, timeline });

    // 4. The daemon is SIGKILLed: its checker child does not outlive it.
    const gen3 = check()?.child?.pid;
    polling = false;
    await poller;
    hakeep.kill('SIGKILL');
    r = await waitFor(() => !alive(gen3) && checkerChildren().length === 0, 3000, 10);
    record('daemon SIGKILLed: its checker child exits at once (no orphan)', r.value, { waitedMs: r.ms, left: checkerChildren() });
    hakeep = null;

    const lines = [
      /Checker child 1 \(pid \d+\) sent no heartbeat for [\d.]+ s: its event loop is stuck; killing it/,
      /Checker child 1 \(pid \d+\) died: no heartbeat for 5 s, killed; restarting it in 1 s from the last known health/,
      /Checker child 2 \(pid \d+\) died: killed by SIGKILL; restarting it in \d s from the last known health/,
    ];
    const missing = lines.filter((re) => !re.test(text)).map(String);
    record('hakeep log names each death and restart', missing.length === 0, missing.length ? { missing } : 'all present');
  } finally {
    polling = false;
    if (hakeep) hakeep.kill('SIGKILL');
    servers.stop();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    record('scenario ran to the end', false, String(e?.stack ?? e));
    process.exit(1);
  },
);
