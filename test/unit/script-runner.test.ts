// The script runner with real processes: spawner and direct modes, timeouts that take the whole
// process group, output bounds, per-owner order, the concurrency cap, users, script security,
// a spawner crash, and missing programs. Needs root (users, chown) for some parts.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { findScripts, killGroupLater } from '../../src/script/orphans.js';
import { ScriptRunner, scriptBaseEnv, type RunnerOptions, type ScriptJob } from '../../src/script/runner.js';
import { buildSpawner, isAlive, waitFor, type BuiltSpawner } from '../fixtures/scripts/build-spawner.js';

const isRoot = process.getuid?.() === 0;
const TEST_USER = 'hkscripttest';

interface LogLine { level: string; msg: string; fields: Record<string, unknown> }

let built: BuiltSpawner;
let dir = '';
const runners: ScriptRunner[] = [];
const pidsToKill: number[] = [];

function makeRunner(mode: 'spawner' | 'direct', opts: Partial<RunnerOptions> = {}): { r: ScriptRunner; logs: LogLine[] } {
  const logs: LogLine[] = [];
  const r = new ScriptRunner({
    mode, spawnerPath: built.spawnerPath, killGraceMs: 500, scriptUser: 'root',
    log: (level, msg, fields) => logs.push({ level, msg, fields }),
    ...opts,
  });
  runners.push(r);
  return { r, logs };
}

function job(command: string, extra: Partial<ScriptJob> = {}): ScriptJob {
  return { owner: 'test', kind: 'test', name: 'job', command, timeoutMs: 10_000, ...extra };
}

/** A root-owned script file in the private temp dir. */
function scriptFile(name: string, body: string, mode = 0o755): string {
  const p = join(dir, name);
  writeFileSync(p, body);
  chmodSync(p, mode);
  return p;
}

beforeAll(async () => {
  built = await buildSpawner();
  dir = mkdtempSync(join(tmpdir(), 'hk-run-'));
  chmodSync(dir, 0o755);
});

afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.close()));
  for (const pid of pidsToKill.splice(0)) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  built?.cleanup();
});

