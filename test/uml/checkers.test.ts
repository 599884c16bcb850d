// HTTP_GET, MISC_CHECK (misc_dynamic) and PING_CHECK against real kernel IPVS, in User Mode Linux:
// hakeep -C with HTTP real servers in a namespace. The guest runs
// test/uml/guest/checkers-scenario.sh and records each assertion; this file boots it once and
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
  'start: HTTP_GET and MISC_CHECK servers in IPVS with their weights',
  'rs1 returns 500: removed within delay_loop + the retry budget',
  'rs1 returns 500: "HTTP_CHECK on service … failed after 1 retries." logged',
  'rs1 back to 200: re-added',
  'rs1 back: "HTTP status code success to … url(/health)" and "Remote Web server … succeed on service." logged',
  'rs2 page changed: removed (MD5 digest)',
  'rs2 page restored: re-added with its weight',
  'misc_dynamic exit 12: IPVS weight 10',
  'misc_dynamic: "Changing weight from 1 to 10 …" logged',
  'misc_dynamic exit 1: removed',
  'misc_dynamic exit 0: back with the configured weight',
  'PING_CHECK: the live address is in, the dead one is out',
  'SIGTERM: hakeep exits with status 0 and removes its services',
  'hakeep logged no errors',
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
  const root = mkdtempSync(join(tmpdir(), 'hku-checkers-pkg-'));
  const r = spawnSync('npx', ['tsc', '-p', REPO, '--outDir', join(root, 'dist')], { cwd: REPO, encoding: 'utf8', timeout: 180_000 });
  if (!existsSync(join(root, 'dist/cli.js')) || !existsSync(join(root, 'dist/check/child.js'))) {
    throw new Error(`tsc did not compile hakeep: ${r.stdout}${r.stderr}`);
  }
  mkdirSync(join(root, 'bin'));
  copyFileSync(join(REPO, 'bin/hakeep.js'), join(root, 'bin/hakeep.js'));
  copyFileSync(join(REPO, 'package.json'), join(root, 'package.json'));
  symlinkSync(process.env.HAKEEP_NATIVE_DIR ?? join(REPO, 'native'), join(root, 'native'));
  symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
  return root;
}

describe('HTTP_GET, MISC_CHECK and PING_CHECK, real kernel IPVS (User Mode Linux)', () => {
  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('the UML test needs root (it installs user-mode-linux/ipvsadm with apt-get and creates /lib/modules)');
    pkg = compileHakeep();
    run = await runUmlGuest({ script: 'test/uml/guest/checkers-scenario.sh', timeoutSec: 240, mem: '768M', env: { HAKEEP_ROOT: pkg } });
    results = readResults(run.resultDir);
    // The timings, for the record (the assertions themselves are in the guest).
    for (const r of results) {
      const d = r.detail as { ms?: number; removalMs?: number; budgetMs?: number } | null;
      if (d && typeof d === 'object' && (d.ms !== undefined || d.removalMs !== undefined)) {
        console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name}: ${d.removalMs ?? d.ms} ms${d.budgetMs !== undefined ? ` (budget ${d.budgetMs} ms)` : ''}`);
      }
    }
  }, 360_000);

  afterAll(() => {
    if (pkg) rmSync(pkg, { recursive: true, force: true });
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
