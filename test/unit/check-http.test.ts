// HTTP_GET / SSL_GET against real servers on loopback: keepalived's request, its reading of the
// response (status, digest, regex), its url iteration and retries, timeouts per step, streaming.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, createSecureContext } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpChecker, buildRequest, sniFor } from '../../src/check/http-checker.js';
import { extractContentLength, extractStatusCode, ResponseReader } from '../../src/check/http-response.js';
import { genhash, parseGenhashArgs } from '../../src/check/genhash.js';
import type { Config, HttpCheck, HttpUrl } from '../../src/config/model.js';
import { attempt, check, clock, httpCheck, rawHttpServer, respond, rsAt, url, vsOf, type RawServer } from './check-helpers.js';

const logs: string[] = [];
function checker(port: number, c: HttpCheck, rsOver = {}, vsOver = {}): HttpChecker {
  const rs = rsAt(port, rsOver);
  return new HttpChecker(c, {
    vs: vsOf([rs], vsOver), rs, rsName: `[127.0.0.1]:tcp:${port}`, vsName: '[10.0.0.100]:tcp:80', logAll: false, clock,
    log: (_l, m) => logs.push(m),
  });
}
const md5 = (b: string | Buffer): string => createHash('md5').update(b).digest('hex');

describe('HTTP response reading (lib/html.c)', () => {
  const b = (s: string) => Buffer.from(s, 'latin1');
  it('status code: three digits after the first space, then a space', () => {
    expect(extractStatusCode(b('HTTP/1.1 200 OK\r\n'), 17)).toBe(200);
    expect(extractStatusCode(b('HTTP/1.1 200\r\n'), 14)).toBe(0); // no reason phrase: keepalived reads 0
    expect(extractStatusCode(b('HTTP/1.1 2000 OK\r\n'), 18)).toBe(0);
  });
  it('Content-Length: case-sensitive, as strtoul reads it', () => {
    expect(extractContentLength(b('HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\n'), 41)).toBe(12);
    expect(extractContentLength(b('HTTP/1.0 200 OK\r\ncontent-length: 12\r\n\r\n'), 41)).toBeNull();
    expect(extractContentLength(b('HTTP/1.0 200 OK\r\nContent-Length: 12x\r\n\r\n'), 42)).toBeNull();
  });
  it('hashes the raw body after the headers, up to Content-Length, and stops when it has what it needs', () => {
    const r = new ResponseReader({ statusCodes: [[200, 299]], digest: true, regex: null });
    expect(r.feed(b('HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhel'))).toBe(false);
    expect(r.feed(b('loEXTRA'))).toBe(true);
    expect(r.finish(md5('hello'))).toEqual({ ok: true, msg: 'MD5 digest' });
    // Only the status is needed: done at the headers.
    const s = new ResponseReader({ statusCodes: [[200, 299]], digest: false, regex: null });
    expect(s.feed(b('HTTP/1.0 200 OK\r\n\r\n'))).toBe(true);
    // A wrong status settles it too.
    const w = new ResponseReader({ statusCodes: [[200, 299]], digest: true, regex: null });
    expect(w.feed(b('HTTP/1.0 500 Oops\r\n\r\n'))).toBe(true);
    expect(w.finish(null)).toEqual({ ok: false, detail: 'HTTP status code error to' });
  });
  it('headers beyond keepalived\'s 4,095-byte buffer read as no data', () => {
    const r = new ResponseReader({ statusCodes: [[200, 299]], digest: false, regex: null });
    expect(r.feed(b(`HTTP/1.0 200 OK\r\nX: ${'a'.repeat(5000)}\r\n\r\n`))).toBe(true);
    expect(r.finish(null)).toEqual({ ok: false, detail: 'Read, no data received from' });
  });
  it('a regex sees the headers too and finds a match split across reads', () => {
    const rx = { pattern: 'needle', flags: '', noMatch: false, minOffset: 0, maxOffset: null };
    const r = new ResponseReader({ statusCodes: [[200, 299]], digest: false, regex: rx });
    r.feed(b('HTTP/1.0 200 OK\r\n\r\nhay nee'));
    expect(r.feed(b('dle hay'))).toBe(true);
    expect(r.finish(null)).toEqual({ ok: true, msg: 'Regex match' });
    const h = new ResponseReader({ statusCodes: [[200, 299]], digest: false, regex: { ...rx, pattern: 'Server: x' } });
    expect(h.feed(b('HTTP/1.0 200 OK\r\nServer: x\r\n\r\nbody'))).toBe(true);
    expect(h.finish(null)).toMatchObject({ ok: true });
    // regex_max_offset: a match starting beyond it does not count.
    const m = new ResponseReader({ statusCodes: [[200, 299]], digest: false, regex: { ...rx, maxOffset: 20 } });
    m.feed(b(`HTTP/1.0 200 OK\r\n\r\n${'x'.repeat(50)}needle`));
    expect(m.finish(null)).toEqual({ ok: false, detail: 'Regex match failed' });
    // regex_no_match: a match fails.
    const n = new ResponseReader({ statusCodes: [[200, 299]], digest: false, regex: { ...rx, noMatch: true } });
    n.feed(b('HTTP/1.0 200 OK\r\n\r\nneedle'));
    expect(n.finish(null)).toEqual({ ok: false, detail: 'Regex match failed' });
  });
});