describe.each(['spawner', 'direct'] as const)('%s mode', (mode) => {
  it('reports exit codes and signals, and counts them by kind', async () => {
    const { r } = makeRunner(mode);
    expect(await r.run(job('/bin/sh -c "exit 0"', { kind: 'vrrp_script' }))).toMatchObject({ exitCode: 0, signal: null, timedOut: false, error: null });
    expect(await r.run(job("/bin/sh -c 'exit 7'", { kind: 'vrrp_script' }))).toMatchObject({ exitCode: 7, signal: null, error: null });
    expect(await r.run(job("/bin/sh -c 'kill -USR1 $$'", { kind: 'notify' }))).toMatchObject({ exitCode: null, signal: 'SIGUSR1' });
    expect(r.stats()).toEqual({
      vrrp_script: { runs: 2, failures: 1, timeouts: 0, refused: 0 },
      notify: { runs: 1, failures: 1, timeouts: 0, refused: 0 },
    });
  });

  it('passes the extra arguments after the split ones', async () => {
    const { r } = makeRunner(mode);
    const res = await r.run(job("/usr/bin/printf '[%s]' 'a b'", { args: ['INSTANCE', 'VI_1', 'MASTER', '100'] }));
    expect(res.stdout).toBe('[a b][INSTANCE][VI_1][MASTER][100]');
  });

  it('kills the whole process group on timeout: the grandchild is gone too', async () => {
    const { r } = makeRunner(mode);
    const s = scriptFile(`grand-${mode}.sh`, '#!/bin/sh\nsleep 60 &\necho $!\nwait\n');
    const t = performance.now();
    const res = await r.run(job(s, { timeoutMs: 400 }));
    expect(res).toMatchObject({ timedOut: true, signal: 'SIGTERM', exitCode: null, error: null });
    expect(performance.now() - t).toBeLessThan(2000);
    const grandchild = Number(res.stdout.trim());
    expect(grandchild).toBeGreaterThan(1);
    pidsToKill.push(grandchild);
    expect(await waitFor(() => !isAlive(grandchild), 2000)).toBe(true);
    expect(r.stats().test).toMatchObject({ runs: 1, timeouts: 1, failures: 0 });
  });

  it('SIGKILLs a group that ignores SIGTERM after the grace', async () => {
    const { r } = makeRunner(mode);
    const s = scriptFile(`stubborn-${mode}.sh`, "#!/bin/sh\ntrap '' TERM\nsleep 60 &\necho $!\nwait\n");
    const t = performance.now();
    const res = await r.run(job(s, { timeoutMs: 300 }));
    const took = performance.now() - t;
    expect(res).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
    expect(took).toBeGreaterThan(700); // timeout + grace (500)
    expect(took).toBeLessThan(2500);
    const grandchild = Number(res.stdout.trim());
    pidsToKill.push(grandchild);
    expect(await waitFor(() => !isAlive(grandchild), 2000)).toBe(true);
  });

  it('captures output, logs it line by line with the script name, and bounds both', async () => {
    const { r, logs } = makeRunner(mode);
    const res = await r.run(job("/bin/sh -c 'echo out; echo err >&2'", { name: 'chk_web' }));
    expect(res).toMatchObject({ stdout: 'out\n', stderr: 'err\n' });
    expect(logs).toContainEqual(expect.objectContaining({ level: 'info', msg: 'Script chk_web stdout: out', fields: expect.objectContaining({ script: 'chk_web', stream: 'stdout' }) }));
    expect(logs).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'Script chk_web stderr: err' }));

    const many = await r.run(job("/bin/sh -c 'i=0; while [ $i -lt 2000 ]; do echo line$i; i=$((i+1)); done'", { name: 'chatty' }));
    expect(many.stdout.length).toBeLessThanOrEqual(4096);
    expect(many.stdout.endsWith('line1999\n')).toBe(true);
    const chatty = logs.filter((l) => l.msg.startsWith('Script chatty stdout:'));
    expect(chatty.length).toBe(100);
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'Script chatty: 1900 more output lines not logged' }));
  });

  it('never blocks on a script that prints a lot (20 MB)', async () => {
    const { r } = makeRunner(mode);
    const t = performance.now();
    const res = await r.run(job("/bin/sh -c 'head -c 20000000 /dev/zero | tr \"\\\\000\" x; echo; echo END'", { timeoutMs: 20_000 }));
    expect(res).toMatchObject({ exitCode: 0, timedOut: false });
    expect(res.stdout.endsWith('x\nEND\n')).toBe(true);
    expect(Buffer.byteLength(res.stdout)).toBe(4096);
    expect(performance.now() - t).toBeLessThan(15_000);
  });

  it('logs a line the same script printed on its previous run at debug', async () => {
    const { r, logs } = makeRunner(mode);
    await r.run(job('/bin/echo same', { name: 'rep' }));
    await r.run(job('/bin/echo same', { name: 'rep' }));
    expect(logs.filter((l) => l.msg === 'Script rep stdout: same').map((l) => l.level)).toEqual(['info', 'debug']);
  });

  it('runs one job per owner at a time, in submission order; other owners do not wait', async () => {
    const { r } = makeRunner(mode);
    const f = join(dir, `order-${mode}`);
    const jobs = [
      r.run(job(`/bin/sh -c 'sleep 0.4; echo first >> ${f}'`, { owner: 'vrrp:VI_1' })),
      r.run(job(`/bin/sh -c 'echo second >> ${f}'`, { owner: 'vrrp:VI_1' })),
      r.run(job(`/bin/sh -c 'echo other >> ${f}'`, { owner: 'vrrp:VI_2' })),
    ];
    await Promise.all(jobs);
    expect(readFileSync(f, 'utf8')).toBe('other\nfirst\nsecond\n');
  });

  it('holds the next job of an owner only until a hung one times out', async () => {
    const { r } = makeRunner(mode, { killGraceMs: 2000 });
    const t = performance.now();
    const hung = r.run(job('/bin/sleep 60', { owner: 'vrrp:VI_1', name: 'notify_master', timeoutMs: 2000 }));
    let nextAt = 0;
    const next = r.run(job('/bin/echo backup', { owner: 'vrrp:VI_1', name: 'notify_backup', timeoutMs: 2000 })).then((x) => { nextAt = performance.now() - t; return x; });
    expect(await hung).toMatchObject({ timedOut: true });
    expect(await next).toMatchObject({ exitCode: 0, stdout: 'backup\n' });
    expect(nextAt).toBeGreaterThan(1900);
    expect(nextAt).toBeLessThan(3000);
  });

  it('refuses what it cannot start, with a reason, and never throws', async () => {
    const { r } = makeRunner(mode);
    expect(await r.run(job('/nonexistent/prog arg'))).toMatchObject({ exitCode: null, error: '/nonexistent/prog: not found' });
    expect((await r.run(job('no-such-prog-hk'))).error).toBe('no-such-prog-hk: not found in PATH');
    const ne = scriptFile(`noexec-${mode}.sh`, '#!/bin/sh\n', 0o644);
    expect((await r.run(job(ne))).error).toMatch(/not executable for uid:gid 0:0/);
    expect((await r.run(job('/bin/echo "unterminated'))).error).toMatch(/missing terminating "/);
    expect((await r.run(job('/bin/true', { timeoutMs: 0 }))).error).toMatch(/timeoutMs/);
    expect((await r.run(job('/bin/true', { user: { user: 'no-such-user-hk' } }))).error).toBe("script user 'no-such-user-hk' does not exist");
    expect(r.stats().test).toEqual({ runs: 6, failures: 0, timeouts: 0, refused: 6 });
  });

  it('runs a script without #! through /bin/sh (execvp), and keepalived\'s "</file" test through a shell', async () => {
    const { r } = makeRunner(mode);
    const s = scriptFile(`nosb-${mode}`, 'echo "no shebang $1"\n');
    expect(await r.run(job(`${s} ok`))).toMatchObject({ exitCode: 0, stdout: 'no shebang ok\n' });
    expect(await r.run(job('</etc/passwd'))).toMatchObject({ exitCode: 0, error: null });
    expect((await r.run(job('</nonexistent/file'))).exitCode).not.toBe(0);
  });

  it('does not wait for a background child that keeps the output pipe open', async () => {
    const { r } = makeRunner(mode);
    const t = performance.now();
    const res = await r.run(job("/bin/sh -c 'sleep 5 & echo $!'"));
    expect(res.exitCode).toBe(0);
    pidsToKill.push(Number(res.stdout.trim()));
    expect(performance.now() - t).toBeLessThan(1500);
  });
});

