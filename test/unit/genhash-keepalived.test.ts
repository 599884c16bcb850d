// `hakeep genhash` against keepalived's own `genhash` (keepalived's package ships it): the same pages
// served on loopback, both tools run as the operator runs them (processes, command-line options),
// the printed digests compared byte for byte. Pages: plain, empty, large (streamed in pieces),
// chunked, without Content-Length, longer than its Content-Length, an error status, per virtual
// host (-V), HTTP/1.1 and 1.0C (-P), and over TLS (-S, with -I for SNI).
//
// hakeep runs from bin/hakeep.js (its dist/ is built by `npm test`); HAKEEP_BIN=/path/to/bin/hakeep.js
// runs a private build instead.
import { createHash } from 'node:crypto';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './check-build.js';
import { rawHttpServer, type RawServer } from './check-helpers.js';

const KA_GENHASH = '/usr/bin/genhash';
const HAKEEP = process.env.HAKEEP_BIN ?? join(ROOT, 'bin/hakeep.js');
const md5 = (b: string | Buffer): string => createHash('md5').update(b).digest('hex');

interface Run { code: number; stdout: string; stderr: string }
function run(cmd: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: 15_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
const theirs = (args: string[]): Promise<Run> => run(KA_GENHASH, args);
const ours = (args: string[]): Promise<Run> => run(process.execPath, [HAKEEP, 'genhash', ...args]);

/** A deterministic 3 MiB body: not one repeated byte, so an offset error changes the digest. */
const LARGE = Buffer.alloc(3 * 1024 * 1024);
for (let i = 0; i < LARGE.length; i++) LARGE[i] = (i * 7 + (i >> 11)) & 0xff;
const CHUNKED = '4\r\nabcd\r\n1a\r\nefghijklmnopqrstuvwxyz0123\r\n0\r\n\r\n';

/** Writes `body` in pieces of `size`, waiting for the socket to drain and `gapMs` between them. */
function stream(sock: Socket, head: string, body: Buffer, size: number, gapMs: number): void {
  sock.write(head);
  let off = 0;
  const more = (): void => {
    if (sock.destroyed) return;
    if (off >= body.length) return void sock.end();
    const piece = body.subarray(off, off + size);
    off += piece.length;
    const ok = sock.write(piece);
    const next = (): void => void setTimeout(more, gapMs);
    if (ok) next(); else sock.once('drain', next);
  };
  more();
}

/** The pages both tools fetch; the expected digest where it is plain (the body bytes after the headers). */
function page(req: string, sock: Socket): void {
  const path = req.split(' ')[1] ?? '/';
  const host = /\r\nHost: ([^\r]*)\r\n/.exec(req)?.[1] ?? '';
  const send = (head: string, body: string | Buffer): void => void sock.end(Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(body)]));
  switch (path) {
    case '/': return send('HTTP/1.0 200 OK\r\nContent-Length: 17\r\n\r\n', '<html>ok</html>\r\n');
    case '/empty': return send('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n', '');
    case '/large': return stream(sock, `HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${LARGE.length}\r\n\r\n`, LARGE, 64 * 1024, 0);
    case '/chunked': return send('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', CHUNKED);
    case '/no-length': return stream(sock, 'HTTP/1.0 200 OK\r\nServer: t\r\n\r\n', Buffer.from('close-delimited body, sent in small pieces\n'), 7, 5);
    case '/overlong': return send('HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\n', 'hello, and more than Content-Length said');
    case '/missing': return send('HTTP/1.0 404 Not Found\r\nContent-Length: 10\r\n\r\n', 'not found\n');
    case '/vhost': return send(`HTTP/1.0 200 OK\r\nContent-Length: ${`site ${host}\n`.length}\r\n\r\n`, `site ${host}\n`);
    case '/proto': return send(`HTTP/1.1 200 OK\r\nContent-Length: ${req.length}\r\n\r\n`, req); // the request itself: any difference shows
    default: return send('HTTP/1.0 500 Oops\r\nContent-Length: 0\r\n\r\n', '');
  }
}

let web: RawServer;
let tls: TlsServer;
let tlsPort = 0;
let dir = '';

