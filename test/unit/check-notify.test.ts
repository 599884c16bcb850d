// Checker notify scripts through the shared script runner (real processes, direct mode: the
// runner's own tests cover the spawner): keepalived's splitting (no shell), per-server order,
// never waited for by the checker.
import { mkdtempSync, readFileSync, existsSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runnerNotify } from '../../src/check/notify.js';
import { ScriptRunner } from '../../src/script/runner.js';

const dir = mkdtempSync(join(tmpdir(), 'hku-notify-'));
const lines: string[] = [];
const runner = new ScriptRunner({ mode: 'direct', scriptUser: 'root', log: (_l, msg) => lines.push(msg) });
afterAll(async () => {
  await runner.close();
  rmSync(dir, { recursive: true, force: true });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('checker notify scripts', () => {
  it('run without being waited for, one at a time per real server, in transition order', async () => {
    const out = join(dir, 'out');
    const script = join(dir, 'note.sh');
    writeFileSync(script, `#!/bin/sh\n[ "$1" = down ] && sleep 0.3\necho "$1" >> ${out}\n`);
    chmodSync(script, 0o755);
    const notify = runnerNotify(runner);
    const t0 = Date.now();
    notify({ command: `${script} down`, user: null }, 'notify_down', () => undefined, '[10.0.0.2]:tcp:80');
    notify({ command: `${script} up`, user: null }, 'notify_up', () => undefined, '[10.0.0.2]:tcp:80');
    expect(Date.now() - t0).toBeLessThan(100);
    await waitFor(() => existsSync(out) && readFileSync(out, 'utf8').split('\n').length === 3);
    expect(readFileSync(out, 'utf8')).toBe('down\nup\n');
  });

  it('a user the config names badly is reported, not run', () => {
    const logs: string[] = [];
    runnerNotify(runner)({ command: 'true', user: 'a b c' }, 'notify_down', (_l, msg) => logs.push(msg));
    expect(logs).toEqual(['notify_down script "true": cannot read user "a b c"; not run']);
  });
});