describe('spawner mode', () => {
  it('returns from run() at once (only queues and sends a message)', async () => {
    const { r } = makeRunner('spawner', { maxConcurrent: 4 });
    await r.run(job('/bin/true')); // warm
    const times: number[] = [];
    const ps = [];
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      ps.push(r.run(job('/bin/true', { owner: `o${i % 20}` })));
      times.push(performance.now() - t);
    }
    await Promise.all(ps);
    // A fork here would cost 5-30 ms per call; a rare GC or JIT pause is not what this is about.
    times.sort((a, b) => a - b);
    expect(times[100]).toBeLessThan(0.5);
    expect(times[196]).toBeLessThan(2);
  });

  it('caps concurrency and starts queued jobs in submission order', async () => {
    const { r, logs } = makeRunner('spawner', { maxConcurrent: 2 });
    const f = join(dir, 'cap');
    const ps = [0, 1, 2, 3, 4, 5].map((i) => r.run(job(
      `/bin/sh -c 'echo "$(date +%s%N) 1" >> ${f}; sleep 0.25; echo "$(date +%s%N) -1" >> ${f}'`,
      { owner: `rs:${i}`, name: `job${i}` },
    )));
    await Promise.all(ps);
    let cur = 0;
    let peak = 0;
    for (const [, d] of readFileSync(f, 'utf8').trim().split('\n').map((l) => l.split(' ').map(Number) as [number, number]).sort((a, b) => a[0] - b[0] || a[1] - b[1])) {
      cur += d;
      peak = Math.max(peak, cur);
    }
    expect(peak).toBe(2);
    const started = logs.filter((l) => l.msg.startsWith('Running script')).map((l) => l.fields.script);
    expect(started).toEqual(['job0', 'job1', 'job2', 'job3', 'job4', 'job5']);
  });

  it('fails the running jobs when the spawner dies, kills their scripts, and restarts', async () => {
    const { r, logs } = makeRunner('spawner');
    const p = join(dir, 'crash.pid');
    const running = r.run(job(`/bin/sh -c 'echo $$ > ${p}; exec sleep 30'`, { timeoutMs: 60_000 }));
    expect(await waitFor(() => existsSync(p) && readFileSync(p, 'utf8').endsWith('\n'), 5000)).toBe(true);
    const scriptPid = Number(readFileSync(p, 'utf8'));
    pidsToKill.push(scriptPid);
    const old = r.spawnerInfo()!.pid!;
    const t = performance.now();
    process.kill(old, 'SIGKILL');
    const res = await running;
    expect(performance.now() - t).toBeLessThan(3000);
    expect(res.error).toMatch(/script spawner process killed by SIGKILL while the script was running/);
    expect(logs).toContainEqual(expect.objectContaining({ level: 'error', msg: expect.stringMatching(/script spawner \(pid \d+\) killed by SIGKILL; restarting it/) }));
    // Killed whether or not its pid had reached the runner before the crash (orphans.ts).
    expect(await waitFor(() => !isAlive(scriptPid), 3000)).toBe(true);
    expect(await r.run(job('/bin/echo ok'))).toMatchObject({ exitCode: 0, stdout: 'ok\n' });
    expect(r.spawnerInfo()).toMatchObject({ restarts: 1 });
    expect(r.spawnerInfo()!.pid).not.toBe(old);
  });

  it('fails jobs instead of hanging when the spawner cannot start at all', async () => {
    const { r, logs } = makeRunner('spawner', { spawnerPath: join(dir, 'no-such-spawner.js') });
    expect(logs).toContainEqual(expect.objectContaining({ level: 'error', msg: expect.stringMatching(/no-such-spawner\.js is missing/) }));
    const t = performance.now();
    const res = await r.run(job('/bin/true'));
    expect(res.error).toMatch(/^script spawner could not start: it exited with status 1 \(.*Cannot find module/);
    expect(performance.now() - t).toBeLessThan(5000);
  });

  it('warns when a script starts timing out, and only at debug while it keeps doing so', async () => {
    const { r, logs } = makeRunner('spawner');
    for (let i = 0; i < 3; i++) await r.run(job('/bin/sleep 5', { name: 'chk_slow', timeoutMs: 150 }));
    await r.run(job('/bin/true', { name: 'chk_slow' }));
    await r.run(job('/bin/sleep 5', { name: 'chk_slow', timeoutMs: 150 }));
    expect(logs.filter((l) => l.msg.startsWith('Script chk_slow timed out after 150 ms')).map((l) => l.level))
      .toEqual(['warn', 'debug', 'debug', 'warn']);
  });

  it('takes its scripts down and exits when the daemon dies (keepalived: PR_SET_PDEATHSIG)', async () => {
    const p = join(dir, 'orphan.pid');
    const daemon = join(dir, 'daemon.mjs');
    writeFileSync(daemon, [
      `import { ScriptRunner } from ${JSON.stringify(built.runnerPath)};`,
      `import { readFileSync } from 'node:fs';`,
      `const r = new ScriptRunner({ scriptUser: 'root', log: () => {} });`,
      // Dies by SIGKILL (no cleanup at all) once the script is running.
      `setInterval(() => {`,
      `  try { if (!readFileSync(${JSON.stringify(p)}, 'utf8').endsWith('\\n')) return; } catch { return; }`,
      `  console.log(r.spawnerInfo().pid); process.kill(process.pid, 'SIGKILL');`,
      `}, 20);`,
      `void r.run({ owner: 'a', kind: 'notify', name: 'n', command: "/bin/sh -c 'echo $$ > ${p}; exec sleep 30'", timeoutMs: 60000 });`,
    ].join('\n'));
    const out = await new Promise<string>((resolve) => {
      execFile(process.execPath, [daemon], { timeout: 10_000 }, (_e, stdout) => resolve(stdout));
    });
    const spawnerPid = Number(out.trim());
    expect(spawnerPid).toBeGreaterThan(1);
    pidsToKill.push(spawnerPid);
    expect(await waitFor(() => existsSync(p) && readFileSync(p, 'utf8').endsWith('\n'), 5000)).toBe(true);
    const scriptPid = Number(readFileSync(p, 'utf8'));
    pidsToKill.push(scriptPid);
    expect(await waitFor(() => !isAlive(scriptPid) && !isAlive(spawnerPid), 5000)).toBe(true);
  });

  it('finds a script whose pid never arrived by its HAKEEP_SCRIPT_ID: the oldest carrier, then its group goes', async () => {
    const env = { ...process.env, HAKEEP_SCRIPT_ID: `test${process.pid}.1` };
    const leader = spawn('/bin/sh', ['-c', 'sleep 30 & exec sleep 31'], { detached: true, stdio: 'ignore', env });
    const other = spawn('/bin/sleep', ['30'], { detached: true, stdio: 'ignore', env: { ...env, HAKEEP_SCRIPT_ID: `test${process.pid}.2` } });
    pidsToKill.push(leader.pid!, other.pid!);
    await new Promise((res) => setTimeout(res, 200)); // let the child start (and sh exec)
    const found = await findScripts([`test${process.pid}.1`, `test${process.pid}.9`]);
    expect(found).toEqual(new Map([[`test${process.pid}.1`, leader.pid]]));
    const child = Number(execFileSync('pgrep', ['-g', String(leader.pid), '-x', 'sleep'], { encoding: 'utf8' }).split('\n').find((p) => p && Number(p) !== leader.pid));
    killGroupLater(leader.pid!, 500);
    expect(await waitFor(() => !isAlive(leader.pid!) && !isAlive(child), 2000)).toBe(true);
    expect(isAlive(other.pid!)).toBe(true);
  });

  it('close() kills what runs, fails what waits, and refuses later jobs', async () => {
    const { r } = makeRunner('spawner');
    const p = join(dir, 'close.pid');
    const first = r.run(job(`/bin/sh -c 'echo $$ > ${p}; exec sleep 30'`, { owner: 'a' }));
    const second = r.run(job('/bin/true', { owner: 'a' }));
    expect(await waitFor(() => existsSync(p) && readFileSync(p, 'utf8').endsWith('\n'), 5000)).toBe(true);
    const scriptPid = Number(readFileSync(p, 'utf8'));
    pidsToKill.push(scriptPid);
    const t = performance.now();
    await r.close();
    expect(performance.now() - t).toBeLessThan(3000);
    expect(await first).toMatchObject({ signal: 'SIGTERM' });
    expect((await second).error).toBe('script runner closed before the script started');
    expect((await r.run(job('/bin/true'))).error).toBe('script runner is closed');
    expect(isAlive(scriptPid)).toBe(false);
  });

  it('gives scripts the daemon\'s environment plus the job\'s, without Node\'s own variables', async () => {
    const { r } = makeRunner('spawner');
    const res = await r.run(job("/bin/sh -c 'echo \"$HK_TEST|$PATH|${NODE_CHANNEL_FD-unset}|$(pwd)|$HAKEEP_SCRIPT_ID\"'", { env: { HK_TEST: 'x y' } }));
    expect(res.stdout).toMatch(new RegExp(`^x y\\|${process.env.PATH}\\|unset\\|/\\|${r.spawnerInfo()!.pid}\\.\\d+\\n$`));
    expect(scriptBaseEnv({ NODE_OPTIONS: '--inspect', NODE_CHANNEL_FD: '3', A: '1' })).toEqual({ A: '1', PATH: '/bin:/usr/bin' });
  });
});