beforeAll(async () => {
  if (!existsSync(KA_GENHASH)) {
    throw new Error(`keepalived's genhash is missing (${KA_GENHASH}): apt-get install -y keepalived (scripts/setup.sh installs it)`);
  }
  if (!existsSync(HAKEEP)) throw new Error(`${HAKEEP} is missing`);
  if (!process.env.HAKEEP_BIN && !existsSync(join(dirname(HAKEEP), '../dist/cli.js'))) {
    throw new Error('dist/ is not built: run `npm run build` (npm test does it), or set HAKEEP_BIN to a private build\'s bin/hakeep.js');
  }
  web = await rawHttpServer(page);
  dir = mkdtempSync(join(tmpdir(), 'hk-genhash-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=self-signed.test'], { stdio: 'ignore' });
  tls = createTlsServer({ cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) }, (sock: TLSSocket) => {
    sock.on('error', () => {});
    let buf = '';
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      if (!buf.includes('\r\n\r\n')) return;
      // The body names the SNI the server saw, so -I with and without a name hash differently.
      const sni = (sock as TLSSocket & { servername?: string | false }).servername || '-';
      const body = buf.startsWith('GET /large') ? LARGE : Buffer.from(`tls page, sni ${sni}\n`);
      stream(sock, `HTTP/1.0 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`, body, 16 * 1024, 0);
      buf = '';
    });
  });
  tls.on('tlsClientError', () => {});
  await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
  tlsPort = (tls.address() as { port: number }).port;
});

afterAll(async () => {
  await web?.close();
  if (tls) await new Promise((r) => tls.close(r));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Both tools on the same page: equal stdout and exit code; returns the digest printed. */
async function same(extra: string[], ssl = false): Promise<string> {
  const args = [...(ssl ? ['-S'] : []), '-s', '127.0.0.1', '-p', String(ssl ? tlsPort : web.port), ...extra];
  const [k, h] = await Promise.all([theirs(args), ours(args)]);
  const label = `genhash ${args.join(' ')}\nkeepalived: ${JSON.stringify(k)}\nhakeep: ${JSON.stringify(h)}`;
  expect(k.code, label).toBe(0);
  expect(k.stdout, label).toMatch(/^[0-9a-f]{32}\n$/);
  expect(h.stdout, label).toBe(k.stdout);
  expect(h.code, label).toBe(k.code);
  return h.stdout.trim();
}

describe('hakeep genhash prints keepalived genhash\'s digest', () => {
  it('a plain page and an empty one (the digest of the body bytes)', async () => {
    expect(await same(['-u', '/'])).toBe(md5('<html>ok</html>\r\n'));
    expect(await same(['-u', '/empty'])).toBe(md5(''));
  });

  it('a 3 MiB page streamed in 64 KiB pieces', async () => {
    expect(await same(['-u', '/large'])).toBe(md5(LARGE));
  });

  it('chunked encoding: the framing is hashed with the data, as keepalived does', async () => {
    expect(await same(['-u', '/chunked', '-P', '1.1'])).toBe(md5(CHUNKED));
  });

  it('no Content-Length (to the close, in small pieces), a body longer than its Content-Length, a 404', async () => {
    expect(await same(['-u', '/no-length'])).toBe(md5('close-delimited body, sent in small pieces\n'));
    await same(['-u', '/overlong']);
    await same(['-u', '/missing']);
  });

  it('a virtual host (-V) and the address as Host otherwise', async () => {
    const a = await same(['-u', '/vhost', '-V', 'www.example.test']);
    expect(a).toBe(md5('site www.example.test\n'));
    expect(await same(['-u', '/vhost'])).toBe(md5(`site 127.0.0.1:${web.port}\n`));
  });

  it('the request is the same byte for byte: HTTP/1.0, 1.0C and 1.1 (-P), with -V', async () => {
    for (const p of [[], ['-P', '1.0c'], ['-P', '1.1'], ['-P', '1.1', '-V', 'v.example.test']]) await same(['-u', '/proto', ...p]);
  });

  it('over TLS with a self-signed certificate (-S), with SNI (-I -V) and a large page', async () => {
    expect(await same(['-u', '/'], true)).toBe(md5('tls page, sni -\n'));
    expect(await same(['-u', '/', '-I', '-V', 'sni.example.test'], true)).toBe(md5('tls page, sni sni.example.test\n'));
    expect(await same(['-u', '/large'], true)).toBe(md5(LARGE));
  });
});
