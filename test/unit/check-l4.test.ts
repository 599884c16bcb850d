// DNS_CHECK, UDP_CHECK, SMTP_CHECK, PING_CHECK and FILE_CHECK against real peers on loopback (a
// DNS server, UDP servers, an SMTP dialogue, ICMP echo through the addon, a watched file).
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsQuery, readDnsAnswer } from '../../src/check/dns-packet.js';
import { FileChecker, fileCheckStatus } from '../../src/check/file-checker.js';
import { PingChecker } from '../../src/check/ping-checker.js';
import { nativePing } from '../../src/check/ping.js';
import { SmtpChecker, smtpStatus } from '../../src/check/smtp-checker.js';
import { DnsChecker, UDP_FILLER, UdpChecker, udpReplyMatches } from '../../src/check/udp-checkers.js';
import type { DnsCheck, DnsType, FileCheck, PingCheck, SmtpCheck, UdpCheck } from '../../src/config/model.js';
import { native } from '../../src/net/native.js';
import { attempt, base, check, clock, conn, rsAt, sleep } from './check-helpers.js';

const ctx = (port: number, logAll = false) => ({ rs: rsAt(port), rsName: `[127.0.0.1]:udp:${port}`, vsName: '[10.0.0.100]:udp:53', logAll, clock });

async function udpServer(onMsg: (msg: Buffer, reply: (b: Buffer) => void) => void): Promise<{ port: number; sock: UdpSocket; close(): void }> {
  const sock = createSocket('udp4');
  sock.on('message', (m, rinfo) => onMsg(m, (b) => sock.send(b, rinfo.port, rinfo.address)));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  return { port: sock.address().port, sock, close: () => sock.close() };
}

/** A free UDP port nobody listens on: ICMP port unreachable comes back. */
async function closedUdpPort(): Promise<number> {
  const s = await udpServer(() => {});
  const p = s.port;
  s.close();
  return p;
}

/** A DNS answer for `query` with the given records (type code, rdata). */
function answer(query: Buffer, records: [number, Buffer][], rcode = 0): Buffer {
  const head = Buffer.from(query.subarray(0, 12));
  head.writeUInt16BE(0x8180 | rcode, 2);
  head.writeUInt16BE(records.length, 6);
  const q = query.subarray(12);
  const rrs = records.map(([t, rd]) => {
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0); // name: pointer to the question
    rr.writeUInt16BE(t, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(60, 6);
    rr.writeUInt16BE(rd.length, 10);
    return Buffer.concat([rr, rd]);
  });
  return Buffer.concat([head, q, ...rrs]);
}

const dns = (over: Partial<DnsCheck> = {}): DnsCheck => ({ type: 'DNS_CHECK', ...base({ retry: 0, connectTimeout: 0.5 }), ...conn(), dnsType: 'A', dnsName: 'www.example.test', ...over });

