// lvs_sync_daemon against the real kernel, in User Mode Linux: two LVS-DR directors running hakeep
// with both halves, a client holding a long-lived TCP connection through the VIP. SIGTERM on the
// master: with lvs_sync_daemon the backup's sync daemon had the connection entry and the new master
// keeps forwarding it (it survives); the same run without it breaks (reset). The guest scenario is
// test/uml/guest/sync-daemon-scenario.{sh,mjs}; this file boots it once and checks each recorded
// assertion, showing the guest's and the daemons' logs when one fails. hakeep runs from
// $HAKEEP_ROOT when set (a build elsewhere), else from this checkout's dist/.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe } from 'vitest';
import { REPO, readResults, runUmlGuest } from './uml-runner.js';
import { guestLogs, scenarioAssertions } from './scenario-assertions.js';
import type { GuestResult, UmlRun } from './uml-runner.js';

const EXPECTED = [
  'sync: d1 (MASTER) runs the master sync daemon, d2 (BACKUP) the backup one, syncid = virtual_router_id 61',
  'sync: the backup director holds the client\'s connection entry before the failover (synced from the master)',
  'sync: SIGTERM on the master → the connection survives on the new master (same real server, answers go on)',
  'sync: the new master d2 switched to the master sync daemon',
  'with lvs_sync_daemon: both directors exit 0 on SIGTERM and no sync daemon is left running',
  'no sync: neither director runs a sync daemon',
  'no sync: the backup director has no entry for the client\'s connection',
  'no sync: SIGTERM on the master → the connection breaks on the new master (reset)',
  'without lvs_sync_daemon: both directors exit 0 on SIGTERM and no sync daemon is left running',
  'no sync daemon command failed and no error lines in the daemons\' logs',
];

let run: UmlRun;
let results: GuestResult[] = [];
const ROOT = process.env.HAKEEP_ROOT || REPO;

function logs(): string {
  return guestLogs(run, 30);
}

describe('lvs_sync_daemon: a connection survives a director failover (real kernel IPVS, User Mode Linux)', () => {
  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('the UML test needs root (it installs user-mode-linux/ipvsadm with apt-get and creates /lib/modules)');
    if (!existsSync(join(ROOT, 'dist/cli.js'))) throw new Error(`${ROOT}/dist/cli.js is missing: run \`npm run build\` first (npm test does), or set HAKEEP_ROOT`);
    run = await runUmlGuest({
      script: 'test/uml/guest/sync-daemon-scenario.sh', timeoutSec: 420, mem: '1G',
      modules: 'ip_vs ip_vs_rr veth bridge dummy', env: { HAKEEP_ROOT: ROOT },
    });
    results = readResults(run.resultDir);
  }, 480_000);

  scenarioAssertions(() => ({ run, results }), EXPECTED, logs);
});
