// Real kernel IPVS, in User Mode Linux: hakeep (-C) against real TCP servers in namespaces.
// The guest runs test/uml/guest/ipvs-scenario.sh and records each assertion; this file boots it
// once and checks every recorded assertion, showing the guest's log when one fails.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, guestOutput, readResults, runUmlGuest } from './uml-runner.js';
import type { GuestResult, UmlRun } from './uml-runner.js';

const EXPECTED = [
  'start: NAT service with all healthy servers and their weights',
  'start: DR service (destination port = service port)',
  'start: fwmark service',
  'start: ipvsadm -S -n shows scheduler, forwarding and persistence as configured',
  'client: NAT virtual server reaches the real servers',
  'rs1 stopped: removed from the NAT service',
  'rs2 stopped: kept with weight 0 (inhibit_on_failure)',
  'rs2 stopped: removed from the DR service',
  'client: only the healthy real server answers, never a failed one',
  'rs1 and rs2 restarted: back with their weights',
  'rs2 restarted: back in the DR service',
  'notify_down and notify_up scripts ran for rs1',
  'all failed: sorry server present (inhibited rs2 at weight 0)',
  'client: the sorry server answers when all real servers failed',
  'all failed: DR service empty (no sorry server there)',
  'servers back: sorry server removed, pool restored',
  'entry deleted by hand is restored',
  'service deleted by hand is restored',
  'the hand-made service is untouched while hakeep runs',
  'SIGTERM: hakeep exits with status 0',
  'SIGTERM: hakeep removed its services and left the hand-made one',
  'hakeep log has keepalived-worded checker lines',
  'hakeep logged no errors',
];

let run: UmlRun;
let results: GuestResult[] = [];

function logs(): string {
  const hk = join(run.resultDir, 'hakeep.log');
  return `--- guest output (${run.resultDir}) ---\n${guestOutput(run)}\n--- hakeep.log ---\n${existsSync(hk) ? readFileSync(hk, 'utf8').split('\n').slice(-80).join('\n') : '(none)'}`;
}

describe('IPVS in a real kernel (User Mode Linux)', () => {
  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('the UML IPVS test needs root (it installs user-mode-linux/ipvsadm with apt-get and creates /lib/modules)');
    if (!existsSync(join(REPO, 'dist/cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first (npm test does)');
    run = await runUmlGuest({ script: 'test/uml/guest/ipvs-scenario.sh', timeoutSec: 200, mem: '768M' });
    results = readResults(run.resultDir);
  }, 300_000);

  afterAll(() => {
    // Keep the guest's files for a look when anything failed; otherwise leave nothing behind.
    if (run && run.exitCode === 0 && results.length === EXPECTED.length && results.every((r) => r.ok)) {
      rmSync(run.resultDir, { recursive: true, force: true });
    }
  });

  it('the guest booted, ran the scenario to the end and exited 0', () => {
    expect(run.exitCode, `uml-run exit code ${run.exitCode}\n${logs()}`).toBe(0);
  });

  for (const name of EXPECTED) {
    it(name, () => {
      const r = results.find((x) => x.name === name);
      expect(r, `the guest never reached "${name}"\n${logs()}`).toBeDefined();
      expect(r!.ok, `${name}\nseen: ${JSON.stringify(r!.detail, null, 2)}\n${logs()}`).toBe(true);
    });
  }

  it('recorded no assertion this file does not know about', () => {
    expect(results.map((r) => r.name).filter((n) => !EXPECTED.includes(n))).toEqual([]);
  });
});