describe('DNS_CHECK (check_dns.c)', () => {
  it('the query is keepalived\'s: RD, one question, class IN; "." has no labels', () => {
    const q = dnsQuery(0x1234, 'www.example.test', 'A');
    expect(q.subarray(0, 12).toString('hex')).toBe('123401000001000000000000');
    expect(q.subarray(12).toString('hex')).toBe('03777777076578616d706c6504746573740000010001');
    expect(dnsQuery(1, '.', 'SOA').subarray(12).toString('hex')).toBe('0000060001');
  });

  it('reads answers: another id is ignored, RCODE fails, the asked type must be there', () => {
    const q = dnsQuery(7, 'a.test', 'A');
    const a = answer(q, [[1, Buffer.from([10, 0, 0, 1])]]);
    expect(readDnsAnswer(a, 7, 'A')).toEqual({ kind: 'ok' });
    expect(readDnsAnswer(a, 8, 'A')).toEqual({ kind: 'ignore' });
    expect(readDnsAnswer(answer(q, [], 3), 7, 'A')).toEqual({ kind: 'fail', detail: 'read error occurred. (rcode = 3)' });
    expect(readDnsAnswer(answer(q, [[16, Buffer.from('\x03txt')]]), 7, 'A')).toMatchObject({ kind: 'fail', detail: expect.stringContaining('no A record') });
  });

  let server: Awaited<ReturnType<typeof udpServer>>;
  let mode: 'ok' | 'silent' | 'wrong' | 'nxdomain' = 'ok';
  beforeAll(async () => {
    server = await udpServer((m, reply) => {
      if (mode === 'silent') return;
      if (mode === 'nxdomain') return reply(answer(m, [], 3));
      const type = m.readUInt16BE(m.length - 4);
      if (mode === 'wrong') return reply(answer(m, [[16, Buffer.from('\x02hi')]]));
      // Another id first (ignored), then the real answer.
      const other = Buffer.from(m);
      other.writeUInt16BE((m.readUInt16BE(0) + 1) & 0xffff, 0);
      reply(answer(other, []));
      reply(answer(m, [[type, type === 28 ? Buffer.alloc(16) : Buffer.from([127, 0, 0, 1])]]));
    });
  });
  afterAll(() => server.close());

  const rt = (t: DnsType = 'A', over: Partial<DnsCheck> = {}) => new DnsChecker(dns({ dnsType: t, ...over }), ctx(server.port));

  it('a server answering with the record: success, nothing logged', async () => {
    mode = 'ok';
    expect(await check(rt('A'))).toMatchObject({ outcome: 'success', up: true, logs: [] });
    expect(await check(rt('AAAA'))).toMatchObject({ outcome: 'success' });
  });

  it('a server not answering: "read timeout from socket"; retried `retry` times, logged on the last', async () => {
    mode = 'silent';
    const c = rt('A', { retry: 2, delayBeforeRetry: 0.1, delayLoop: 3 });
    c.resume(true);
    const a = await check(c);
    expect(a).toMatchObject({ outcome: 'timeout', change: null, logs: [], delay: 0.1 });
    await check(c);
    const last = await check(c);
    expect(last).toMatchObject({ change: 'down', delay: 3 });
    expect(last.logs).toEqual([`DNS_CHECK ([127.0.0.1]:udp:${server.port}) read timeout from socket after 2 retries`]);
  });

  it('answering the wrong type, or NXDOMAIN: down', async () => {
    mode = 'wrong';
    const w = await check(rt('A'));
    expect(w).toMatchObject({ outcome: 'failed', change: 'down' });
    expect(w.logs[0]).toMatch(/^DNS_CHECK \(\[127\.0\.0\.1\]:udp:\d+\) no A record in the answer/);
    mode = 'nxdomain';
    expect((await check(rt('A'))).logs).toEqual([`DNS_CHECK ([127.0.0.1]:udp:${server.port}) read error occurred. (rcode = 3)`]);
  });

  it('nobody on the port: ICMP port unreachable fails at once', async () => {
    const port = await closedUdpPort();
    const r = await attempt(new DnsChecker(dns(), ctx(port)));
    expect(r.outcome).toBe('failed');
    expect(r.detail).toBe('failed to read socket; errno 111 (Connection refused)');
    expect(r.ms).toBeLessThan(400);
  });
});

const udp = (over: Partial<UdpCheck> = {}): UdpCheck => ({
  type: 'UDP_CHECK', ...base({ retry: 0, connectTimeout: 0.3 }), ...conn(), payload: null, requireReply: false, replyData: null, replyMask: null,
  minReplyLength: 0, maxReplyLength: 255, ...over,
});

