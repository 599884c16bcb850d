// HTTP_GET, MISC_CHECK and PING_CHECK against real kernel IPVS, run inside a UML guest by
// test/uml/guest/checkers-scenario.sh. hakeep -C; HTTP real servers in namespace hkck
// (10.78.2.11-13). One server answers 500, then 200 again; another's page changes under its
// digest; a MISC_CHECK with misc_dynamic sets the weight; PING_CHECK sees a live and a dead
// address. Each assertion goes to $RESULT_DIR/results.jsonl (test/uml/checkers.test.ts).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { controlled, destsOf, log, readIpvs, record, sh, sleep, waitFor, RESULT_DIR } from './lib.mjs';

const REPO = process.env.REPO;
const HAKEEP = `${process.env.HAKEEP_ROOT || REPO}/bin/hakeep.js`;
const DIR = '/run/hkck';
const CONF = `${DIR}/checkers.conf`;
const NAT = 'TCP 10.78.9.100:80';
const PING = 'TCP 10.78.9.101:80';
const RS1 = '10.78.2.11:8080';
const RS2 = '10.78.2.12:8080';
const RS3 = '10.78.2.13:8080';
const md5 = (s) => createHash('md5').update(s).digest('hex');
/** HTTP_GET timing of rs1: a failure is retried once, 1 s later. */
const DELAY_LOOP = 1;
const RETRY = 1;
const DELAY_BEFORE_RETRY = 1;

function config() {
  return `global_defs {
  router_id hku-checkers
}
virtual_server 10.78.9.100 80 {
  delay_loop ${DELAY_LOOP}
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 10.78.2.11 8080 {
    weight 1
    HTTP_GET {
      connect_timeout 1
      retry ${RETRY}
      delay_before_retry ${DELAY_BEFORE_RETRY}
      url {
        path /health
        status_code 200
      }
    }
  }
  real_server 10.78.2.12 8080 {
    weight 2
    HTTP_GET {
      connect_timeout 1
      retry 0
      url {
        path /
        digest ${md5(`page of ${RS2}\n`)}
      }
    }
  }
  real_server 10.78.2.13 8080 {
    weight 1
    MISC_CHECK {
      misc_path "/bin/sh ${REPO}/test/uml/fixtures/misc-code.sh"
      misc_timeout 3
      misc_dynamic
    }
  }
}
virtual_server 10.78.9.101 80 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 10.78.2.11 8080 {
    PING_CHECK {
      connect_timeout 1
      retry 0
    }
  }
  real_server 10.78.2.19 8080 {
    PING_CHECK {
      connect_timeout 1
      retry 0
    }
  }
}
`;
}

const dests = (svc) => destsOf(readIpvs(), svc) ?? [];
const hakeepLog = () => readFileSync(`${RESULT_DIR}/hakeep.log`, 'utf8');

