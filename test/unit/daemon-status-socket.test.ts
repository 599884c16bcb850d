// The status socket's request protocol: one line per connection, root-only, and a command written
// late is still a command (it once got the status instead and was dropped). `status` answers the
// versioned document (status-format.ts); commands are authorised by the peer's credentials as the
// kernel recorded them (SO_PEERCRED through the addon's credListen), not by the file mode alone.
import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/daemon/log.js';
import { authorise, closeStatus, request, serveStatus } from '../../src/daemon/status.js';
import { native } from '../../src/net/native.js';
import { normaliseStatus } from '../../src/daemon/status-format.js';

const dir = mkdtempSync(join(tmpdir(), 'hakeep-status-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function slowClient(path: string, delayMs: number, line: string | null): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = createConnection(path);
    let data = '';
    c.setEncoding('utf8');
    c.on('connect', () => setTimeout(() => { if (line === null) c.end(); else c.write(`${line}\n`); }, delayMs));
    c.on('data', (d: string) => { data += d; });
    c.on('end', () => resolve(data));
    c.on('error', reject);
  });
}

/** One request from another process running as `uid` (the kernel records that uid at connect). */
function requestAs(uid: number, path: string, line: string): Promise<{ code: number | null; out: string; err: string }> {
  const script = `const c=require('node:net').createConnection(${JSON.stringify(path)});let d='';c.setEncoding('utf8');`
    + `c.on('connect',()=>c.write(${JSON.stringify(`${line}\n`)}));c.on('data',(x)=>d+=x);c.on('end',()=>{process.stdout.write(d)});`
    + `c.on('error',(e)=>{process.stderr.write(e.code||e.message);process.exitCode=2});`;
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['-e', script], { uid, gid: uid, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    p.stderr.on('data', (b: Buffer) => { err += b.toString(); });
    const t = setTimeout(() => { p.kill('SIGKILL'); reject(new Error('client as another uid did not finish in 10 s')); }, 10_000);
    p.on('exit', (code) => { clearTimeout(t); resolve({ code, out, err }); });
  });
}

describe('status socket', () => {
  it('answers the versioned status, commands (even written late), and silent clients that half-close', async () => {
    const path = join(dir, 's.sock');
    const seen: string[][] = [];
    const server = await serveStatus(path, () => ({ hello: 'status' }), silentLogger(), async (words) => {
      seen.push(words);
      return { ok: true, message: `did ${words.join(' ')}` };
    });
    try {
      expect(statSync(path).mode & 0o777).toBe(0o600);
      // The daemon answers its raw status with its clock; the client builds the versioned document.
      const answer = JSON.parse(await request(path, 'status')) as { hello: string; daemonClock: { mono: number; wall: number } };
      expect(answer.hello).toBe('status');
      expect(Math.abs(answer.daemonClock.wall - Date.now())).toBeLessThan(5000);
      const doc = normaliseStatus(answer, null);
      expect(doc).toMatchObject({ hello: 'status', schemaVersion: 1, services: { vrrp: null, check: null }, drained: [], health: { status: 'ok', exitCode: 0, problems: [] } });
      expect(doc.generatedAt).toBe(new Date(answer.daemonClock.wall).toISOString());
      expect(doc).not.toHaveProperty('daemonClock');
      expect(JSON.parse(await request(path, 'rs drain a b'))).toEqual({ ok: true, message: 'did rs drain a b' });
      // A command written 600 ms after connecting is still run as a command.
      expect(JSON.parse(await slowClient(path, 600, 'rs enable a b'))).toEqual({ ok: true, message: 'did rs enable a b' });
      expect(seen).toEqual([['rs', 'drain', 'a', 'b'], ['rs', 'enable', 'a', 'b']]);
      // A client that sends nothing and half-closes gets the status.
      expect(JSON.parse(await slowClient(path, 10, null))).toMatchObject({ hello: 'status', daemonClock: {} });
    } finally {
      closeStatus(server, path);
    }
  });

  it('refuses commands from a uid that is neither root nor the daemon, even when the file mode lets it in', async () => {
    if (process.geteuid?.() !== 0) throw new Error('this test needs root: it connects as uid 65534 through a real socket');
    expect(typeof native().credListen, 'the native addon has no credListen: rebuild it (native/)').toBe('function');
    const path = join(dir, 'cred.sock');
    const seen: string[][] = [];
    const server = await serveStatus(path, () => ({ topology: 'x' }), silentLogger(), async (words, peer) => {
      seen.push([...words, `uid=${peer?.uid}`]);
      return { ok: true, message: 'done' };
    });
    try {
      // Root connects: the kernel says uid 0 and the command runs, with the peer passed on.
      expect(JSON.parse(await request(path, 'rs drain a b'))).toEqual({ ok: true, message: 'done' });
      expect(seen).toEqual([['rs', 'drain', 'a', 'b', 'uid=0']]);
      // The mode keeps others out in the first place…
      const blocked = await requestAs(65534, path, 'status');
      expect(blocked.code).toBe(2);
      expect(blocked.err).toMatch(/EACCES|ENOENT/);
      // …and when a mistake opens it (chmod 0666, a traversable directory), status is readable but
      // a command is refused by the credentials, naming the uid.
      chmodSync(dir, 0o755);
      chmodSync(path, 0o666);
      const st = await requestAs(65534, path, 'status');
      expect(JSON.parse(st.out)).toMatchObject({ topology: 'x', daemonClock: {} });
      const cmd = await requestAs(65534, path, 'rs drain a b');
      const answer = JSON.parse(cmd.out) as { ok: boolean; message: string };
      expect(answer.ok).toBe(false);
      expect(answer.message).toContain('permission denied');
      expect(answer.message).toContain('uid 65534');
      const plan = JSON.parse((await requestAs(65534, path, 'plan /etc/shadow')).out) as { ok: boolean };
      expect(plan.ok).toBe(false);
      expect(seen).toHaveLength(1);
    } finally {
      chmodSync(dir, 0o700);
      closeStatus(server, path);
    }
  });

  it('without a listener that knows its peers, status is served and every command refused', async () => {
    const path = join(dir, 'plain.sock');
    let ran = 0;
    const server = await serveStatus(path, () => ({}), silentLogger(), async () => { ran++; return { ok: true, message: '' }; }, { credListen: null });
    try {
      expect(JSON.parse(await request(path, 'status'))).toHaveProperty('daemonClock');
      const r = JSON.parse(await request(path, 'rs drain a b')) as { ok: boolean; message: string };
      expect(r.ok).toBe(false);
      expect(r.message).toContain('cannot check who is asking');
      expect(ran).toBe(0);
    } finally {
      closeStatus(server, path);
    }
  });

  it('authorise: root and the daemon uid pass; others and unknown peers are refused', () => {
    expect(authorise(['rs', 'drain', 'a', 'b'], { uid: 0, gid: 0, pid: 1 }, 0)).toBeNull();
    expect(authorise(['rs', 'drain', 'a', 'b'], { uid: 990, gid: 990, pid: 1 }, 990)).toBeNull();
    expect(authorise(['rs', 'drain', 'a', 'b'], { uid: 1000, gid: 1000, pid: 42 }, 990)).toContain("hakeep's uid 990");
    expect(authorise(['rs', 'drain'], { uid: -1, gid: -1, pid: -1 }, 0)).toContain('cannot check');
    expect(authorise(['plan', 'x'], null, 0)).toContain('cannot check');
  });
});
