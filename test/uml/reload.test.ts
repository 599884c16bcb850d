// Real kernel IPVS, in User Mode Linux: the checker side's hitless reload (issue 11). The guest
// (test/uml/guest/reload-scenario.sh/.mjs) runs one hakeep -C over two NAT virtual servers, asks it
// for its plan before each SIGHUP, and records every line hakeep writes to ipvsadm (a wrapper):
// an unchanged reload sends nothing and leaves /proc/net/ip_vs identical; a real server added is
// one -a, removed one -d; changed checkers keep their servers' health (no remove, no re-add); a
// virtual server removed is one -D; the plan equals what the reload then logs and sends.
// About 35 s (the guest's boot, one daemon, five reloads and a plan; 32 s measured).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe } from 'vitest';
import { REPO, readResults, runUmlGuest } from './uml-runner.js';
import { guestLogs, scenarioAssertions } from './scenario-assertions.js';
import type { GuestResult, UmlRun } from './uml-runner.js';

const EXPECTED = [
  'setup: two virtual servers, four real servers checked and alive, in IPVS',
  'unchanged reload: /proc/net/ip_vs identical in every sample, 0 ipvsadm commands',
  'unchanged reload: the plan says nothing changes, and the reload logged the same lines',
  'a real server added: exactly one -a; the plan equals the reload and its commands',
  'a real server removed: exactly one -d; the plan equals the reload and its commands',
  'changed checkers: no command and /proc identical (the dead server not re-added, the healthy one not removed), health kept, only those checkers restarted',
  'the restarted checker brings the dead server back when it answers (one -a)',
  'hakeep status --json matches /proc/net/ip_vs (services, the real servers it calls alive, their weights) after start and after three reloads',
  'a virtual server removed: exactly one -D, the plan equals the reload and its commands',
  'hakeep plan -f FILE prints the daemon\'s plan (exit 0) and changes nothing',
  'no unexpected error lines in the daemon\'s log',
];

/** The hakeep under test: HAKEEP_ROOT (a build of one's own) or the checkout (needs dist/). */
const ROOT = process.env.HAKEEP_ROOT || REPO;

let run: UmlRun;
let results: GuestResult[] = [];

function logs(): string {
  return guestLogs(run);
}

describe('checker side reload against real kernel IPVS (User Mode Linux)', () => {
  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('the UML test needs root (it installs user-mode-linux/ipvsadm with apt-get and creates /lib/modules)');
    if (!existsSync(join(ROOT, 'dist/cli.js'))) throw new Error(`${ROOT}/dist/cli.js is missing: run \`npm run build\` first (npm test does), or point HAKEEP_ROOT at a build`);
    run = await runUmlGuest({ script: 'test/uml/guest/reload-scenario.sh', timeoutSec: 300, mem: '1G', env: ROOT !== REPO ? { HAKEEP_ROOT: ROOT } : {} });
    results = readResults(run.resultDir);
  }, 360_000);

  scenarioAssertions(() => ({ run, results }), EXPECTED, logs);
});