describe('UDP_CHECK (check_udp.c, layer4.c)', () => {
  it('the default payload is keepalived\'s filler', () => {
    expect(UDP_FILLER.toString()).toBe('keepalived check - keepalived ch');
  });
  it('reply matching: lengths, bytes, X wildcards', () => {
    const c = { minReplyLength: 2, maxReplyLength: 8, replyData: [0xab, 0xc0], replyMask: [0, 0x0f] };
    expect(udpReplyMatches(Buffer.from([0xab, 0xcd, 1]), c)).toBe(true);
    expect(udpReplyMatches(Buffer.from([0xab, 0xdd]), c)).toBe(false);
    expect(udpReplyMatches(Buffer.from([0xab]), c)).toBe(false);
    expect(udpReplyMatches(Buffer.alloc(9, 0xab), { ...c, replyData: null })).toBe(false);
  });

  let echo: Awaited<ReturnType<typeof udpServer>>;
  let silent: Awaited<ReturnType<typeof udpServer>>;
  const got: Buffer[] = [];
  beforeAll(async () => {
    echo = await udpServer((m, reply) => { got.push(m); reply(Buffer.concat([Buffer.from('OK'), m])); });
    silent = await udpServer(() => {});
  });
  afterAll(() => { echo.close(); silent.close(); });

  it('without require_reply: silence is a success, a reply too; ICMP port unreachable fails', async () => {
    expect(await check(new UdpChecker(udp(), ctx(silent.port)))).toMatchObject({ outcome: 'success', up: true });
    expect(await attempt(new UdpChecker(udp(), ctx(echo.port)))).toMatchObject({ outcome: 'success' });
    expect(got.at(-1)!.toString()).toBe('keepalived check - keepalived ch');
    const r = await check(new UdpChecker(udp(), ctx(await closedUdpPort())));
    expect(r).toMatchObject({ outcome: 'failed', change: 'down' });
    expect(r.logs).toEqual([expect.stringMatching(/^UDP_CHECK on service \[127\.0\.0\.1\]:udp:\d+ failed\.$/)]);
  });

  it('with require_reply: a matching reply succeeds, none or a wrong one fails', async () => {
    const payload = [0x01, 0x02];
    expect(await attempt(new UdpChecker(udp({ payload, requireReply: true, replyData: [0x4f, 0x4b, 0x01] }), ctx(echo.port)))).toMatchObject({ outcome: 'success' });
    expect(got.at(-1)).toEqual(Buffer.from(payload));
    expect(await attempt(new UdpChecker(udp({ payload, requireReply: true, replyData: [0x4e] }), ctx(echo.port)))).toMatchObject({ outcome: 'failed', detail: 'reply data mismatch' });
    expect(await attempt(new UdpChecker(udp({ requireReply: true }), ctx(silent.port)))).toMatchObject({ outcome: 'timeout' });
    // Lengths count only with a reply pattern (check_udp.c:268), as keepalived.
    expect(await attempt(new UdpChecker(udp({ payload, requireReply: true, replyData: [0x4f], maxReplyLength: 2 }), ctx(echo.port)))).toMatchObject({ outcome: 'failed' });
  });
});

const smtp = (over: Partial<SmtpCheck> = {}): SmtpCheck => ({ type: 'SMTP_CHECK', ...base({ retry: 0, connectTimeout: 0.5 }), ...conn(), heloName: 'smtpchecker.keepalived.org', ...over });

describe('SMTP_CHECK (check_smtp.c)', () => {
  it('status: three digits then a space or the end', () => {
    expect(smtpStatus('220 mail.example ESMTP')).toBe(220);
    expect(smtpStatus('250')).toBe(250);
    expect(smtpStatus('220-multi')).toBe(-1);
    expect(smtpStatus('220\r')).toBe(-1);
  });

  let banner = '220 mail.example.test ESMTP';
  let helo = '250 mail.example.test';
  const said: string[] = [];
  let port = 0;
  const server = createServer((s: Socket) => {
    s.on('error', () => {});
    if (banner === '') return; // silent
    s.write(`${banner}\r\n`);
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        said.push(line);
        if (line.startsWith('HELO')) s.write(`${helo}\r\n`);
        else if (line === 'QUIT') s.end('221 bye\r\n');
      }
    });
  });
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => { server.close(); });
  const rt = (over: Partial<SmtpCheck> = {}, logAll = false) => new SmtpChecker(smtp(over), { rs: rsAt(port), rsName: `[127.0.0.1]:tcp:${port}`, logAll, clock });

  it('the 220 banner, HELO helo_name, 250, QUIT: up, "Remote SMTP server … succeed on service."', async () => {
    said.length = 0;
    const r = await check(rt({ heloName: 'foo.bar.com' }));
    expect(r).toMatchObject({ outcome: 'success', up: true });
    expect(r.logs).toEqual([`Remote SMTP server [127.0.0.1]:tcp:${port} succeed on service.`]);
    expect(said).toEqual(['HELO foo.bar.com', 'QUIT']);
  });

  it('a bad banner or HELO reply fails with keepalived\'s words; retries restart at each regular check', async () => {
    banner = '554 go away';
    const c = rt({ retry: 1, delayBeforeRetry: 0.1 });
    const a = await check(c);
    expect(a).toMatchObject({ change: null, delay: 0.1, logs: [] });
    const b = await check(c);
    expect(b).toMatchObject({ change: 'down' });
    expect(b.logs).toEqual([`SMTP_CHECK Bad greeting banner from server [127.0.0.1]:${port}`]);
    banner = '220 ok';
    helo = '501 no';
    expect((await check(rt())).logs).toEqual([`SMTP_CHECK Bad HELO response from server [127.0.0.1]:${port}`]);
    helo = '250 ok';
  });

  it('silence: "Read timeout from server"', async () => {
    banner = '';
    expect(await attempt(rt())).toMatchObject({ outcome: 'timeout', detail: `Read timeout from server [127.0.0.1]:${port}` });
    banner = '220 ok';
  });
});