describe('users', () => {
  // A missing prerequisite fails the run; it never skips.
  beforeAll(() => { if (!isRoot) throw new Error('these tests need root (scripts run as other users): run the tests as root, as CI does'); });
  let created = false;
  let uid = 0;
  let gid = 0;
  beforeAll(() => {
    try {
      execFileSync('id', ['-u', TEST_USER], { stdio: 'ignore' });
    } catch {
      execFileSync('useradd', ['-r', '-M', '-s', '/usr/sbin/nologin', TEST_USER]);
      created = true;
    }
    uid = Number(execFileSync('id', ['-u', TEST_USER], { encoding: 'utf8' }));
    gid = Number(execFileSync('id', ['-g', TEST_USER], { encoding: 'utf8' }));
  });
  afterAll(() => {
    if (created) execFileSync('userdel', [TEST_USER]);
  });

  it('runs as the job\'s user with only its primary group (as keepalived: setgroups(1, &gid))', async () => {
    const { r } = makeRunner('spawner');
    expect((await r.run(job('/usr/bin/id -u', { user: { user: TEST_USER } }))).stdout.trim()).toBe(String(uid));
    expect((await r.run(job('/usr/bin/id -G', { user: { user: TEST_USER } }))).stdout.trim()).toBe(String(gid));
    const nogroup = Number(execFileSync('getent', ['group', 'nogroup'], { encoding: 'utf8' }).split(':')[2]);
    expect((await r.run(job('/usr/bin/id -g', { user: { user: TEST_USER, group: 'nogroup' } }))).stdout.trim()).toBe(String(nogroup));
    expect((await r.run(job('/usr/bin/id -u', { user: { user: TEST_USER, group: 'no-such-group-hk' } }))).error).toBe("script group 'no-such-group-hk' does not exist");
  });

  it('uses script_user as the default user', async () => {
    const { r } = makeRunner('direct', { scriptUser: TEST_USER });
    expect((await r.run(job('/usr/bin/id -u'))).stdout.trim()).toBe(String(uid));
  });

  it('falls back to root with one warning when keepalived_script does not exist, and refuses instead under enable_script_security', async () => {
    expect(() => execFileSync('id', ['keepalived_script'], { stdio: 'ignore' })).toThrow();
    const { r, logs } = makeRunner('spawner', { scriptUser: null });
    expect((await r.run(job('/usr/bin/id -u'))).stdout.trim()).toBe('0');
    expect((await r.run(job('/usr/bin/id -u'))).stdout.trim()).toBe('0');
    expect(logs.filter((l) => l.msg.includes("'keepalived_script' does not exist"))).toHaveLength(1);
    const { r: strict } = makeRunner('spawner', { scriptUser: null, enableScriptSecurity: true });
    expect((await strict.run(job('/usr/bin/id -u'))).error).toMatch(/keepalived_script' does not exist and enable_script_security is set/);
  });
});

describe('script security', () => {
  // A missing prerequisite fails the run; it never skips.
  beforeAll(() => { if (!isRoot) throw new Error('these tests need root (scripts run as other users): run the tests as root, as CI does'); });
  it('refuses a root-run script in a world-writable directory, naming it; runs it once fixed', async () => {
    const w = join(dir, 'sec-ww');
    mkdirSync(w);
    chmodSync(w, 0o777);
    const s = join(w, 'check.sh');
    writeFileSync(s, '#!/bin/sh\necho fine\n');
    chmodSync(s, 0o755);
    const { r } = makeRunner('spawner', { enableScriptSecurity: true });
    const refused = await r.run(job(s, { kind: 'vrrp_script' }));
    expect(refused).toMatchObject({ exitCode: null, error: `refused by enable_script_security: ${w} is world-writable (and not sticky)` });
    expect(r.stats().vrrp_script).toMatchObject({ refused: 1 });
    chmodSync(w, 0o755);
    expect(await r.run(job(s))).toMatchObject({ exitCode: 0, stdout: 'fine\n', error: null });
  });

  it('without enable_script_security runs it and warns once per script', async () => {
    const w = join(dir, 'sec-ww2');
    mkdirSync(w);
    chmodSync(w, 0o777);
    const s = join(w, 'check.sh');
    writeFileSync(s, '#!/bin/sh\nexit 0\n');
    chmodSync(s, 0o755);
    const { r, logs } = makeRunner('spawner');
    expect(await r.run(job(s))).toMatchObject({ exitCode: 0 });
    expect(await r.run(job(s))).toMatchObject({ exitCode: 0 });
    const warned = logs.filter((l) => l.msg.startsWith(`Unsafe permissions found for script '${s}'`));
    expect(warned).toHaveLength(1);
    expect(warned[0]!.msg).toContain(`${w} is world-writable`);
    expect(logs.filter((l) => l.msg.startsWith('SECURITY VIOLATION'))).toHaveLength(1);
  });

  it('does not check a script run as a non-root user', async () => {
    const w = join(dir, 'sec-ww3');
    mkdirSync(w);
    chmodSync(w, 0o777);
    const s = join(w, 'check.sh');
    writeFileSync(s, '#!/bin/sh\nexit 0\n');
    chmodSync(s, 0o755);
    const { r } = makeRunner('spawner', { enableScriptSecurity: true });
    expect(await r.run(job(s, { user: { user: 'nobody' } }))).toMatchObject({ exitCode: 0, error: null });
  });
});
