// Real kernel IPVS, in User Mode Linux: two LVS-DR directors running hakeep with both halves (each
// in its own network namespace, so each has its own IPVS table), two real servers and a client on
// one bridge. The guest (test/uml/guest/directors-scenario.sh) boots without IPVS and runs:
//   A. IPVS absent at start: the director running both halves stays in FAULT (source `checker`) and
//      its peer (`hakeep -P`) is MASTER; once ip_vs is loaded it programs IPVS and preempts.
//   B. VIP never before the pool: a client fetching VIP:80 every 20 ms from before the directors
//      start, through the election, a SIGTERM failover, a restart and the stops: not one
//      connection refused; /proc sampled every 20 ms never shows a director holding the VIP
//      without its IPVS pool; the master's log shows the checker gate before MASTER.
// This file boots the guest once and checks every recorded assertion, showing the guest's log and
// the daemons' logs when one fails. About 80 s in the guest on an idle host (2.5 min measured while
// another UML guest shared the host's two cores).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe } from 'vitest';
import { REPO, readResults, runUmlGuest } from './uml-runner.js';
import { guestLogs, scenarioAssertions } from './scenario-assertions.js';
import type { GuestResult, UmlRun } from './uml-runner.js';

const EXPECTED = [
  'IPVS absent at start: ip_vs not loaded and cannot be loaded',
  'IPVS absent: d1 (both halves) is in FAULT, fault source checker, and never took the VIP',
  'IPVS absent: d2 (hakeep -P, VRRP only) is MASTER with the VIP',
  'control: a VIP without an IPVS service (d2, -P) refuses connections, and the client counts them',
  'IPVS loaded: d1 programs its IPVS table (both real servers)',
  'IPVS loaded: d1 leaves FAULT, preempts and becomes MASTER; the VIP moves from d2 to d1',
  'IPVS loaded: the client reaches both real servers through the VIP on d1 (LVS-DR)',
  'IPVS absent scenario: both daemons exit 0 on SIGTERM; d1 removed its IPVS service and nobody holds the VIP',
  'failover: SIGTERM of the master d1 → d2 MASTER with the VIP',
  'restart: d1 comes back and preempts (MASTER with the VIP, d2 BACKUP)',
  'client: not one connection refused from before the directors start, through the election, a failover and a restart',
  'client: not one connection refused while the directors stop (backup, then master)',
  'client: requests succeed once a director is MASTER (none before, the first within 2 s, all while d1 is master)',
  'failover: requests succeed again through d2 (none fail from 1.5 s after the takeover)',
  'restart: requests keep succeeding after d1 preempts (none fail from 1.5 s after)',
  '/proc sampled every 20 ms: no director running both halves ever held the VIP without its IPVS pool',
  'master logs: "Entering FAULT STATE (init)", then "checker side ready", then "Entering MASTER STATE"',
  'SIGTERM: every director exits 0',
  'no unexpected error lines in the daemons\' logs',
];

let run: UmlRun;
let results: GuestResult[] = [];

function logs(): string {
  return guestLogs(run, 30);
}

describe('two LVS-DR directors with both halves, real kernel IPVS (User Mode Linux)', () => {
  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('the UML test needs root (it installs user-mode-linux/ipvsadm with apt-get and creates /lib/modules)');
    if (!existsSync(join(REPO, 'dist/cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first (npm test does)');
    // Booted without ip_vs: the guest loads it halfway through (scenario A).
    run = await runUmlGuest({ script: 'test/uml/guest/directors-scenario.sh', timeoutSec: 480, mem: '1G', modules: 'veth bridge dummy' });
    results = readResults(run.resultDir);
  }, 540_000);

  scenarioAssertions(() => ({ run, results }), EXPECTED, logs);
});
