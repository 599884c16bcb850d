// The IPVS acceptance scenario, run inside a UML guest by test/uml/guest/ipvs-scenario.sh.
// Director = the guest's root namespace (hakeep + kernel IPVS); real servers in namespace hkurs
// (10.77.1.11-13), a client in namespace hkucl (10.77.2.2). Each assertion goes to
// $RESULT_DIR/results.jsonl; test/uml/ipvs.test.ts checks them one by one on the host.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { controlled, destsOf, log, readIpvs, record, sh, sleep, waitFor, RESULT_DIR } from './lib.mjs';

const REPO = process.env.REPO;
const CONF = `${REPO}/test/uml/fixtures/ipvs.conf`;
const NAT = 'TCP 10.77.9.100:80';
const DR = 'TCP 10.77.9.101:80';
const FWM = 'FWM 7';
const HAND = 'TCP 10.77.9.200:80';
// delay_loop 1 + connect_timeout 1 + coalescing and one ipvsadm spawn (~0.1-0.2 s in the guest).
const CHANGE_MS = 6000;

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

async function expectDests(name, key, want, timeoutMs = CHANGE_MS) {
  const r = await waitFor(() => same(destsOf(readIpvs(), key), want), timeoutMs);
  record(name, r.value, { service: key, want, got: destsOf(readIpvs(), key), waitedMs: r.ms });
  return r.value;
}

function ipvsadmSave() {
  return sh('ipvsadm', ['-S', '-n']);
}

