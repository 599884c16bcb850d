// E-mail alerts from the checker side, end to end: the supervised checker child checks real TCP
// servers on loopback, reports the facts to the daemon side, and the daemon side mails a real SMTP
// server on loopback (the `smtp-server` package). Subjects and bodies as keepalived builds them
// (smtp.c:565-573, check_tcp.c:104-131, ipwrapper.c:160-198 and 226-289); smtp_alert resolved at
// global, virtual_server and real_server level as check_data.c:1157-1231 does.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { SMTPServer } from 'smtp-server';
import type { CheckerService, SupervisorOptions } from '../../src/check/service.js';
import type { Config } from '../../src/config/model.js';
import { parseConfigText } from '../../src/config/index.js';
import type { ServiceContext, StartOptions } from '../../src/daemon/service.js';
import { compileChecker, type CheckerBuild } from './check-build.js';
import { fakeIpvsadm } from './check-fake-ipvsadm.js';

type Start = (config: Config, ctx: ServiceContext & StartOptions, opts?: SupervisorOptions) => Promise<CheckerService>;

interface Mail { subject: string; body: string; to: string[] }

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('checker-side SMTP alerts (checker child → daemon → loopback SMTP server)', () => {
  let build: CheckerBuild;
  let start: Start;
  let smtp: SMTPServer;
  let smtpPort = 0;
  const inbox: Mail[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'hku-alert-check-'));
  const servers: Server[] = [];

  beforeAll(async () => {
    build = compileChecker();
    ({ startSupervisedChecker: start } = (await import(join(build.dist, 'check/service.js'))) as { startSupervisedChecker: Start });
    smtp = new SMTPServer({
      authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
      onData(stream, session, cb) {
        let data = '';
        stream.setEncoding('utf8');
        stream.on('data', (c: string) => { data += c; });
        stream.on('end', () => {
          const subject = /^Subject: (.*)$/m.exec(data)?.[1]?.trim() ?? '';
          const body = data.split('\r\n\r\n')[1]?.trim() ?? '';
          inbox.push({ subject, body, to: session.envelope.rcptTo.map((r) => r.address) });
          cb();
        });
      },
    });
    await new Promise<void>((res) => smtp.listen(0, '127.0.0.1', () => res()));
    smtpPort = (smtp.server.address() as AddressInfo).port;
  }, 120_000);

  afterAll(async () => {
    for (const s of servers) s.close();
    await new Promise<void>((res) => smtp.close(() => res()));
    build?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  async function listener(): Promise<{ srv: Server; port: number }> {
    const srv = createServer((c) => c.destroy());
    servers.push(srv);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    return { srv, port: (srv.address() as AddressInfo).port };
  }

  it('a real server going down mails keepalived\'s subject; quorum and omega stop mails; smtp_alert off stays silent', async () => {
    const [a, b, c] = [await listener(), await listener(), await listener()];
    const tcp = 'TCP_CHECK {\n      connect_timeout 1\n      retry 0\n      delay_before_retry 0.2\n    }';
    const text = `global_defs {
  router_id LB1
  notification_email {
    ops@example.com
  }
  notification_email_from lb1@example.com
  smtp_server 127.0.0.1 ${smtpPort}
  smtp_alert_checker off
}
virtual_server 10.0.0.100 80 {
  delay_loop 0.2
  protocol TCP
  smtp_alert
  quorum 2
  omega
  real_server 127.0.0.1 ${a.port} {
    smtp_alert on
    ${tcp}
  }
  real_server 127.0.0.1 ${b.port} {
    smtp_alert
    ${tcp}
  }
}
virtual_server 10.0.0.101 80 {
  delay_loop 0.2
  protocol TCP
  real_server 127.0.0.1 ${c.port} {
    ${tcp}
  }
}
`;
    const r = parseConfigText(text, 'alert-checker.conf', { configId: 'test' });
    expect(r.errorCount, r.diagnostics.map((d) => `${d.line}: ${d.message}`).join('\n')).toBe(0);
    // smtp_alert_checker off: the second virtual server and its real server mail nothing.
    expect(r.config.virtualServers.map((v) => v.smtpAlert)).toEqual([true, false]);
    expect(r.config.virtualServers[1]!.realServers[0]!.smtpAlert).toBe(false);

    const fake = fakeIpvsadm(dir);
    const log = pino({ level: 'warn' }, new Writable({ write(_c, _e, cb) { cb(); } }));
    const svc = await start(r.config, { log }, { ipvsadmPath: fake.path, statusIntervalMs: 50 });
    try {
      await waitFor(() => svc.health().ok, 10_000, 'IPVS programmed');
      // Non-alpha checkers start up: a first success mails nothing.
      await new Promise((res) => setTimeout(res, 600));
      expect(inbox).toEqual([]);

      a.srv.close();
      c.srv.close();
      await waitFor(() => inbox.length >= 2, 10_000, 'two mails');
      await new Promise((res) => setTimeout(res, 600)); // nothing more arrives (c has smtp_alert off)
      expect(inbox.map((m) => `${m.subject} | ${m.body}`)).toEqual([
        `[LB1] Realserver [127.0.0.1]:tcp:${a.port} of virtual server [10.0.0.100]:tcp:80 - DOWN | => TCP CHECK failed on service <=`,
        '[LB1] Virtualserver [10.0.0.100]:tcp:80 - DOWN | => Lost quorum 2+0=2 <= 1 <=',
      ]);
      expect(inbox[0]!.to).toEqual(['ops@example.com']);
      expect(svc.status()).toMatchObject({ alerts: { enabled: true, sent: 2, failed: 0 } });
    } finally {
      await svc.stop();
    }
    // omega: the alive real server and the quorum "Shutting down" at stop (ipwrapper.c:226-289).
    await waitFor(() => inbox.length >= 4, 5000, 'the stop mails');
    expect(inbox.slice(2).map((m) => `${m.subject} | ${m.body}`)).toEqual([
      `[LB1] Realserver [127.0.0.1]:tcp:${b.port} of virtual server [10.0.0.100]:tcp:80 - DOWN | => Shutting down <=`,
      '[LB1] Virtualserver [10.0.0.100]:tcp:80 - DOWN | => Shutting down <=',
    ]);
  }, 60_000);
});
