// The notify FIFO on a real named pipe: created with keepalived's mode, lines in order, a reader
// that goes away (no block, no crash, drops counted, a new reader gets new lines), what is
// refused (a regular file, a symlink, a missing directory), the FIFO script's argument.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync, lstatSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/daemon/log.js';
import type { ScriptJob, ScriptResult } from '../../src/script/types.js';
import { fifoLine, NotifyFifo, type NotifyFifoOptions } from '../../src/vrrp/notify-fifo.js';

interface LogRec { level: number; msg: string }

let dir = '';
const children: ChildProcess[] = [];
const fifos: NotifyFifo[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hk-fifo-'));
  chmodSync(dir, 0o755);
});
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await Promise.all(fifos.splice(0).map((f) => f.close()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function make(name: string, over: Partial<NotifyFifoOptions> = {}): { f: NotifyFifo; logs: LogRec[]; path: string } {
  const logs: LogRec[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (l: string) => { logs.push(JSON.parse(l) as LogRec); } } });
  const path = join(dir, name);
  const f = new NotifyFifo({ keyword: 'vrrp_notify_fifo', path, owner: null, script: null, runner: null, log, maxQueue: 50, retryMs: 10, ...over });
  fifos.push(f);
  return { f, logs, path };
}

/** A reader process; `text()` is what it has read so far. */
function reader(cmd: string, args: string[]): { child: ChildProcess; text: () => string; exited: Promise<void> } {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return { child, text: () => out, exited };
}

async function until(what: () => boolean, ms = 5000): Promise<void> {
  const end = performance.now() + ms;
  while (!what()) {
    if (performance.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const line = (i: number): string => fifoLine('INSTANCE', `VI_${i}`, 'MASTER', 100);

describe('NotifyFifo', () => {
  it('creates the FIFO (mode 0644, lib/notify.c:255) and writes lines in order', async () => {
    const { f, path } = make('a.fifo');
    f.write(line(1)); // before open: queued
    expect(await f.open()).toBe(true);
    const st = statSync(path);
    expect(st.isFIFO()).toBe(true);
    expect(st.mode & 0o777).toBe(0o644);
    const r = reader('head', ['-n', '3', path]);
    f.write(line(2));
    f.write(fifoLine('GROUP', 'G1', 'BACKUP', 0));
    await r.exited;
    expect(r.text()).toBe('INSTANCE "VI_1" MASTER 100\nINSTANCE "VI_2" MASTER 100\nGROUP "G1" BACKUP 0\n');
    expect(f.status()).toMatchObject({ state: 'open', written: 3, dropped: 0, queued: 0, created: true });
    await f.close();
    expect(existsSync(path)).toBe(false); // created by us: removed (lib/notify.c:305-311)
  });

  it('a reader that goes away blocks nothing; lines are dropped and counted; a new reader gets new lines', async () => {
    const { f, path, logs } = make('b.fifo');
    await f.open();
    const first = reader('head', ['-n', '2', path]);
    f.write(line(1));
    f.write(line(2));
    await first.exited;
    expect(first.text()).toBe(`${line(1)}${line(2)}`);
    // Nobody reads now: the pipe (64 KiB) fills, then the queue (50), then lines are dropped.
    const t = performance.now();
    for (let i = 0; i < 5000; i++) f.write(line(i));
    expect(performance.now() - t).toBeLessThan(1000);
    const s = f.status();
    expect(s.dropped).toBeGreaterThan(1000);
    expect(s.queued).toBe(50);
    expect(logs.filter((l) => l.level === 40 && l.msg.includes('nobody is reading it'))).toHaveLength(1); // rate-limited
    // A new reader: what the pipe held, then the queue, then new lines.
    const second = reader('cat', [path]);
    await until(() => f.status().queued === 0);
    f.write(fifoLine('INSTANCE', 'NEW', 'BACKUP', 1));
    await until(() => second.text().endsWith('INSTANCE "NEW" BACKUP 1\n'));
    const got = second.text().trim().split('\n');
    expect(got.at(-2)).toBe(line(4999).trim()); // the newest queued lines were kept
    expect(f.status().written + f.status().dropped).toBe(5003);
  });

  it('uses an existing FIFO and leaves it in place at close', async () => {
    const path = join(dir, 'c.fifo');
    execFileSync('mkfifo', [path]);
    const { f } = make('c.fifo');
    expect(await f.open()).toBe(true);
    expect(f.status().created).toBe(false);
    await f.close();
    expect(lstatSync(path).isFIFO()).toBe(true);
  });

  it('refuses a regular file, a symlink and a missing directory, saying what to do; writes are then ignored', async () => {
    writeFileSync(join(dir, 'plain'), 'x');
    const plain = make('plain');
    expect(await plain.f.open()).toBe(false);
    expect(plain.logs.find((l) => l.level === 50)?.msg).toBe(`vrrp_notify_fifo ${plain.path}: exists and is not a FIFO; remove it or choose another path. No vrrp_notify_fifo lines will be written`);
    plain.f.write(line(1));
    expect(plain.f.status()).toMatchObject({ state: 'failed', queued: 0 });

    execFileSync('mkfifo', [join(dir, 'target.fifo')]);
    symlinkSync(join(dir, 'target.fifo'), join(dir, 'link.fifo'));
    const link = make('link.fifo');
    expect(await link.f.open()).toBe(false);
    expect(link.f.status().error).toMatch(/symbolic link/);

    const missing = make('no/such/dir.fifo');
    expect(await missing.f.open()).toBe(false);
    expect(missing.f.status().error).toMatch(/cannot create the FIFO/);
    expect(missing.logs.find((l) => l.level === 50)?.msg).toMatch(/check that its directory exists/);
  });

  it('an unknown FIFO user: not created, not used (global_parser.c:1350-1353)', async () => {
    const { f, path } = make('d.fifo', { owner: { user: 'no-such-user-hk' } });
    expect(await f.open()).toBe(false);
    expect(f.status().error).toBe("script user 'no-such-user-hk' does not exist");
    expect(existsSync(path)).toBe(false);
  });

  it('starts the FIFO script with the path as its last argument, before opening; not restarted when it exits (vrrp.c:114-117)', async () => {
    const jobs: ScriptJob[] = [];
    let finish: (r: ScriptResult) => void = () => undefined;
    const runner = { run: (j: ScriptJob) => { jobs.push(j); return new Promise<ScriptResult>((res) => { finish = res; }); } };
    const { f, path, logs } = make('e.fifo', { script: { command: '/usr/bin/reader -x', user: 'hk', group: 'hkg' }, runner });
    await f.open();
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({
      owner: 'notify-fifo:vrrp_notify_fifo', kind: 'notify_fifo_script', name: 'vrrp_notify_fifo_script',
      command: '/usr/bin/reader -x', args: [path], user: { user: 'hk', group: 'hkg' }, timeoutMs: 0x7fffffff,
    });
    expect(f.status().scriptRunning).toBe(true);
    finish({ exitCode: 1, signal: null, timedOut: false, durationMs: 5, stdout: '', stderr: '', error: null });
    await until(() => !f.status().scriptRunning);
    expect(jobs).toHaveLength(1);
    expect(logs.some((l) => l.level === 40 && l.msg.startsWith('vrrp notify fifo script terminated (exit status 1); it is not restarted'))).toBe(true);
  });
});
