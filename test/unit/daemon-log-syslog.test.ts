// Syslog target: real datagrams through the addon's unixDgram to a Unix datagram socket a Python
// reader binds (as rsyslog or journald bind /dev/log), in syslog(3)'s local format with facility
// daemon and ident hakeep; text lines carry the instance; a reader that goes away and comes back.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger, formatSyslog, messageOf, syslogDestination } from '../../src/daemon/log.js';
import { native } from '../../src/net/native.js';

const dir = mkdtempSync(join(tmpdir(), 'hakeep-syslog-'));
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const readers: ChildProcess[] = [];
afterAll(() => {
  for (const r of readers) if (r.exitCode === null) r.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** A datagram reader at `path`: resolves with what it got once `count` arrived (or 5 s passed). */
async function reader(path: string, count: number): Promise<{ done: Promise<string[]> }> {
  const script = `import socket,sys,json,os
p=sys.argv[1]; n=int(sys.argv[2])
s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(p); s.settimeout(5)
print('ready', flush=True)
got=[]
try:
  while len(got)<n: got.append(s.recv(65536).decode())
except socket.timeout: pass
s.close(); os.unlink(p)
print(json.dumps(got), flush=True)`;
  const p = spawn(PYTHON, ['-c', script, path, String(count)], { stdio: ['ignore', 'pipe', 'inherit'] });
  readers.push(p);
  let out = '';
  p.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  const t0 = Date.now();
  while (!out.startsWith('ready')) {
    if (Date.now() - t0 > 5000) throw new Error('the Python datagram reader did not start in 5 s');
    await new Promise((r) => setTimeout(r, 20));
  }
  const done = new Promise<string[]>((resolve) => p.on('exit', () => resolve(JSON.parse(out.split('\n')[1] ?? '[]') as string[])));
  return { done };
}

describe('syslog target', () => {
  it('sends each line as syslog(3) would, facility daemon, ident hakeep, the instance in the text', async () => {
    expect(typeof native().unixDgram, 'the native addon has no unixDgram: rebuild it (native/)').toBe('function');
    const path = join(dir, 'log.sock');
    const r = await reader(path, 3);
    const dest = syslogDestination(path);
    const out: string[] = [];
    const log = createLogger({ level: 'info', syslog: dest, destination: new Writable({ write(c, _e, cb) { out.push(String(c)); cb(); } }) });
    log.info({ instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'master_down_timer' }, '(VI_1) Entering MASTER STATE');
    log.warn({ instance: 'VI_2', vip: '10.0.0.1/32' }, 'VIP 10.0.0.1/32 could not be added');
    log.debug('not at this level');
    log.error('Stopping\nnow');
    const got = await r.done;
    dest.close();
    const pid = process.pid;
    expect(got).toHaveLength(3);
    expect(got[0]).toMatch(new RegExp(`^<30>[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d hakeep\\[${pid}\\]: \\(VI_1\\) Entering MASTER STATE$`));
    expect(got[1]).toMatch(new RegExp(`^<28>.* hakeep\\[${pid}\\]: \\(VI_2\\) VIP 10\\.0\\.0\\.1/32 could not be added$`));
    expect(got[2]).toMatch(/^<27>.*: Stopping now$/);
    // stdout (here a memory stream) still gets the JSON lines.
    expect(out.length).toBe(3);
    expect(dest.dropped).toBe(0);
  });

  it('a reader that goes away: lines dropped and counted, never blocking; connected again when it is back', async () => {
    const path = join(dir, 'again.sock');
    const first = await reader(path, 1);
    const dest = syslogDestination(path);
    const log = createLogger({ level: 'info', syslog: dest, stdout: false });
    log.info('one');
    expect(await first.done).toHaveLength(1);
    const t0 = performance.now();
    for (let i = 0; i < 50; i++) log.info(`lost ${i}`);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(dest.dropped).toBeGreaterThan(0);
    const second = await reader(path, 1);
    await new Promise((res) => setTimeout(res, 1100)); // reconnects at most once a second
    log.info('back');
    const got = await second.done;
    dest.close();
    expect(got.length).toBe(1);
    expect(got[0]).toMatch(/: back$/);
  });

  it('a socket nobody listens on is an error at start that says what to do', () => {
    expect(() => syslogDestination(join(dir, 'nobody.sock'))).toThrow(/cannot log to syslog at .*nobody\.sock: .*\[log\] syslog in hakeep\.ini/);
  });

  it('text lines name the instance; formatSyslog maps levels to severities', () => {
    expect(messageOf({ instance: 'VI_1', msg: 'setting VIPs.' })).toBe('(VI_1) setting VIPs.');
    expect(messageOf({ instance: 'VI_1', msg: '(VI_1) Entering BACKUP STATE' })).toBe('(VI_1) Entering BACKUP STATE');
    expect(messageOf({ group: 'G1', msg: 'Sync group entering MASTER' })).toBe('(G1) Sync group entering MASTER');
    const t = new Date(2026, 0, 5, 7, 8, 9);
    expect(formatSyslog({ level: 50, msg: 'x' }, { ident: 'hakeep', pid: 7, facility: 3, time: t })).toBe('<27>Jan  5 07:08:09 hakeep[7]: x');
    expect(formatSyslog({ level: 20, msg: 'd', proc: 'check' }, { ident: 'hakeep', pid: 7, facility: 3, time: t })).toBe('<31>Jan  5 07:08:09 hakeep[7]: check: d');
  });
});