async function main() {
  const servers = controlled(['ip', 'netns', 'exec', 'hkurs', 'node', `${REPO}/test/uml/guest/servers.mjs`], 'servers');
  const client = controlled(['ip', 'netns', 'exec', 'hkucl', 'node', `${REPO}/test/uml/guest/client.mjs`], 'client');
  const open = (n) => servers.ask(`open 10.77.1.1${n} 8080 rs${n}`);
  const close = (n) => servers.ask(`close 10.77.1.1${n} 8080`);
  let hakeep = null;
  try {
    for (const n of [1, 2, 3]) log(await open(n));
    log(await servers.ask('open 10.77.1.11 9090 sorry'));

    // A service somebody added by hand: hakeep must never touch it.
    sh('ipvsadm', ['-R'], '-A -t 10.77.9.200:80 -s rr\n-a -t 10.77.9.200:80 -r 10.77.1.13:8080 -m -w 7\n');

    const out = createWriteStream(`${RESULT_DIR}/hakeep.log`);
    hakeep = spawn('node', [`${REPO}/bin/hakeep.js`, '-n', '-f', CONF, '-C', '--log-format', 'text', '-p', '/run/hku-hakeep.pid'], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HAKEEP_IPVS_RESYNC_MS: '2000' },
    });
    hakeep.stdout.pipe(out);
    hakeep.stderr.pipe(out);
    const exited = new Promise((resolve) => hakeep.on('exit', (code, signal) => resolve({ code, signal })));
    const t0 = performance.now();

    // 1. Every healthy server present with its weight.
    await expectDests('start: NAT service with all healthy servers and their weights', NAT,
      ['10.77.1.11:8080/3', '10.77.1.12:8080/2', '10.77.1.13:8080/1'], 30_000);
    log(`hakeep programmed IPVS ${Math.round(performance.now() - t0)} ms after spawn (node start included)`);
    await expectDests('start: DR service (destination port = service port)', DR, ['10.77.1.12:80/5', '10.77.1.13:80/4']);
    // A fwmark DR destination is programmed with port 0, as keepalived does (ipvswrapper.c:457-460).
    await expectDests('start: fwmark service', FWM, ['10.77.1.13:0/2']);
    const saved = ipvsadmSave();
    record('start: ipvsadm -S -n shows scheduler, forwarding and persistence as configured',
      saved.includes('-A -t 10.77.9.100:80 -s rr\n') && saved.includes('-A -t 10.77.9.101:80 -s wlc -p 60') &&
      saved.includes('-a -t 10.77.9.100:80 -r 10.77.1.11:8080 -m -w 3') && saved.includes('-a -t 10.77.9.101:80 -r 10.77.1.12:80 -g -w 5') &&
      saved.includes('-A -f 7 -s wrr'), saved);

    const all = JSON.parse(await client.ask('connect 10.77.9.100 80 12'));
    record('client: NAT virtual server reaches the real servers', Object.keys(all.answers).length === 3 && Object.keys(all.errors).length === 0, all);

    // 2. Stopping servers: removed, or weight 0 with inhibit_on_failure.
    log(await close(1));
    await expectDests('rs1 stopped: removed from the NAT service', NAT, ['10.77.1.12:8080/2', '10.77.1.13:8080/1']);
    log(await close(2));
    await expectDests('rs2 stopped: kept with weight 0 (inhibit_on_failure)', NAT, ['10.77.1.12:8080/0', '10.77.1.13:8080/1']);
    await expectDests('rs2 stopped: removed from the DR service', DR, ['10.77.1.13:80/4']);
    const some = JSON.parse(await client.ask('connect 10.77.9.100 80 12'));
    record('client: only the healthy real server answers, never a failed one',
      same(some.answers, { rs3: 12 }) && Object.keys(some.errors).length === 0, some);

    // 3. Restarted servers come back.
    log(await open(1));
    log(await open(2));
    await expectDests('rs1 and rs2 restarted: back with their weights', NAT, ['10.77.1.11:8080/3', '10.77.1.12:8080/2', '10.77.1.13:8080/1']);
    await expectDests('rs2 restarted: back in the DR service', DR, ['10.77.1.12:80/5', '10.77.1.13:80/4']);
    // Notify scripts run asynchronously (as in keepalived) and a process start costs ~90 ms in
    // the guest, so the up script may still be starting when the IPVS entry is back: wait for it.
    const readNotes = () => (existsSync('/run/hku-notify.log') ? readFileSync('/run/hku-notify.log', 'utf8') : '');
    await waitFor(() => readNotes() === 'down-rs1\nup-rs1\n', 5000);
    const notes = readNotes();
    record('notify_down and notify_up scripts ran for rs1', notes === 'down-rs1\nup-rs1\n', notes);

    // 4. All failed: the sorry server stands in.
    for (const n of [1, 2, 3]) log(await close(n));
    await expectDests('all failed: sorry server present (inhibited rs2 at weight 0)', NAT, ['10.77.1.11:9090/1', '10.77.1.12:8080/0']);
    const sorry = JSON.parse(await client.ask('connect 10.77.9.100 80 4'));
    record('client: the sorry server answers when all real servers failed', same(sorry.answers, { sorry: 4 }), sorry);
    await expectDests('all failed: DR service empty (no sorry server there)', DR, []);
    for (const n of [1, 2, 3]) log(await open(n));
    await expectDests('servers back: sorry server removed, pool restored', NAT, ['10.77.1.11:8080/3', '10.77.1.12:8080/2', '10.77.1.13:8080/1']);

    // 5. Hand-deleted entries come back at the next resync.
    sh('ipvsadm', ['-d', '-t', '10.77.9.100:80', '-r', '10.77.1.13:8080']);
    sh('ipvsadm', ['-D', '-t', '10.77.9.101:80']);
    const gone = destsOf(readIpvs(), NAT);
    await expectDests('entry deleted by hand is restored', NAT, ['10.77.1.11:8080/3', '10.77.1.12:8080/2', '10.77.1.13:8080/1'], 8000);
    await expectDests('service deleted by hand is restored', DR, ['10.77.1.12:80/5', '10.77.1.13:80/4'], 8000);
    log(`(after the manual delete the NAT service had ${JSON.stringify(gone)})`);
    record('the hand-made service is untouched while hakeep runs', same(destsOf(readIpvs(), HAND), ['10.77.1.13:8080/7']), destsOf(readIpvs(), HAND));

    // 6. SIGTERM: hakeep removes its services and nothing else.
    hakeep.kill('SIGTERM');
    const ex = await Promise.race([exited, sleep(20_000).then(() => ({ code: 'timeout' }))]);
    record('SIGTERM: hakeep exits with status 0', ex.code === 0, ex);
    hakeep = null;
    const table = readIpvs();
    record('SIGTERM: hakeep removed its services and left the hand-made one',
      [...table.keys()].join(',') === HAND && same(destsOf(table, HAND), ['10.77.1.13:8080/7']), ipvsadmSave());

    const text = readFileSync(`${RESULT_DIR}/hakeep.log`, 'utf8');
    const lines = [
      'TCP connection to [10.77.1.11]:tcp:8080 success.',
      'TCP_CHECK on service [10.77.1.11]:tcp:8080 failed.',
      'Removing service [10.77.1.11]:tcp:8080 from VS [10.77.9.100]:tcp:80',
      'Adding service [10.77.1.11]:tcp:8080 to VS [10.77.9.100]:tcp:80',
      'Disabling service [10.77.1.12]:tcp:8080 of VS [10.77.9.100]:tcp:80',
      'Enabling service [10.77.1.12]:tcp:8080 of VS [10.77.9.100]:tcp:80',
      'Lost quorum 1-0=1 > 0 for VS [10.77.9.100]:tcp:80',
      'Adding sorry server [10.77.1.11]:tcp:9090 to VS [10.77.9.100]:tcp:80',
      'Removing sorry server [10.77.1.11]:tcp:9090 from VS [10.77.9.100]:tcp:80',
      'Shutting down service [10.77.1.13]:tcp:8080 from VS [10.77.9.100]:tcp:80',
    ];
    const missing = lines.filter((l) => !text.includes(l));
    record('hakeep log has keepalived-worded checker lines', missing.length === 0, missing.length ? { missing } : 'all present');
    const errors = text.split('\n').filter((l) => / (ERROR|FATAL) /.test(l));
    record('hakeep logged no errors', errors.length === 0, errors.length ? errors.slice(0, 5) : 'none');
  } finally {
    if (hakeep) hakeep.kill('SIGKILL');
    servers.stop();
    client.stop();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    record('scenario ran to the end', false, String(e?.stack ?? e));
    process.exit(1);
  },
);