describe('the request (check_http.c:1572-1651)', () => {
  it('GET line, User-Agent, Connection: close for 1.0C and 1.1, Host from the vhost cascade or the address', () => {
    const u = url('/health');
    expect(buildRequest(u, { httpProtocol: '1.0', virtualhost: null }, null, null, '10.0.0.2', 8080))
      .toBe('GET /health HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 10.0.0.2:8080\r\n\r\n');
    expect(buildRequest(u, { httpProtocol: '1.1', virtualhost: null }, null, null, '2001:db8::2', 80))
      .toBe('GET /health HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: [2001:db8::2]:80\r\n\r\n');
    expect(buildRequest(u, { httpProtocol: '1.0C', virtualhost: null }, 'rs.example', 'vs.example', '10.0.0.2', 80)).toContain('HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: rs.example\r\n');
    expect(buildRequest(u, { httpProtocol: '1.0', virtualhost: 'chk.example' }, 'rs.example', 'vs.example', '10.0.0.2', 80)).toContain('Host: chk.example\r\n');
    expect(buildRequest(url('/', { virtualhost: 'url.example' }), { httpProtocol: '1.0', virtualhost: 'chk.example' }, null, null, '10.0.0.2', 80)).toContain('Host: url.example\r\n');
    expect(buildRequest(u, { httpProtocol: '1.0', virtualhost: null }, null, 'vs.example', '10.0.0.2', 80)).toContain('Host: vs.example\r\n');
  });
  it('SNI only with enable_sni: sni_name, else the url\'s, the checker\'s, the virtual server\'s virtualhost', () => {
    const c = { enableSni: false, sniName: null, virtualhost: 'chk' };
    expect(sniFor(c, url('/'), 'vs')).toBeUndefined();
    expect(sniFor({ ...c, enableSni: true }, url('/', { virtualhost: 'u' }), 'vs')).toBe('u');
    expect(sniFor({ ...c, enableSni: true }, url('/'), 'vs')).toBe('chk');
    expect(sniFor({ ...c, enableSni: true, virtualhost: null }, url('/'), 'vs')).toBe('vs');
    expect(sniFor({ ...c, enableSni: true, sniName: 'sni' }, url('/', { virtualhost: 'u' }), 'vs')).toBe('sni');
  });
});

