// MISC_CHECK with real scripts through the shared script runner: every misc_dynamic exit code,
// retries and keepalived's log lines, a hanging script killed with its process group.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MiscChecker } from '../../src/check/misc-checker.js';
import type { MiscCheck } from '../../src/config/model.js';
import { ScriptRunner } from '../../src/script/runner.js';
import { base, check, clock, rsAt, sleep } from './check-helpers.js';

let dir = '';
let runner: ScriptRunner;
const runnerLogs: string[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hk-misc-'));
  chmodSync(dir, 0o755);
  runner = new ScriptRunner({ mode: 'direct', scriptUser: 'root', killGraceMs: 300, log: (_l, m) => runnerLogs.push(m) });
});
afterAll(async () => {
  await runner.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A script that exits with the code in its state file (so one checker can see several). */
function exitScript(): { path: string; set(code: number): void } {
  const state = join(dir, `code-${Math.random().toString(36).slice(2)}`);
  const path = `${state}.sh`;
  writeFileSync(path, `#!/bin/sh\nexit $(cat ${state})\n`);
  chmodSync(path, 0o755);
  return { path, set: (code) => writeFileSync(state, String(code)) };
}

function misc(miscPath: string, over: Partial<MiscCheck> = {}): MiscCheck {
  return { type: 'MISC_CHECK', ...base({ retry: 0, delayLoop: 2, delayBeforeRetry: 1 }), miscPath, miscTimeout: 5, miscDynamic: false, user: null, ...over };
}

function checker(c: MiscCheck, weight = 3, logAll = false): MiscChecker {
  return new MiscChecker(c, {
    rs: rsAt(80, { weight }), rsName: '[10.0.0.2]:tcp:80', vsName: '[10.0.0.100]:tcp:80', vsDelayLoop: 6, logAll, clock,
    run: (job) => runner.run(job), owner: `t${Math.random()}`,
  });
}

describe('MISC_CHECK (check_misc.c)', () => {
  it('exit 0 = up with the configured weight; the first success is logged', async () => {
    const s = exitScript();
    s.set(0);
    const rt = checker(misc(s.path));
    const r = await check(rt);
    expect(r).toMatchObject({ outcome: 'success', up: true, change: null });
    expect(r.logs).toEqual([`Misc check for [[10.0.0.2]:tcp:80 VS [10.0.0.100]:tcp:80] by [${s.path}] succeeded.`]);
    expect(rt.curWeight).toBe(0);
    // The next run is delay_loop after this one *started*.
    expect(r.delay).toBeGreaterThan(1.5);
    expect(r.delay).toBeLessThanOrEqual(2);
  });

  it('misc_dynamic: 0 = configured weight, 1 = down, 2-255 = up with weight exit-2', async () => {
    const s = exitScript();
    const rt = checker(misc(s.path, { miscDynamic: true }), 3);
    s.set(12);
    const a = await rt.result(...(await attemptOf(rt)));
    expect(a).toMatchObject({ change: null, weightChanged: true });
    expect(rt.curWeight + 3).toBe(10);
    s.set(2);
    expect(await rt.result(...(await attemptOf(rt)))).toMatchObject({ weightChanged: true });
    expect(rt.curWeight + 3).toBe(0);
    s.set(0);
    await rt.result(...(await attemptOf(rt)));
    expect(rt.curWeight).toBe(0);
    s.set(1);
    const down = rt.result(...(await attemptOf(rt)));
    expect(down.change).toBe('down');
    expect(down.logs).toEqual([`Misc check for [[10.0.0.2]:tcp:80 VS [10.0.0.100]:tcp:80] by [${s.path}] failed with retry disabled (exited with status 1).`]);
    s.set(255);
    const up = rt.result(...(await attemptOf(rt)));
    expect(up).toMatchObject({ change: 'up', weightChanged: true });
    expect(rt.curWeight + 3).toBe(253);
    expect(up.logs).toEqual([`Misc check for [[10.0.0.2]:tcp:80 VS [10.0.0.100]:tcp:80] by [${s.path}] succeeded.`]);
  });

  it('without misc_dynamic any non-zero exit is down', async () => {
    const s = exitScript();
    s.set(5);
    const rt = checker(misc(s.path));
    expect(await check(rt)).toMatchObject({ change: 'down', up: false });
  });

  it('retries: "will do N retries", "on retry i/N" with log_all_failures, then "after N retries"', async () => {
    const s = exitScript();
    s.set(0);
    const rt = checker(misc(s.path, { retry: 2 }), 1, true);
    await check(rt);
    s.set(1);
    const a = await check(rt);
    expect(a).toMatchObject({ change: null, up: true });
    expect(a.delay).toBeLessThanOrEqual(1); // delay_before_retry while retrying
    expect(a.logs[0]).toMatch(/failed, will do 2 retries \(exited with status 1\)\.$/);
    expect((await check(rt)).logs[0]).toMatch(/failed on retry 1\/2 \(exited with status 1\)\.$/);
    const c = await check(rt);
    expect(c).toMatchObject({ change: 'down' });
    expect(c.logs[0]).toMatch(/failed after 2 retries \(exited with status 1\)\.$/);
  });

  it('a hanging script is killed with its process group at misc_timeout: "timed out"', async () => {
    const pidFile = join(dir, 'grandchild.pid');
    const path = join(dir, 'hang.sh');
    // The script starts a grandchild too; the whole process group must go.
    writeFileSync(path, `#!/bin/sh\nsleep 30 &\necho $! > ${pidFile}\nsleep 30\n`);
    chmodSync(path, 0o755);
    const rt = checker(misc(path, { miscTimeout: 1 }));
    const t0 = performance.now();
    const r = await check(rt);
    expect(performance.now() - t0).toBeLessThan(4000);
    expect(r).toMatchObject({ outcome: 'timeout', change: 'down' });
    expect(r.logs).toEqual([`Misc check for [[10.0.0.2]:tcp:80 VS [10.0.0.100]:tcp:80] by [${path}] timed out with retry disabled.`]);
    await sleep(300);
    const grandchild = readFileSync(pidFile, 'utf8').trim();
    const alive = existsSync(`/proc/${grandchild}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${grandchild}/status`, 'utf8'));
    expect(alive).toBe(false);
  });

  it('a program that does not exist fails (keepalived disables it and leaves the server unchecked; hakeep takes it down)', async () => {
    const rt = checker(misc('/nonexistent/check-me'));
    const r = await check(rt);
    expect(r).toMatchObject({ change: 'down' });
    expect(r.logs[0]).toMatch(/by \[\/nonexistent\/check-me\] failed with retry disabled \(could not be run: /);
  });

  it('arguments are split as keepalived splits them', async () => {
    const out = join(dir, 'args');
    const rt = checker(misc(`/bin/sh -c "echo \\"$1 $2\\" > ${out}" sh 'a b' c`));
    expect(await check(rt)).toMatchObject({ outcome: 'success' });
    expect(readFileSync(out, 'utf8')).toBe('a b c\n');
  });
});

async function attemptOf(rt: MiscChecker): Promise<['success' | 'failed' | 'timeout', string]> {
  return new Promise((resolve) => { rt.start((o, d) => resolve([o, d])); });
}
