// Real kernel IPVS, in User Mode Linux: hakeep with both halves, its checker side a supervised
// child process that is hung (test hook) and SIGKILLed while a real server is down. The guest runs
// test/uml/guest/checker-child-scenario.sh and records each assertion; this file boots it once and
// checks every recorded assertion, showing the guest's log when one fails.
//
// hakeep runs from a copy compiled here into a temporary package directory (bin/, dist/, and
// symlinks to the checkout's native/ and node_modules/): the repository's dist/ belongs to other work.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, guestOutput, readResults, runUmlGuest } from './uml-runner.js';
import type { GuestResult, UmlRun } from './uml-runner.js';

const EXPECTED = [
  'start: IPVS programmed, then the VRRP instance MASTER with its VIP',
  'hang hook: health not ok within the heartbeat deadline',
  'hang hook: the hung child was killed and a new one synced IPVS',
  'hang hook: the daemon kept running and its VRRP instance is MASTER with the VIP again',
  'rs2 stopped: removed from the service',
  'SIGKILL of the checker child: a new child synced IPVS',
  'SIGKILL: the dead real server was never re-added to IPVS',
  'SIGKILL: the new child started from the last known health',
  'SIGKILL: the daemon (VRRP side) kept running: MASTER with its VIP, adverts going out',
  'daemon SIGKILLed: its checker child exits at once (no orphan)',
  'hakeep log names each death and restart',
];

let run: UmlRun;
let results: GuestResult[] = [];
let pkg = '';

function logs(): string {
  const hk = join(run.resultDir, 'hakeep.log');
  return `--- guest output (${run.resultDir}) ---\n${guestOutput(run)}\n--- hakeep.log ---\n${existsSync(hk) ? readFileSync(hk, 'utf8').split('\n').slice(-80).join('\n') : '(none)'}`;
}

/** hakeep compiled into a package-like directory the guest can run (it sees the host's /). */
function compileHakeep(): string {
  const root = mkdtempSync(join(tmpdir(), 'hku-child-pkg-'));
  const r = spawnSync('npx', ['tsc', '-p', REPO, '--outDir', join(root, 'dist')], { cwd: REPO, encoding: 'utf8', timeout: 180_000 });
  if (!existsSync(join(root, 'dist/cli.js')) || !existsSync(join(root, 'dist/check/child.js'))) {
    throw new Error(`tsc did not compile hakeep: ${r.stdout}${r.stderr}`);
  }
  mkdirSync(join(root, 'bin'));
  copyFileSync(join(REPO, 'bin/hakeep.js'), join(root, 'bin/hakeep.js'));
  copyFileSync(join(REPO, 'package.json'), join(root, 'package.json'));
  symlinkSync(join(REPO, 'native'), join(root, 'native'));
  symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
  return root;
}

describe('checker child under faults, real kernel IPVS (User Mode Linux)', () => {
  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('the UML test needs root (it installs user-mode-linux/ipvsadm with apt-get and creates /lib/modules)');
    pkg = compileHakeep();
    run = await runUmlGuest({ script: 'test/uml/guest/checker-child-scenario.sh', timeoutSec: 240, mem: '768M', env: { HAKEEP_ROOT: pkg } });
    results = readResults(run.resultDir);
  }, 360_000);

  afterAll(() => {
    if (pkg) rmSync(pkg, { recursive: true, force: true });
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