describe('PING_CHECK (check_ping.c) through the addon', () => {
  // The addon is a prerequisite, not an option: a stale or missing build fails here, loudly.
  const requireIcmp = (): void => {
    let why = '';
    try {
      if (typeof native().icmpEcho !== 'function') why = 'the native addon predates icmpEcho';
    } catch (e) { why = `the native addon does not load (${(e as Error).message})`; }
    if (why) throw new Error(`PING_CHECK needs ICMP echo from hakeep's addon: ${why}; rebuild it: cd native && node /usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js configure build --nodedir=/usr (or npm install)`);
  };
  const ping = (over: Partial<PingCheck> = {}): PingCheck => ({ type: 'PING_CHECK', ...base({ retry: 0, connectTimeout: 0.5 }), ...conn(), ...over });
  const rt = (ip: string, vsName = '[10.0.0.100]:tcp:80') => new PingChecker(ping({ connectIp: ip }), { rs: rsAt(80), rsName: '[127.0.0.1]:tcp:80', vsName, logAll: false, ping: nativePing });

  it('IPv4 and IPv6 echo replies: up, "ICMP connection to … success."', async () => {
    requireIcmp();
    const r = await check(rt('127.0.0.1'));
    expect(r).toMatchObject({ outcome: 'success', up: true, logs: ['ICMP connection to [127.0.0.1]:tcp:80 success.'] });
    expect(await attempt(rt('::1'))).toMatchObject({ outcome: 'success' });
    // Many at once share one socket and each gets its own reply.
    const many = await Promise.all(Array.from({ length: 50 }, (_, i) => attempt(rt(`127.0.0.${1 + (i % 5)}`))));
    expect(many.every((m) => m.outcome === 'success')).toBe(true);
  });

  it('a bad address fails at once; wording for the down line', async () => {
    requireIcmp();
    const c = rt('not-an-ip');
    const r = await check(c);
    expect(r).toMatchObject({ outcome: 'failed', change: 'down', logs: ['ICMP CHECK on service [127.0.0.1]:tcp:80 failed.'] });
  });
});

describe('FILE_CHECK (check_file.c, track_file.c)', () => {
  let dir = '';
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'hk-file-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('status: weight 0 = a non-zero value is down (reverse: zero); else value × weight is added', () => {
    expect(fileCheckStatus(0, 0, false)).toBe(0);
    expect(fileCheckStatus(3, 0, false)).toBe(-2147483648);
    expect(fileCheckStatus(0, 0, true)).toBe(-2147483648);
    expect(fileCheckStatus(5, 2, false)).toBe(10);
    expect(fileCheckStatus(5, 2, true)).toBe(-10);
  });

  it('follows the file: weight changes, down on a fault value, up again', async () => {
    const path = join(dir, 'rs1');
    writeFileSync(path, '2\n');
    const file = { name: 'tf', loc: { file: 'k', line: 1 }, file: path, weight: 3, weightReverse: false, initFile: null };
    const c: FileCheck = { type: 'FILE_CHECK', ...base(), trackFile: 'tf', weight: null, weightReverse: null };
    const rt = new FileChecker(c, { rsName: 'rs', file, log: () => {}, settleMs: 5 });
    expect(rt.up).toBe(true);
    expect(rt.curWeight).toBe(6);
    const steps: { change: string | null; weightChanged?: boolean }[] = [];
    const stop = rt.watch((s) => steps.push(s));
    writeFileSync(path, '4\n');
    await waitFor(() => rt.curWeight === 12);
    // A zero-weight FILE_CHECK on the same file: non-zero = down.
    const z = new FileChecker({ ...c, weight: 0, weightReverse: false }, { rsName: 'rs', file, log: () => {}, settleMs: 5 });
    expect(z.up).toBe(false);
    const zs: { change: string | null }[] = [];
    const stopZ = z.watch((s) => zs.push(s));
    writeFileSync(path, '0\n');
    await waitFor(() => z.up);
    expect(zs.at(-1)?.change).toBe('up');
    expect(rt.curWeight).toBe(0);
    stop();
    stopZ();
    expect(steps.some((s) => s.weightChanged)).toBe(true);
  });
});

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('condition not met in time');
    await sleep(10);
  }
}
