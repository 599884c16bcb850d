// E-mail alerts against a real SMTP server on loopback (the `smtp-server` package, an independent
// implementation), plus small raw servers for the failure paths: the message keepalived would send
// arrives (subject, body, From, To, X-Mailer, HELO name, envelope), and a server that is down,
// silent or refusing costs a rate-limited log line, never an exception in the caller.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { parseConfigText } from '../../src/config/index.js';
import { Alerter, checkerAlertText, groupAlert, quorumAlert, realServerAlert, vrrpAlert, type AlertLog } from '../../src/alert/alerts.js';
import { messageData, rfc822Date, sendMail } from '../../src/alert/smtp.js';
import { smtpServerDiagnostics } from '../../src/alert/resolve.js';

interface Received {
  from: string;
  to: string[];
  helo: string;
  data: string;
}

let server: SMTPServer;
let port = 0;
const inbox: Received[] = [];
let waiters: Array<() => void> = [];

function nextMail(timeoutMs = 5000): Promise<Received> {
  const seen = inbox.length;
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no mail within ${timeoutMs} ms`)), timeoutMs);
    const check = (): void => {
      if (inbox.length > seen) { clearTimeout(t); resolve(inbox[seen]!); } else waiters.push(check);
    };
    check();
  });
}

beforeAll(async () => {
  server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      let data = '';
      stream.setEncoding('utf8');
      stream.on('data', (c: string) => { data += c; });
      stream.on('end', () => {
        inbox.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          helo: session.hostNameAppearsAs,
          data,
        });
        const w = waiters;
        waiters = [];
        for (const f of w) f();
        callback();
      });
    },
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  port = (server.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((res) => server.close(() => res()));
});

function memLog() {
  const lines: { level: string; msg: string; fields: object }[] = [];
  const log: AlertLog = {
    info: (fields, msg) => { lines.push({ level: 'info', msg, fields }); },
    warn: (fields, msg) => { lines.push({ level: 'warn', msg, fields }); },
    debug: (fields, msg) => { lines.push({ level: 'debug', msg, fields }); },
  };
  return { lines, log };
}

const conf = (global: string, rest = '') => `global_defs {
  router_id LB1
  notification_email {
    ops@example.com
    oncall@example.com
  }
  notification_email_from lb1@example.com
  smtp_helo_name lb1.example.com
${global}}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  smtp_alert
  virtual_ipaddress {
    10.0.0.1
  }
}
vrrp_sync_group G1 {
  group {
    VI_1
  }
  smtp_alert
}
${rest}`;

function load(text: string) {
  const r = parseConfigText(text, 'alert.conf', { configId: 'test' });
  expect(r.errorCount, r.diagnostics.map((d) => `${d.line}: ${d.message}`).join('\n')).toBe(0);
  return r.config;
}

async function settle(a: Alerter, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while ((a.status().queued > 0 || a.status().sending) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
}

describe('the message (keepalived/core/smtp.c, smtp.h:99-105)', () => {
  test('Date: is strftime("%a, %d %b %Y %H:%M:%S %z") in local time', () => {
    expect(rfc822Date(new Date(2021, 2, 1, 9, 44, 8))).toMatch(/^Mon, 01 Mar 2021 09:44:08 [+-]\d{4}$/);
  });

  test('headers in keepalived\'s order, X-Mailer: Keepalived, recipients joined by ", ", the lone dot at the end', () => {
    const d = messageData({ from: 'a@x', to: ['b@x', 'c@x'], subject: 'S', body: 'B', date: new Date(2021, 0, 2, 3, 4, 5) });
    expect(d).toMatch(/^Date: Sat, 02 Jan 2021 03:04:05 [+-]\d{4}\r\nFrom: a@x\r\nSubject: S\r\nX-Mailer: Keepalived\r\nTo: b@x, c@x\r\n\r\nB\r\n\r\n\.\r\n$/);
    // A line starting with '.' is stuffed; a header value cannot break the header block.
    expect(messageData({ from: 'a@x', to: ['b@x'], subject: 'x\r\nBcc: y', body: '.hidden' })).toContain('Subject: x Bcc: y\r\n');
    expect(messageData({ from: 'a@x', to: ['b@x'], subject: 's', body: '.hidden' })).toContain('\r\n..hidden\r\n');
  });

  test('subjects and bodies of each alert', () => {
    expect(vrrpAlert('LB1', 'VI_1', 'MASTER')).toEqual({ subject: '[LB1] VRRP Instance VI_1 - Entering MASTER state', body: '=> VRRP Instance is now owning VRRP VIPs <=' });
    expect(vrrpAlert('LB1', 'VI_1', 'BACKUP')?.body).toBe('=> VRRP Instance is no longer owning VRRP VIPs <=');
    expect(vrrpAlert('LB1', 'VI_1', 'FAULT')?.subject).toBe('[LB1] VRRP Instance VI_1 - Entering FAULT state');
    expect(vrrpAlert('LB1', 'VI_1', 'STOP')).toEqual({ subject: '[LB1] VRRP Instance VI_1 - Stopping', body: '=> VRRP Instance stopping <=' });
    expect(vrrpAlert('LB1', 'VI_1', 'DELETED')?.body).toBe('=> VRRP Deleted at reload <=');
    expect(vrrpAlert('LB1', 'VI_1', 'INIT')).toBeNull();
    expect(groupAlert('LB1', 'G1', 'MASTER')).toEqual({ subject: '[LB1] VRRP Group G1 - Entering MASTER state', body: '=> All VRRP group instances are now in MASTER state <=' });
    expect(groupAlert('LB1', 'G1', 'STOP')?.body).toBe('=> All VRRP group instances are now stopping <=');
    const vs = { address: { kind: 'ip' as const, ip: '10.0.0.100', port: 80, family: 4 as const }, protocol: 'TCP' as const, quorum: 2, hysteresis: 1 };
    expect(realServerAlert('LB1', vs, { ip: '10.0.0.5', port: 8080 }, false, '=> TCP CHECK failed on service <=')).toEqual({
      subject: '[LB1] Realserver [10.0.0.5]:tcp:8080 of virtual server [10.0.0.100]:tcp:80 - DOWN', body: '=> TCP CHECK failed on service <=',
    });
    expect(quorumAlert('LB1', vs, true, { threshold: 3, weight: 3 })).toEqual({ subject: '[LB1] Virtualserver [10.0.0.100]:tcp:80 - UP', body: '=> Gained quorum 2+1=3 <= 3 <=' });
    expect(quorumAlert('LB1', vs, false, { threshold: 1, weight: 0 }).body).toBe('=> Lost quorum 2+1=1 <= 0 <=');
    expect(quorumAlert('LB1', vs, false, { init: true, threshold: 3, weight: 0 }).body).toBe('=> Starting with quorum down 2+1=3 <= 0 <=');
    expect(quorumAlert('LB1', vs, false, { stopping: true }).body).toBe('=> Shutting down <=');
    expect(checkerAlertText('TCP_CHECK', true)).toBe('=> TCP CHECK succeed on service <=');
    expect(checkerAlertText('HTTP_GET', false)).toBe('=> CHECK failed on service : HTTP request failed <=');
    expect(checkerAlertText('MISC_CHECK', false, 'timed out')).toBe('=> MISC CHECK timed out on service <=');
    expect(checkerAlertText('PING_CHECK', false)).toBe('=> ICMP CHECK failed on service <=');
    expect(checkerAlertText('DNS_CHECK', true)).toBe('=> DNS_CHECK: succeed on service <=');
    expect(checkerAlertText('FILE_CHECK', true)).toBeNull();
  });
});

describe('against a real SMTP server on loopback', () => {
  test('sendMail: HELO name, envelope, headers and body arrive as keepalived sends them', async () => {
    const got = nextMail();
    await sendMail({ host: '127.0.0.1', port, heloName: 'lb1.example.com', timeoutMs: 5000 },
      { from: 'lb1@example.com', to: ['ops@example.com', 'oncall@example.com'], subject: '[LB1] VRRP Instance VI_1 - Entering MASTER state', body: '=> VRRP Instance is now owning VRRP VIPs <=' });
    const m = await got;
    expect(m.helo).toBe('lb1.example.com');
    expect(m.from).toBe('lb1@example.com');
    expect(m.to).toEqual(['ops@example.com', 'oncall@example.com']);
    expect(m.data).toContain('From: lb1@example.com\r\nSubject: [LB1] VRRP Instance VI_1 - Entering MASTER state\r\nX-Mailer: Keepalived\r\nTo: ops@example.com, oncall@example.com\r\n\r\n=> VRRP Instance is now owning VRRP VIPs <=\r\n');
  });

  test('a VRRP transition sends the alert in the background; the same state twice sends one; sync groups too', async () => {
    const { lines, log } = memLog();
    const a = new Alerter(load(conf(`  smtp_server 127.0.0.1 ${port}\n`)), { log, hostname: 'lb1' });
    expect(a.enabled).toBe(true);
    const got = nextMail();
    const t0 = performance.now();
    a.vrrpTransition('VI_1', 'MASTER');
    a.vrrpTransition('VI_1', 'MASTER');
    expect(performance.now() - t0).toBeLessThan(5); // queued, not sent inline
    const m = await got;
    expect(m.data).toContain('Subject: [LB1] VRRP Instance VI_1 - Entering MASTER state\r\n');
    expect(m.data).toContain('\r\n\r\n=> VRRP Instance is now owning VRRP VIPs <=\r\n');
    const g = nextMail();
    a.groupTransition('G1', 'MASTER');
    expect((await g).data).toContain('Subject: [LB1] VRRP Group G1 - Entering MASTER state\r\n');
    await settle(a);
    expect(a.status()).toMatchObject({ sent: 2, failed: 0, dropped: 0 });
    await a.close();
    expect(lines.filter((l) => l.level === 'warn')).toEqual([]);
  });

  test('smtp_server given as a host name (localhost) is resolved when sending', async () => {
    const a = new Alerter(load(conf(`  smtp_server localhost ${port}\n`)), { log: memLog().log });
    const got = nextMail();
    a.vrrpTransition('VI_1', 'BACKUP');
    expect((await got).data).toContain('Subject: [LB1] VRRP Instance VI_1 - Entering BACKUP state\r\n');
    await a.close();
  });

  test('no_email_faults: no alert for FAULT; instances without smtp_alert send nothing', async () => {
    const cfg = load(conf(`  smtp_server 127.0.0.1 ${port}\n  no_email_faults\n`, 'vrrp_instance VI_2 {\n  interface eth0\n  virtual_router_id 52\n  virtual_ipaddress {\n    10.0.0.2\n  }\n}\n'));
    const sent: string[] = [];
    const a = new Alerter(cfg, { log: memLog().log, send: async (_t, m) => { sent.push(m.subject); } });
    a.vrrpTransition('VI_1', 'FAULT');
    a.vrrpTransition('VI_2', 'MASTER');
    a.vrrpTransition('VI_1', 'MASTER');
    a.vrrpShutdown();
    await settle(a);
    expect(sent).toEqual(['[LB1] VRRP Instance VI_1 - Entering MASTER state', '[LB1] VRRP Instance VI_1 - Stopping', '[LB1] VRRP Group G1 - Stopping']);
  });

  test('real servers: on by default once e-mail is configured; no_checker_emails keeps only real-server state changes; quorum needs smtp_alert', async () => {
    const lvs = `virtual_server 10.0.0.100 80 {
  protocol TCP
  quorum 2
  real_server 10.0.0.5 80 {
    TCP_CHECK {
    }
  }
  real_server 10.0.0.6 80 {
    smtp_alert off
    TCP_CHECK {
    }
  }
}
virtual_server 10.0.0.101 80 {
  protocol TCP
  smtp_alert
  real_server 10.0.0.7 80 {
    TCP_CHECK {
    }
  }
}
`;
    const cfg = load(conf(`  smtp_server 127.0.0.1 ${port}\n  no_checker_emails\n`, lvs));
    const sent: string[] = [];
    const a = new Alerter(cfg, { log: memLog().log, send: async (_t, m) => { sent.push(`${m.subject} | ${m.body}`); } });
    const [vs1, vs2] = cfg.virtualServers;
    a.realServer(vs1!, vs1!.realServers[0]!, false, checkerAlertText('TCP_CHECK', false));
    a.realServer(vs1!, vs1!.realServers[0]!, false, checkerAlertText('TCP_CHECK', false), false); // no_checker_emails
    a.realServer(vs1!, vs1!.realServers[1]!, false, checkerAlertText('TCP_CHECK', false)); // smtp_alert off
    a.quorum(vs1!, false, { threshold: 2, weight: 0 }); // the virtual server has no smtp_alert
    a.quorum(vs2!, false, { threshold: 1, weight: 0 });
    a.quorum(vs2!, false, { stopping: true }); // only with omega
    await settle(a);
    expect(sent).toEqual([
      '[LB1] Realserver [10.0.0.5]:tcp:80 of virtual server [10.0.0.100]:tcp:80 - DOWN | => TCP CHECK failed on service <=',
      '[LB1] Virtualserver [10.0.0.101]:tcp:80 - DOWN | => Lost quorum 1+0=1 <= 0 <=',
    ]);
  });
});

describe('failures are logged (rate-limited), never thrown', () => {
  test('server down: the caller returns at once; one warning in keepalived\'s words for two failures', async () => {
    const dead = createServer();
    await new Promise<void>((res) => dead.listen(0, '127.0.0.1', () => res()));
    const deadPort = (dead.address() as AddressInfo).port;
    await new Promise<void>((res) => dead.close(() => res()));
    const { lines, log } = memLog();
    const a = new Alerter(load(conf(`  smtp_server 127.0.0.1 ${deadPort}\n`)), { log });
    expect(() => { a.vrrpTransition('VI_1', 'MASTER'); a.vrrpTransition('VI_1', 'BACKUP'); }).not.toThrow();
    await settle(a);
    expect(a.status()).toMatchObject({ sent: 0, failed: 2 });
    const warns = lines.filter((l) => l.level === 'warn');
    expect(warns).toHaveLength(1);
    expect(warns[0]!.msg).toMatch(new RegExp(`^SMTP connection ERROR to \\[127\\.0\\.0\\.1\\]:${deadPort} \\(ECONNREFUSED\\)\\. E-mail alert not sent: \\[LB1\\] VRRP Instance VI_1 - Entering MASTER state`));
    await a.close();
  });

  test('a server that never greets: "Timeout reading data …" after smtp_connect_timeout', async () => {
    const silent: Server = createServer(() => { /* accept and say nothing */ });
    await new Promise<void>((res) => silent.listen(0, '127.0.0.1', () => res()));
    const p = (silent.address() as AddressInfo).port;
    const { lines, log } = memLog();
    const a = new Alerter(load(conf(`  smtp_server 127.0.0.1 ${p}\n  smtp_connect_timeout 1\n`)), { log });
    const t0 = Date.now();
    a.vrrpTransition('VI_1', 'MASTER');
    await settle(a, 5000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(lines.find((l) => l.level === 'warn')?.msg).toMatch(/^Timeout reading data to remote SMTP server \[127\.0\.0\.1\]:\d+\. E-mail alert not sent/);
    await a.close();
    silent.close();
  });

  test('a refusing server: "Error processing … cmd … SMTP status code = 554"', async () => {
    const refusing = createServer((s) => { s.write('554 no service here\r\n'); s.on('data', () => { s.end('221 bye\r\n'); }); });
    await new Promise<void>((res) => refusing.listen(0, '127.0.0.1', () => res()));
    const p = (refusing.address() as AddressInfo).port;
    const { lines, log } = memLog();
    const a = new Alerter(load(conf(`  smtp_server 127.0.0.1 ${p}\n`)), { log });
    a.vrrpTransition('VI_1', 'MASTER');
    await settle(a);
    expect(lines.find((l) => l.level === 'warn')?.msg).toMatch(/^Error processing \(E\)SMTP cmd on SMTP server \[127\.0\.0\.1\]:\d+\. SMTP status code = 554\./);
    await a.close();
    refusing.close();
  });

  test('the queue is bounded: the oldest waiting alert is dropped, with one warning', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((res) => { release = res; });
    const sent: string[] = [];
    const { lines, log } = memLog();
    const cfg = load(conf(`  smtp_server 127.0.0.1 ${port}\n`));
    const a = new Alerter(cfg, { log, maxQueue: 2, send: async (_t, m) => { await gate; sent.push(m.subject); } });
    const states = ['MASTER', 'BACKUP', 'FAULT', 'MASTER', 'BACKUP'];
    a.vrrpTransition('VI_1', states[0]!);
    await new Promise((r) => setImmediate(r)); // the first one is being sent
    await new Promise((r) => setImmediate(r));
    for (const s of states.slice(1)) a.vrrpTransition('VI_1', s);
    release();
    await settle(a);
    expect(a.status().dropped).toBe(2);
    expect(sent.map((s) => s.replace('[LB1] VRRP Instance VI_1 - ', ''))).toEqual(['Entering MASTER state', 'Entering MASTER state', 'Entering BACKUP state']);
    expect(lines.filter((l) => l.level === 'warn' && l.msg.startsWith('SMTP alert queue full'))).toHaveLength(1);
  });

  test('close() abandons what a dead-slow server holds after the wait, without throwing', async () => {
    const silent: Server = createServer(() => {});
    await new Promise<void>((res) => silent.listen(0, '127.0.0.1', () => res()));
    const p = (silent.address() as AddressInfo).port;
    const a = new Alerter(load(conf(`  smtp_server 127.0.0.1 ${p}\n  smtp_connect_timeout 30\n`)), { log: memLog().log });
    a.vrrpTransition('VI_1', 'MASTER');
    a.vrrpTransition('VI_1', 'BACKUP');
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await a.close(200);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(a.status().dropped).toBe(1);
    a.vrrpTransition('VI_1', 'MASTER'); // after close: ignored
    expect(a.status().queued).toBe(0);
    silent.close();
  });

  test('without notification_email or smtp_server nothing is queued', () => {
    const cfg = load(conf('').replace(/  notification_email \{[^}]*\}\n/, ''));
    const a = new Alerter(cfg, { log: memLog().log });
    expect(a.enabled).toBe(false);
    a.vrrpTransition('VI_1', 'MASTER');
    expect(a.status().queued).toBe(0);
  });
});

describe('hakeep -t: does the smtp_server name resolve?', () => {
  test('localhost resolves (a note); a name that does not is a warning saying what keepalived and hakeep do', async () => {
    const ok = await smtpServerDiagnostics(load(conf('  smtp_server localhost\n')));
    expect(ok).toHaveLength(1);
    expect(ok[0]).toMatchObject({ severity: 'note', file: 'alert.conf', line: 9 });
    const bad = await smtpServerDiagnostics(load(conf('  smtp_server no-such-host.invalid 2525\n')));
    expect(bad[0]).toMatchObject({ severity: 'warning', file: 'alert.conf', line: 9 });
    expect(bad[0]!.message).toContain('smtp_server no-such-host.invalid does not resolve');
    expect(bad[0]!.message).toContain('keepalived reports "Invalid smtp server no-such-host.invalid 2525" and sends no e-mail alert at all; hakeep starts, and tries the name again for each alert');
    expect(await smtpServerDiagnostics(load(conf('  smtp_server 127.0.0.1\n')))).toEqual([]);
  });
});
