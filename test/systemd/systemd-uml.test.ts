// hakeep under a real systemd: systemd 252 as PID 1 inside User Mode Linux
// (../shared/docs/systemd-uml.md; test/systemd/uml/boot.sh and stage1.sh boot it on a copy-on-write
// view of this machine's root, nothing written to the host but the job directory). The driver
// (test/systemd/uml/scenario.mjs, a unit in the guest) installs hakeep with the README's command,
// then: systemctl start (returns on READY=1, once both halves run), the STATUS text in systemctl
// status, systemctl reload (no transition), the main thread stalled by the test hook → watchdog
// restart, SIGKILL → restart with the IPVS entries adopted, systemctl stop → priority 0 captured on
// the wire and nothing left behind, and the journal's lines. Run it under
// `flock /tmp/hakeep-heavy.lock` like every UML test; about 2.5 minutes on an idle host.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = resolve(import.meta.dirname, '../..');
const JOB = `/var/tmp/hakeep-systemd-uml-${process.pid}`;
const TIMEOUT_SEC = 280;

const EXPECTED = [
  'install: `bash scripts/install.sh` from the clone exits 0',
  'install: wrapper, package, unit and /etc/hakeep with a sample config that passes hakeep -t',
  'systemctl start returns once hakeep sent READY=1: active (running), both halves up',
  'the daemon runs as root with only the unit\'s capabilities (CapEff = CapBnd = 0x8130e3)',
  'systemctl status shows the STATUS text "VI_1 MASTER, 2/2 real servers up"',
  'VIP on hks0 and the IPVS service with both real servers',
  'systemctl reload: RELOADING then READY (systemd logs Reloading/Reloaded), same MainPID, no transition, IPVS unchanged, VIP kept',
  'main thread stalled (test hook) → "Watchdog timeout", killed (result watchdog) and restarted with a new MainPID',
  'after the watchdog restart: MASTER again with the VIP, IPVS adopted (same destinations)',
  'SIGKILL → restarted (Restart=on-failure), new MainPID, MASTER again with the VIP',
  'SIGKILL → the IPVS entries were adopted: every /proc/net/ip_vs sample identical (none removed or re-added)',
  'journalctl -u hakeep shows the transition lines, each start and systemd\'s view',
  'the advert pacer\'s thread runs real-time under the unit (journal, each start)',
  'systemctl stop → a priority-0 advert on the wire (captured in the peer namespace)',
  'after stop: inactive, no hakeep process, no VIP, no IPVS service, no pid file or status socket',
  'journal of the stop: hakeep\'s own stop lines and systemd\'s "Stopped"',
];

interface Result { name: string; ok: boolean; detail: unknown }
let exitCode = -1;
let runner = '';
let results: Result[] = [];

function tail(file: string, n: number): string {
  const p = join(JOB, file);
  return existsSync(p) ? readFileSync(p, 'utf8').split('\n').slice(-n).join('\n') : `(no ${file})`;
}

function logs(): string {
  return [`boot.sh exit ${exitCode}: ${runner}`, `--- driver.log ---\n${tail('driver.log', 60)}`,
    `--- journal.txt ---\n${tail('journal.txt', 60)}`, `--- console.log ---\n${tail('console.log', 30)}`].join('\n');
}

describe('hakeep under systemd as PID 1 (User Mode Linux)', () => {
  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root (User Mode Linux, namespaces and IPVS in the guest)');
    if (!existsSync(join(REPO, 'node_modules/.bin/tsc'))) throw new Error('node_modules is missing: run `npm ci` (scripts/install.sh builds from the clone)');
    const child = spawn('bash', [join(REPO, 'test/systemd/uml/boot.sh'), JOB, String(TIMEOUT_SEC)], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => { runner += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { runner += d.toString(); });
    exitCode = await new Promise<number>((res, rej) => {
      child.on('error', rej);
      child.on('close', (c) => res(c ?? -1));
    });
    const p = join(JOB, 'results.jsonl');
    results = existsSync(p) ? readFileSync(p, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Result) : [];
  }, (TIMEOUT_SEC + 30) * 1000);

  afterAll(() => {
    // Keep the job directory for a look when anything failed.
    if (exitCode === 0 && results.length === EXPECTED.length && results.every((r) => r.ok)) rmSync(JOB, { recursive: true, force: true });
  });

  it('the guest booted systemd, ran the driver to its end and powered off (exit 0)', () => {
    expect(exitCode, logs()).toBe(0);
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