describe('HTTP_GET on loopback', () => {
  let ok: RawServer;
  let err: RawServer;
  beforeAll(async () => {
    ok = await rawHttpServer(respond('200 OK', 'hello world'));
    err = await rawHttpServer(respond('500 Internal Server Error', 'oops'));
  });
  afterAll(async () => { await ok.close(); await err.close(); });

  it('200: up; the first check logs "Remote Web server … succeed on service."; the request is keepalived\'s', async () => {
    const rt = checker(ok.port, httpCheck([url('/ping')]));
    const r = await check(rt);
    expect(r).toMatchObject({ outcome: 'success', detail: 'HTTP status code', up: true, change: null, delay: 1 });
    expect(r.logs).toEqual([`Remote Web server [127.0.0.1]:tcp:${ok.port} succeed on service.`]);
    expect(ok.requests.at(-1)).toBe(`GET /ping HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:${ok.port}\r\n\r\n`);
    expect((await check(rt)).logs).toEqual([]);
  });

  it('500: retried `retry` times delay_before_retry apart, then down ("failed after N retries."); back on 200', async () => {
    const rt = checker(err.port, httpCheck([url('/')], { retry: 2, delayBeforeRetry: 3, delayLoop: 5 }));
    // First check at start: retries start used up, one failure takes it down.
    rt.resume(true);
    const a = await check(rt);
    expect(a).toMatchObject({ outcome: 'failed', detail: 'HTTP status code error to', change: null, delay: 3, up: true });
    expect((await check(rt))).toMatchObject({ change: null, delay: 3 });
    const c = await check(rt);
    expect(c).toMatchObject({ change: 'down', up: false, delay: 5 });
    expect(c.logs).toEqual([`HTTP_CHECK on service [127.0.0.1]:tcp:${err.port} failed after 2 retries.`]);
    // While down: no retries, no lines; the failed url every max(delay_loop, delay_before_retry).
    expect(await check(rt)).toMatchObject({ change: null, logs: [], delay: 5 });
  });

  it('a server down at start goes down at its first failure', async () => {
    const rt = checker(err.port, httpCheck([url('/')], { retry: 3 }));
    const r = await check(rt);
    expect(r).toMatchObject({ change: 'down', up: false });
    expect(r.logs).toEqual([`HTTP_CHECK on service [127.0.0.1]:tcp:${err.port} failed after 3 retries.`]);
  });

  it('coming back: "HTTP status code success to … url(PATH)", then "Remote Web server … succeed on service."', async () => {
    let status = '500 Oops';
    const s = await rawHttpServer((req, sock) => respond(status, 'x')(req, sock));
    const rt = checker(s.port, httpCheck([url('/a'), url('/b')], { retry: 0 }));
    rt.resume(true);
    expect(await check(rt)).toMatchObject({ change: 'down' });
    status = '200 OK';
    const a = await check(rt);
    expect(a).toMatchObject({ change: null, up: false });
    expect(a.logs).toEqual([`HTTP status code success to [127.0.0.1]:tcp:${s.port} url(/a)`]);
    // The failed url answered: every url again, from the first (check_http.c:1042-1047).
    expect((await check(rt)).logs).toEqual([`HTTP status code success to [127.0.0.1]:tcp:${s.port} url(/a)`]);
    const b = await check(rt);
    expect(b.logs).toEqual([`HTTP status code success to [127.0.0.1]:tcp:${s.port} url(/b)`, `Remote Web server [127.0.0.1]:tcp:${s.port} succeed on service.`]);
    expect(b).toMatchObject({ change: 'up', up: true });
    expect(s.requests.map((r) => r.split(' ')[1])).toEqual(['/a', '/a', '/a', '/b']);
    await s.close();
  });

  it('fast_recovery: a recovering server\'s urls back to back (delay 0)', async () => {
    const rt = checker(ok.port, httpCheck([url('/a'), url('/b')], { fastRecovery: true, alpha: true }));
    expect(await check(rt)).toMatchObject({ delay: 0, up: false });
    expect(await check(rt)).toMatchObject({ change: 'up', delay: 1 });
  });

  it('connection refused: "Error connecting"', async () => {
    const s = await rawHttpServer(() => {});
    const port = s.port;
    await s.close();
    const r = await attempt(checker(port, httpCheck([url('/')])));
    expect(r).toMatchObject({ outcome: 'failed', detail: 'Error connecting' });
  });

  it('a wrong digest fails ("MD5 digest error to"), the right one succeeds', async () => {
    expect(await attempt(checker(ok.port, httpCheck([url('/', { digest: md5('other') })])))).toMatchObject({ outcome: 'failed', detail: 'MD5 digest error to' });
    expect(await attempt(checker(ok.port, httpCheck([url('/', { digest: md5('hello world') })])))).toMatchObject({ outcome: 'success', detail: 'MD5 digest' });
  });

  it('a redirect is a failure unless status_code lists it (keepalived does not follow it)', async () => {
    const s = await rawHttpServer(respond('301 Moved Permanently', '', { Location: 'http://example.invalid/' }));
    expect(await attempt(checker(s.port, httpCheck([url('/')])))).toMatchObject({ outcome: 'failed', detail: 'HTTP status code error to' });
    expect(await attempt(checker(s.port, httpCheck([url('/', { statusCodes: [[200, 200], [300, 399]] })])))).toMatchObject({ outcome: 'success' });
    await s.close();
  });

  it('chunked encoding: the digest covers the body as sent, chunk framing included (as keepalived)', async () => {
    const raw = '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n';
    const s = await rawHttpServer((_q, sock) => {
      sock.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n');
      setTimeout(() => sock.end(raw), 20);
    });
    expect(await attempt(checker(s.port, httpCheck([url('/', { digest: md5(raw) })], { httpProtocol: '1.1' })))).toMatchObject({ outcome: 'success', detail: 'MD5 digest' });
    expect(await attempt(checker(s.port, httpCheck([url('/', { digest: md5('hello world') })], { httpProtocol: '1.1' })))).toMatchObject({ outcome: 'failed', detail: 'MD5 digest error to' });
    await s.close();
  });

  it('a slow body: status-only checks stop at the headers; a digest waits while bytes keep coming and times out when they stop', async () => {
    const s = await rawHttpServer((req, sock) => {
      const stall = req.startsWith('GET /stall');
      sock.write('HTTP/1.0 200 OK\r\n\r\n');
      let n = 0;
      const t = setInterval(() => {
        if (sock.destroyed) return clearInterval(t);
        if (stall && n >= 1) return; // one piece, then silence
        sock.write('x');
        if (++n === 4) { clearInterval(t); sock.end(); }
      }, 400);
    });
    const fast = await attempt(checker(s.port, httpCheck([url('/')], { connectTimeout: 1 })));
    expect(fast).toMatchObject({ outcome: 'success' });
    expect(fast.ms).toBeLessThan(300);
    const slow = await attempt(checker(s.port, httpCheck([url('/', { digest: md5('xxxx') })], { connectTimeout: 1 })));
    expect(slow).toMatchObject({ outcome: 'success', detail: 'MD5 digest' });
    expect(slow.ms).toBeGreaterThan(1200); // longer than connect_timeout in all: the timeout is per read
    const stalled = await attempt(checker(s.port, httpCheck([url('/stall', { digest: md5('xxxx') })], { connectTimeout: 1 })));
    expect(stalled).toMatchObject({ outcome: 'timeout', detail: 'Timeout HTTP read' });
    await s.close();
  });

  it('no answer at all: "Timeout WEB read"', async () => {
    const s = await rawHttpServer(() => {});
    expect(await attempt(checker(s.port, httpCheck([url('/')], { connectTimeout: 0.3 })))).toMatchObject({ outcome: 'timeout', detail: 'Timeout WEB read' });
    await s.close();
  });

  it('a body of 64 MiB is hashed as it streams: memory stays flat', async () => {
    const piece = Buffer.alloc(1 << 20, 'a');
    const total = 64;
    const s = await rawHttpServer((_q, sock) => {
      sock.write(`HTTP/1.0 200 OK\r\nContent-Length: ${total * piece.length}\r\n\r\n`);
      let i = 0;
      const more = (): void => {
        while (i < total) {
          i++;
          if (!sock.write(piece)) return void sock.once('drain', more);
        }
        sock.end();
      };
      more();
    });
    const h = createHash('md5');
    for (let i = 0; i < total; i++) h.update(piece);
    global.gc?.();
    const before = process.memoryUsage();
    let peak = 0;
    const sampler = setInterval(() => { const m = process.memoryUsage(); peak = Math.max(peak, m.heapUsed + m.arrayBuffers - before.heapUsed - before.arrayBuffers); }, 5);
    const r = await attempt(checker(s.port, httpCheck([url('/', { digest: h.digest('hex') })], { connectTimeout: 5 })));
    clearInterval(sampler);
    expect(r).toMatchObject({ outcome: 'success', detail: 'MD5 digest' });
    // The server side's own buffers are in this process too; the checker keeps none of the body.
    expect(peak).toBeLessThan(24 * 1024 * 1024);
    await s.close();
  });

  it('regex and regex_no_match against a live page', async () => {
    const page = await rawHttpServer(respond('200 OK', '<html>status: GREEN</html>'));
    const rx = (pattern: string, over = {}): HttpUrl => url('/', { regex: { pattern, flags: '', noMatch: false, minOffset: 0, maxOffset: null, ...over } });
    expect(await attempt(checker(page.port, httpCheck([rx('status: (GREEN|YELLOW)')])))).toMatchObject({ outcome: 'success', detail: 'Regex match' });
    expect(await attempt(checker(page.port, httpCheck([rx('RED')])))).toMatchObject({ outcome: 'failed', detail: 'Regex match failed' });
    expect(await attempt(checker(page.port, httpCheck([rx('RED', { noMatch: true })])))).toMatchObject({ outcome: 'success' });
    expect(await attempt(checker(page.port, httpCheck([rx('green', { flags: 'i' })])))).toMatchObject({ outcome: 'success' });
    await page.close();
  });

  it('Content-Length that differs from the bytes received is logged once, not a failure', async () => {
    const s = await rawHttpServer((_q, sock) => sock.end('HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nshort'));
    logs.length = 0;
    const rt = checker(s.port, httpCheck([url('/', { digest: md5('short') })]));
    expect(await attempt(rt)).toMatchObject({ outcome: 'success' });
    await attempt(rt);
    expect(logs.filter((l) => l.includes('does not match received bytes'))).toHaveLength(1);
    expect(logs[0]).toBe(`http_check for RS [127.0.0.1]:tcp:${s.port} VS [10.0.0.100]:tcp:80 url /: content_length (10) does not match received bytes (5)`);
    await s.close();
  });
});

