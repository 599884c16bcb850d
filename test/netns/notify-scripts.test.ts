// Notify hooks with the real script runner (spawner mode, as the daemon runs it) and real
// processes: no namespace needed. A VrrpNotifier is driven directly with a master → fault →
// backup → master → stop sequence (the daemon end-to-end test drives it from the wire):
//  - scripts that append their arguments to a file record exactly that sequence, in order, even
//    when each one sleeps a random time (keepalived's fire-and-forget would reorder them);
//  - a notify script that sleeps 30 s under a 2 s timeout is killed with its process group and
//    the next notification runs;
//  - a vrrp_notify_fifo reader (started as vrrp_notify_fifo_script, with the FIFO as argument)
//    sees the same sequence.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.js';
import { silentLogger } from '../../src/daemon/log.js';
import { ScriptRunner } from '../../src/script/runner.js';
import { VrrpNotifier } from '../../src/vrrp/notify.js';
import { buildSpawner, isAlive, waitFor, type BuiltSpawner } from '../fixtures/scripts/build-spawner.js';

let built: BuiltSpawner;
let dir = '';

beforeAll(async () => {
  built = await buildSpawner();
  dir = mkdtempSync(join(tmpdir(), 'hk-notify-e2e-'));
  chmodSync(dir, 0o755);
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  built?.cleanup();
});

function runner(): ScriptRunner {
  return new ScriptRunner({
    mode: 'spawner', spawnerPath: built.spawnerPath, killGraceMs: 500,
    scriptUser: process.getuid?.() === 0 ? 'root' : null, log: () => undefined,
  });
}

function script(name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

function config(text: string) {
  const r = parseConfigText(text, 'e2e.conf', { configId: 'test' });
  expect(r.errorCount, r.diagnostics.map((d) => d.message).join('\n')).toBe(0);
  return r.config;
}

/** master → fault → backup → master → stop, as the VRRP side reports it (the group follows its member). */
function drive(n: VrrpNotifier): void {
  n.instanceTransition('VI_1', 'BACKUP', 100); // startup
  n.groupTransition('G1', 'BACKUP');
  n.instanceTransition('VI_1', 'MASTER', 100);
  n.groupTransition('G1', 'MASTER');
  n.instanceTransition('VI_1', 'FAULT', 100);
  n.groupTransition('G1', 'FAULT');
  n.instanceTransition('VI_1', 'BACKUP', 100);
  n.groupTransition('G1', 'BACKUP');
  n.instanceTransition('VI_1', 'MASTER', 100);
  n.groupTransition('G1', 'MASTER');
  n.beginShutdown();
  n.instanceTransition('VI_1', 'INIT', 100); // the runtime stopping: not news
  n.groupTransition('G1', 'INIT');
  n.shutdown(() => 100);
}

const SEQ = ['BACKUP', 'MASTER', 'FAULT', 'BACKUP', 'MASTER', 'STOP'];

describe('notify scripts, real runner', () => {
  it('record exactly the transitions, in order, with keepalived\'s arguments', async () => {
    const inst = join(dir, 'instance.log');
    const grp = join(dir, 'group.log');
    // Each run sleeps 0-90 ms: concurrent runs would interleave and reorder.
    const rec = script('rec.sh', `out="$1"; shift\nsleep 0.0$(( $(od -An -N1 -tu1 /dev/urandom) % 10 ))\necho "$*" >> "$out"`);
    const r = runner();
    const n = new VrrpNotifier(config(`vrrp_sync_group G1 {
  group { VI_1 }
  notify_master "${rec} ${grp} group-master"
  notify_stop "${rec} ${grp} group-stop"
  notify "${rec} ${grp} generic"
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  virtual_ipaddress { 10.0.0.1 }
  notify_master "${rec} ${inst} master"
  notify_backup "${rec} ${inst} backup"
  notify_fault "${rec} ${inst} fault"
  notify_stop "${rec} ${inst} stop"
  notify "${rec} ${inst} generic 'two words'"
}
`), { runner: r, log: silentLogger(), stopTimeoutMs: 2000 });
    await n.start();
    drive(n);
    await n.close();
    await r.close();
    expect(readFileSync(inst, 'utf8').trim().split('\n')).toEqual(SEQ.flatMap((s) => [
      s.toLowerCase(), `generic two words INSTANCE VI_1 ${s} 100`,
    ]));
    expect(readFileSync(grp, 'utf8').trim().split('\n')).toEqual(SEQ.flatMap((s) => [
      ...(s === 'MASTER' ? ['group-master'] : s === 'STOP' ? ['group-stop'] : []), `generic GROUP G1 ${s} 0`,
    ]));
    expect(n.status().counters).toMatchObject({ failed: 0, timedOut: 0, notRun: 0 });
  });

  it('a notify script that sleeps 30 s with a 2 s timeout is killed (its process group); the next one runs', async () => {
    const out = join(dir, 'hang.log');
    const pids = join(dir, 'hang.pids');
    const hang = script('hang.sh', `sleep 30 &\necho "$$ $!" > ${pids}\nwait`);
    const rec = script('rec2.sh', `echo "$*" >> ${out}`);
    const r = runner();
    const n = new VrrpNotifier(config(`vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  virtual_ipaddress { 10.0.0.1 }
  notify_master ${hang}
  notify_backup "${rec} backup"
}
`), { runner: r, log: silentLogger(), timeoutMs: 2000 });
    const t = performance.now();
    n.instanceTransition('VI_1', 'MASTER', 100);
    n.instanceTransition('VI_1', 'BACKUP', 100);
    // The shell creates the file (>>) before echo writes it: wait for the whole line.
    expect(await waitFor(() => existsSync(out) && readFileSync(out, 'utf8').endsWith('\n'), 10_000)).toBe(true);
    const elapsed = performance.now() - t;
    expect(elapsed).toBeGreaterThan(1900);
    expect(elapsed).toBeLessThan(4000);
    expect(readFileSync(out, 'utf8')).toBe('backup\n');
    const [sh, sleeper] = readFileSync(pids, 'utf8').trim().split(' ').map(Number);
    expect(await waitFor(() => !isAlive(sh!) && !isAlive(sleeper!), 3000)).toBe(true);
    expect(n.status().counters.timedOut).toBe(1);
    await n.close();
    await r.close();
  });

  it('a vrrp_notify_fifo reader sees the same sequence, in order', async () => {
    const fifo = join(dir, 'vrrp.fifo');
    const seen = join(dir, 'fifo.log');
    const reader = script('reader.sh', `while IFS= read -r l; do echo "$l" >> ${seen}; done < "$1"`);
    const r = runner();
    const n = new VrrpNotifier(config(`global_defs {
  vrrp_notify_fifo ${fifo}
  vrrp_notify_fifo_script ${reader}
}
vrrp_sync_group G1 {
  group { VI_1 }
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  virtual_ipaddress { 10.0.0.1 }
}
`), { runner: r, log: silentLogger() });
    await n.start();
    expect(n.status().fifos[0]).toMatchObject({ state: 'open', created: true, scriptRunning: true });
    drive(n);
    const want = SEQ.flatMap((s) => [`INSTANCE "VI_1" ${s} 100`, `GROUP "G1" ${s} 0`]);
    expect(await waitFor(() => existsSync(seen) && readFileSync(seen, 'utf8').trim().split('\n').length >= want.length, 5000)).toBe(true);
    expect(readFileSync(seen, 'utf8').trim().split('\n')).toEqual(want);
    await n.close();
    expect(existsSync(fifo)).toBe(false);
    await r.close();
  });
});
