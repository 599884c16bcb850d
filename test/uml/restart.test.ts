// Real kernel IPVS, in User Mode Linux: hakeep restarted, drained and its checker child killed over
// 1,000 real servers (10 addresses × 100 ports in a namespace). The guest
// (test/uml/guest/restart-scenario.sh) samples /proc/net/ip_vs every ~10 ms through each restart:
//   3. SIGTERM with -I, SIGKILL: no destination removed or re-added, 0 IPVS commands on adoption; a
//      virtual_server dropped from the config is removed at the next start; a hand-made service
//      survives every restart;
//   4. `hakeep rs drain`: weight 0 over three re-reads, a hand edit and a restart; status lists it;
//      wrong addresses are refused with exit code 1; `hakeep rs enable` restores the weight;
//   5. the checker child SIGKILLed while a real server is down: that server is never re-added, and
//      the VRRP instance (both halves) is in FAULT during the restart and MASTER again.
// This file boots the guest once and checks every recorded assertion, showing the guest's log and
// the daemons' logs when one fails. About 4.5 min in the guest (measured while another UML guest
// shared the host's two cores), most of it Node.js starts of the daemon, its checker child and the CLI.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, guestOutput, readResults, runUmlGuest } from './uml-runner.js';
import type { GuestResult, UmlRun } from './uml-runner.js';

const EXPECTED = [
  'run 1: 1,000 real servers in IPVS with weight 1, all healthy (plus the hand-made service)',
  '3a SIGTERM of hakeep -I: exits 0 and leaves the table exactly as it was',
  '3a restart (-I) over 1,000 destinations: every /proc sample identical (none removed, none re-added), 0 IPVS commands',
  '3b SIGKILL: the checker child and its ipvsadm die with the daemon; the table stays exactly as it was',
  '3b restart after SIGKILL over 1,000 destinations: every /proc sample identical (none removed, none re-added), 0 IPVS commands',
  '3c a virtual_server removed from the config is removed from the kernel at the next start (one -D)',
  '3c the other 900 destinations and the hand-made service: every /proc sample identical through that restart',
  '4 hakeep rs drain VS RS: exit 0, weight 0 in /proc/net/ip_vs',
  '4 the drain holds over three periodic re-reads (HAKEEP_IPVS_RESYNC_MS=1000): weight 0 in every sample',
  '4 a hand edit (ipvsadm -e … -w 1) is put back to weight 0 by the next re-read',
  '4 hakeep status lists the drained real server under "drained"',
  '4 a wrong address: a clear error naming it, exit code 1',
  '4 restart (SIGTERM, same config): the drained server is added back at weight 0, never at its weight',
  '4 hakeep rs enable VS RS: exit 0, weight 1 again',
  '5 setup: both halves MASTER over the adopted table; the stopped real server removed',
  '5 checker child SIGKILLed: the dead server is never re-added and no healthy one removed (every /proc sample identical)',
  '5 the new child starts from the last known health: the dead server still down, every other alive',
  '5 the VRRP instance is in FAULT while the checker child restarts, then MASTER again (the checker gate, by design)',
  'final SIGTERM without -I: hakeep removed all its services; the hand-made service survived every restart unchanged',
  'no unexpected error lines in the daemons\' logs',
];

let run: UmlRun;
let results: GuestResult[] = [];
let serverDir = '';

function logs(): string {
  const parts = [`--- guest output (${run.resultDir}) ---\n${guestOutput(run)}`];
  for (const f of existsSync(run.resultDir) ? readdirSync(run.resultDir).filter((x) => x.endsWith('.log') && x !== 'console.log').sort() : []) {
    parts.push(`--- ${f} ---\n${readFileSync(join(run.resultDir, f), 'utf8').split('\n').slice(-30).join('\n')}`);
  }
  return parts.join('\n');
}

describe('restarts, drains and a killed checker child over 1,000 real servers, real kernel IPVS (User Mode Linux)', () => {
  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('the UML test needs root (it installs user-mode-linux/ipvsadm with apt-get and creates /lib/modules)');
    if (!existsSync(join(REPO, 'dist/cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first (npm test does)');
    // 1,000 listeners cost the guest's single CPU least as the benchmark's C accept loop; without
    // a C compiler the guest falls back to test/uml/guest/servers.mjs.
    serverDir = mkdtempSync(join(tmpdir(), 'hku-restart-'));
    const bin = join(serverDir, 'accept-server');
    const cc = spawnSync('cc', ['-O2', '-o', bin, join(REPO, 'bench/checker/accept-server.c')], { encoding: 'utf8' });
    const env: Record<string, string> = cc.status === 0 && existsSync(bin) ? { ACCEPT_SERVER: bin } : {};
    run = await runUmlGuest({ script: 'test/uml/guest/restart-scenario.sh', timeoutSec: 720, mem: '1G', env });
    results = readResults(run.resultDir);
  }, 780_000);

  afterAll(() => {
    if (serverDir) rmSync(serverDir, { recursive: true, force: true });
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