describe('SSL_GET on loopback (self-signed certificate, SNI)', () => {
  let dir: string;
  let port = 0;
  const seenSni: (string | null)[] = [];
  let server: ReturnType<typeof createTlsServer>;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hk-ssl-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=default.test'], { stdio: 'ignore' });
    const cert = readFileSync(join(dir, 'cert.pem'));
    const key = readFileSync(join(dir, 'key.pem'));
    server = createTlsServer({ cert, key, SNICallback: (name, cb) => { seenSni.push(name); cb(null, createSecureContext({ cert, key })); } }, (sock) => {
      sock.on('error', () => {});
      let buf = '';
      sock.on('data', (d) => {
        buf += d.toString();
        if (!buf.includes('\r\n\r\n')) return;
        sock.end(`HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nsecure`);
      });
    });
    server.on('tlsClientError', () => {});
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('checks over TLS without verifying the certificate (as keepalived)', async () => {
    const rt = checker(port, httpCheck([url('/', { digest: md5('secure') })], { type: 'SSL_GET' }));
    const r = await check(rt);
    expect(r).toMatchObject({ outcome: 'success', detail: 'MD5 digest', up: true });
    expect(r.logs).toEqual([`Remote Web server [127.0.0.1]:tcp:${port} succeed on service.`]);
  });

  it('sends SNI only with enable_sni; sni_name wins', async () => {
    seenSni.length = 0;
    await attempt(checker(port, httpCheck([url('/')], { type: 'SSL_GET', virtualhost: 'www.example.test' })));
    await attempt(checker(port, httpCheck([url('/')], { type: 'SSL_GET', virtualhost: 'www.example.test', enableSni: true })));
    await attempt(checker(port, httpCheck([url('/')], { type: 'SSL_GET', virtualhost: 'www.example.test', enableSni: true, sniName: 'sni.example.test' })));
    expect(seenSni).toEqual(['www.example.test', 'sni.example.test']);
  });

  it('the global SSL block: a client certificate (key with a password) for a server that requires one', async () => {
    const ca = join(dir, 'ca');
    const run = (args: string[]): void => { execFileSync('openssl', args, { stdio: 'ignore' }); };
    run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '1', '-subj', '/CN=test-ca']);
    run(['req', '-newkey', 'rsa:2048', '-passout', 'pass:s3cret', '-keyout', join(dir, 'client.key'), '-out', join(dir, 'client.csr'), '-subj', '/CN=hakeep-client']);
    run(['x509', '-req', '-in', join(dir, 'client.csr'), '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', join(dir, 'client.pem'), '-days', '1']);
    const strict = createTlsServer({ cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')), ca: readFileSync(`${ca}.pem`), requestCert: true, rejectUnauthorized: true }, (sock) => {
      sock.on('error', () => {});
      sock.once('data', () => sock.end(`HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n${(sock.getPeerCertificate().subject?.CN ?? '?').slice(0, 2)}`));
    });
    strict.on('tlsClientError', () => {});
    await new Promise<void>((r) => strict.listen(0, '127.0.0.1', r));
    const sp = (strict.address() as { port: number }).port;
    const { createChecker, realCheckerIo } = await import('../../src/check/factory.js');
    const { config: cfgOf } = await import('./ipvs-fixtures.js');
    const rs = rsAt(sp);
    const mk = (ssl: Config['ssl']) => {
      const cfg: Config = { ...cfgOf([vsOf([rs])]), ssl };
      return createChecker(httpCheck([url('/', { digest: md5('ha') })], { type: 'SSL_GET' }), { vs: cfg.virtualServers[0]!, rs, vsName: 'vs', rsName: 'rs', config: cfg, logAll: false, clock, log: (_l, m) => logs.push(m) }, realCheckerIo());
    };
    expect(await attempt(mk(null))).toMatchObject({ outcome: 'failed' });
    const withCert = mk({ loc: { file: 'k.conf', line: 3 }, ca: `${ca}.pem`, certificate: join(dir, 'client.pem'), key: join(dir, 'client.key'), password: 's3cret' });
    expect(await attempt(withCert)).toMatchObject({ outcome: 'success', detail: 'MD5 digest' });
    // Files that do not load: an error line, and every SSL_GET check fails.
    logs.length = 0;
    expect(await attempt(mk({ loc: { file: 'k.conf', line: 3 }, ca: null, certificate: join(dir, 'nope.pem'), key: null, password: null }))).toMatchObject({ outcome: 'failed' });
    expect(logs.join('\n')).toMatch(/SSL error: cannot load the SSL block's files \(k\.conf:3\)/);
    await new Promise((r) => strict.close(r));
  });

  it('a plain HTTP server behind SSL_GET: a handshake error', async () => {
    const { createServer } = await import('node:net');
    const socks: import('node:net').Socket[] = [];
    const plain = createServer((sock) => { socks.push(sock); sock.on('error', () => {}); sock.end('HTTP/1.0 400 Bad Request\r\n\r\n'); });
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    const s = { port: (plain.address() as { port: number }).port, close: () => new Promise((r) => { for (const k of socks) k.destroy(); plain.close(r); }) };
    expect(await attempt(checker(s.port, httpCheck([url('/')], { type: 'SSL_GET' })))).toMatchObject({ outcome: 'failed', detail: 'SSL handshake/communication error connecting to' });
    await s.close();
  });

  it('genhash -S prints the digest the checker compares', async () => {
    const ours = await genhash({ server: '127.0.0.1', port, url: '/', ssl: true, sni: false, virtualhost: null, verbose: false, protocol: '1.0', timeout: 5 });
    expect(ours).toEqual({ stdout: `${md5('secure')}\n`, stderr: '', code: 0 });
    expect(await attempt(checker(port, httpCheck([url('/', { digest: ours.stdout.trim() })], { type: 'SSL_GET' })))).toMatchObject({ outcome: 'success', detail: 'MD5 digest' });
  });
});

// The comparison with keepalived's own genhash, page by page: test/unit/genhash-keepalived.test.ts.
describe('hakeep genhash', () => {
  it('parses keepalived\'s options', () => {
    expect(parseGenhashArgs(['-s', '10.0.0.2', '-p', '80', '-u', '/x', '-V', 'h', '-P', '1.1', '-t', '3'])).toEqual({
      server: '10.0.0.2', port: 80, url: '/x', ssl: false, sni: false, virtualhost: 'h', verbose: false, protocol: '1.1', timeout: 3,
    });
    expect(parseGenhashArgs(['-s', 'host.example', '-p', '80', '-u', '/'])).toEqual({ error: 'server should be an IP, not host.example' });
    expect(parseGenhashArgs(['-s', '10.0.0.2', '-u', '/'])).toMatchObject({ error: expect.stringContaining('required') });
  });
});
