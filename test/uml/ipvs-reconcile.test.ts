// Real kernel IPVS, in User Mode Linux: hakeep's reconciler on the real ipvsadm. The guest
// (test/uml/guest/ipvs-reconcile.sh) captures every form `ipvsadm -S -n` prints, then drives the
// reconciler compiled from src/ipvs: ten good services next to one ipvsadm refuses (an option error
// that ends ipvsadm, and a kernel error), the owned record across a restart, a restart over 1,000
// destinations with dont_release_ipvs, and the convergence property for a few hundred random steps.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, guestOutput, readResults, runUmlGuest } from './uml-runner.js';
import type { GuestResult, UmlRun } from './uml-runner.js';

const EXPECTED = [
  'option error: the ten good services converge',
  "option error: the refused service is reported by name, command and ipvsadm's message",
  'option error: other changes still apply, the bad one is retried with backoff and logged once',
  'option error: stop removes the ten',
  'kernel error: the ten good services converge',
  "kernel error: the refused service is reported by name, command and ipvsadm's message",
  'kernel error: other changes still apply, the bad one is retried with backoff and logged once',
  'kernel error: stop removes the ten',
  'owned: stop with dont_release_ipvs leaves the table as it is',
  'owned: the record lists the services hakeep created',
  'owned: after restart, the service removed from the config is gone, with one -D and nothing else',
  'owned: the hand-made service survives',
  'owned: a normal stop removes the configured service, the hand-made one stays, the record is empty',
  'adoption: 1,000 destinations in the table before the restart',
  'adoption: the new reconciler sends no -D/-A/-d/-a (no command at all)',
  'adoption: /proc/net/ip_vs identical before and after',
];
const PROPERTY = 'property: the reconciler converges on the real ipvsadm, step after step';

let run: UmlRun;
let results: GuestResult[] = [];
let js = '';

function logs(): string {
  return `--- guest output (${run.resultDir}) ---\n${guestOutput(run, 200)}`;
}

describe('the IPVS reconciler on the real ipvsadm and kernel (User Mode Linux)', () => {
  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('the UML IPVS test needs root (it installs user-mode-linux/ipvsadm with apt-get and creates /lib/modules)');
    // The guest runs src/ipvs compiled on its own, so this test does not depend on dist/.
    js = mkdtempSync(join(tmpdir(), 'hku-ipvs-js-'));
    execFileSync(join(REPO, 'node_modules/.bin/tsc'), [
      '--ignoreConfig', '--outDir', js, '--rootDir', join(REPO, 'src'), '--module', 'NodeNext', '--moduleResolution', 'NodeNext',
      '--target', 'ES2022', '--strict', '--skipLibCheck', '--types', 'node',
      ...['reconciler', 'ipvsadm-session', 'owned', 'ipvsadm-parse', 'diff', 'model'].map((m) => join(REPO, `src/ipvs/${m}.ts`)),
    ], { cwd: REPO, stdio: 'pipe' });
    writeFileSync(join(js, 'package.json'), '{"type":"module"}\n');
    run = await runUmlGuest({ script: 'test/uml/guest/ipvs-reconcile.sh', timeoutSec: 480, mem: '1G', env: { HK_IPVS_JS: js } });
    results = readResults(run.resultDir);
  }, 560_000);

  afterAll(() => {
    if (js) rmSync(js, { recursive: true, force: true });
    if (run && run.exitCode === 0 && results.every((r) => r.ok) && results.length === EXPECTED.length + 1) {
      rmSync(run.resultDir, { recursive: true, force: true });
    }
  });

  it('the guest booted, ran the scenario to the end and exited 0', () => {
    expect(run.exitCode, `uml-run exit code ${run.exitCode}\n${logs()}`).toBe(0);
    const metrics = join(run.resultDir, 'metrics.json');
    if (existsSync(metrics)) console.log(`IPVS reconciler in UML: ${readFileSync(metrics, 'utf8')}`);
  });

  it('ipvsadm -S -n prints exactly the fixture the unit tests read (test/uml/fixtures/ipvsadm-1.31-save.txt)', () => {
    const captured = join(run.resultDir, 'ipvsadm-forms.txt');
    expect(existsSync(captured), `no capture\n${logs()}`).toBe(true);
    expect(readFileSync(captured, 'utf8')).toBe(readFileSync(join(REPO, 'test/uml/fixtures/ipvsadm-1.31-save.txt'), 'utf8'));
  });

  for (const name of EXPECTED) {
    it(name, () => {
      const r = results.find((x) => x.name === name);
      expect(r, `the guest never reached "${name}"\n${logs()}`).toBeDefined();
      expect(r!.ok, `${name}\nseen: ${JSON.stringify(r!.detail, null, 2)}\n${logs()}`).toBe(true);
    });
  }

  it(`${PROPERTY} (a few hundred random tables, some with a refused service)`, () => {
    const r = results.find((x) => x.name.startsWith(PROPERTY));
    expect(r, `the guest never reached the property\n${logs()}`).toBeDefined();
    expect(r!.ok, `${r!.name}\nseen: ${JSON.stringify(r!.detail, null, 2)}\n${logs()}`).toBe(true);
  });

  it('recorded no assertion this file does not know about', () => {
    expect(results.map((r) => r.name).filter((n) => !EXPECTED.includes(n) && !n.startsWith(PROPERTY))).toEqual([]);
  });
});