async function main() {
  mkdirSync(DIR, { recursive: true });
  writeFileSync(`${DIR}/misc-code`, '0\n');
  writeFileSync(CONF, config());
  const servers = controlled(['ip', 'netns', 'exec', 'hkck', 'node', `${REPO}/test/uml/guest/http-servers.mjs`], 'servers');
  let hakeep = null;
  try {
    for (const rs of [RS1, RS2, RS3]) log(await servers.ask(`open ${rs.replace(':', ' ')}`));
    const out = createWriteStream(`${RESULT_DIR}/hakeep.log`);
    hakeep = spawn('node', [HAKEEP, '-n', '-f', CONF, '-C', '--log-format', 'text', '-p', `${DIR}/hakeep.pid`, '--status-socket', `${DIR}/status.sock`], { stdio: ['ignore', 'pipe', 'pipe'] });
    hakeep.stdout.pipe(out);
    hakeep.stderr.pipe(out);
    const exited = new Promise((r) => hakeep.on('exit', (code, signal) => r({ code, signal })));

    const all = [`${RS1}/1`, `${RS2}/2`, `${RS3}/1`];
    const up = await waitFor(() => JSON.stringify(dests(NAT)) === JSON.stringify(all), 30_000, 100);
    // Servers start alive, before any check (as keepalived); until a checker's first check has run,
    // one failure takes its server down. The retry budget applies from the first success on, so
    // wait for each checker's first success before breaking anything.
    const firstChecks = ['Remote Web server [10.78.2.11]:tcp:8080 succeed on service.', 'Remote Web server [10.78.2.12]:tcp:8080 succeed on service.',
      'Misc check for [[10.78.2.13]:tcp:8080 VS [10.78.9.100]:tcp:80] by [/bin/sh] succeeded.'];
    const checked = await waitFor(() => firstChecks.every((l) => hakeepLog().includes(l)), 30_000, 100);
    record('start: HTTP_GET and MISC_CHECK servers in IPVS with their weights', up.value && checked.value, { dests: dests(NAT), ms: up.ms, firstChecksMs: up.ms + checked.ms, missing: firstChecks.filter((l) => !hakeepLog().includes(l)) });

    // rs1 answers 500: out within delay_loop + the retry budget (one retry, 1 s later).
    log(await servers.ask(`status ${RS1.replace(':', ' ')} 500`));
    let t = performance.now();
    const gone = await waitFor(() => !dests(NAT).includes(`${RS1}/1`), 15_000, 50);
    const removalMs = Math.round(performance.now() - t);
    const budgetMs = (DELAY_LOOP + RETRY * DELAY_BEFORE_RETRY) * 1000;
    // Slack for the guest: a check in flight, the IPVS batch, and UML's slow process starts.
    // Not before the retry either: two failures delay_before_retry apart (retry 1) take at least that long.
    const floorMs = RETRY * DELAY_BEFORE_RETRY * 1000 - 100;
    record('rs1 returns 500: removed within delay_loop + the retry budget', gone.value && removalMs <= budgetMs + 2000 && removalMs >= floorMs, { removalMs, budgetMs, floorMs, dests: dests(NAT) });
    record('rs1 returns 500: "HTTP_CHECK on service … failed after 1 retries." logged', hakeepLog().includes('HTTP_CHECK on service [10.78.2.11]:tcp:8080 failed after 1 retries.'), hakeepLog().split('\n').filter((l) => l.includes('10.78.2.11')).slice(-5));

    log(await servers.ask(`status ${RS1.replace(':', ' ')} 200`));
    t = performance.now();
    const back = await waitFor(() => dests(NAT).includes(`${RS1}/1`), 15_000, 50);
    const backMs = Math.round(performance.now() - t);
    // A failed server is checked every delay_loop (max(delay_loop, delay_before_retry)); one success brings it back.
    record('rs1 back to 200: re-added', back.value && backMs <= Math.max(DELAY_LOOP, DELAY_BEFORE_RETRY) * 1000 + 2000, { ms: backMs, dests: dests(NAT) });
    const l = hakeepLog();
    record('rs1 back: "HTTP status code success to … url(/health)" and "Remote Web server … succeed on service." logged',
      l.includes('HTTP status code success to [10.78.2.11]:tcp:8080 url(/health)') && l.includes('Remote Web server [10.78.2.11]:tcp:8080 succeed on service.'), l.split('\n').filter((x) => x.includes('10.78.2.11')).slice(-4));

    // rs2's page changes: its digest no longer matches.
    log(await servers.ask(`body ${RS2.replace(':', ' ')} a different page`));
    const dg = await waitFor(() => !dests(NAT).some((d) => d.startsWith(`${RS2}/`)), 10_000, 50);
    record('rs2 page changed: removed (MD5 digest)', dg.value, { ms: dg.ms, dests: dests(NAT) });
    log(await servers.ask(`body ${RS2.replace(':', ' ')} page of ${RS2}`));
    const dg2 = await waitFor(() => dests(NAT).includes(`${RS2}/2`), 10_000, 50);
    record('rs2 page restored: re-added with its weight', dg2.value, { ms: dg2.ms, dests: dests(NAT) });

    // MISC_CHECK with misc_dynamic: exit 12 = weight 10; exit 1 = down; exit 0 = the configured weight.
    writeFileSync(`${DIR}/misc-code`, '12\n');
    const w = await waitFor(() => dests(NAT).includes(`${RS3}/10`), 10_000, 50);
    record('misc_dynamic exit 12: IPVS weight 10', w.value && w.ms <= DELAY_LOOP * 1000 + 3000, { ms: w.ms, dests: dests(NAT), ipvsadm: sh('ipvsadm', ['-Ln', '-t', '10.78.9.100:80']) });
    record('misc_dynamic: "Changing weight from 1 to 10 …" logged', hakeepLog().includes('Changing weight from 1 to 10 for active service [10.78.2.13]:tcp:8080 of VS [10.78.9.100]:tcp:80'), hakeepLog().split('\n').filter((x) => x.includes('10.78.2.13')).slice(-3));
    writeFileSync(`${DIR}/misc-code`, '1\n');
    const w1 = await waitFor(() => !dests(NAT).some((d) => d.startsWith(`${RS3}/`)), 10_000, 50);
    record('misc_dynamic exit 1: removed', w1.value, { ms: w1.ms, dests: dests(NAT) });
    writeFileSync(`${DIR}/misc-code`, '0\n');
    const w0 = await waitFor(() => dests(NAT).includes(`${RS3}/1`), 10_000, 50);
    record('misc_dynamic exit 0: back with the configured weight', w0.value, { ms: w0.ms, dests: dests(NAT) });

    // PING_CHECK: a live address stays, one nobody answers for goes.
    const p = await waitFor(() => JSON.stringify(dests(PING)) === JSON.stringify(['10.78.2.11:8080/1']), 10_000, 100);
    record('PING_CHECK: the live address is in, the dead one is out', p.value, { dests: dests(PING) });

    hakeep.kill('SIGTERM');
    const ex = await Promise.race([exited, sleep(20_000).then(() => ({ code: 'timeout' }))]);
    record('SIGTERM: hakeep exits with status 0 and removes its services', ex.code === 0 && !readIpvs().has(NAT) && !readIpvs().has(PING), { exit: ex, left: [...readIpvs().keys()] });
    const errors = hakeepLog().split('\n').filter((x) => / (ERROR|FATAL) /.test(x));
    record('hakeep logged no errors', errors.length === 0, errors.slice(0, 10));
  } catch (e) {
    record('scenario ran without an exception', false, String(e?.stack ?? e));
  } finally {
    if (hakeep && hakeep.exitCode === null) hakeep.kill('SIGKILL');
    servers.stop();
  }
}

main().then(() => process.exit(0), (e) => { log(String(e?.stack ?? e)); process.exit(1); });
