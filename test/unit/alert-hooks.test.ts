// The one-line hooks the checker side calls (src/alert/hooks.ts): checker results, the pool's
// quorum events and the stop, turned into keepalived's alerts (subjects and bodies as
// keepalived/core/smtp.c, check_tcp.c, ipwrapper.c build them).
import { describe, expect, test } from 'vitest';
import { parseConfigText } from '../../src/config/index.js';
import { Alerter } from '../../src/alert/alerts.js';
import { checkerAlert, poolEventAlerts, stopAlerts } from '../../src/alert/hooks.js';
import { setRealServerAlive, startPool } from '../../src/ipvs/pool.js';

function setup(extraGlobal = '', vsBody = '  smtp_alert\n  quorum 2\n  hysteresis 0\n') {
  const text = `global_defs {
  router_id LB1
  notification_email {
    ops@example.com
  }
  smtp_server 127.0.0.1 2525
${extraGlobal}}
virtual_server 10.0.0.100 80 {
  protocol TCP
${vsBody}  real_server 10.0.0.5 80 {
    TCP_CHECK {
    }
  }
  real_server 10.0.0.6 80 {
    TCP_CHECK {
    }
  }
}
`;
  const r = parseConfigText(text, 'h.conf', { configId: 'test' });
  expect(r.errorCount).toBe(0);
  const sent: string[] = [];
  const log = { info: () => {}, warn: () => {}, debug: () => {} };
  const alerter = new Alerter(r.config, { log, send: async (_t, m) => { sent.push(`${m.subject} | ${m.body}`); } });
  return { cfg: r.config, vs: r.config.virtualServers[0]!, alerter, sent };
}

async function flush(a: Alerter): Promise<void> {
  for (let i = 0; i < 50 && (a.status().queued > 0 || a.status().sending); i++) await new Promise((r) => setTimeout(r, 5));
}

describe('checker results and quorum through the real pool functions', () => {
  test('a TCP_CHECK failure: the real server DOWN alert, then the pool\'s "Lost quorum" alert', async () => {
    const { vs, alerter, sent } = setup();
    let pool = startPool(vs, [true, true]).state;
    const p = setRealServerAlive(vs, pool, 0, false);
    pool = p.state;
    checkerAlert(alerter, vs, vs.realServers[0]!, 'TCP_CHECK', false, false, p.events.length > 0);
    poolEventAlerts(alerter, vs, p.events);
    await flush(alerter);
    expect(sent).toEqual([
      '[LB1] Realserver [10.0.0.5]:tcp:80 of virtual server [10.0.0.100]:tcp:80 - DOWN | => TCP CHECK failed on service <=',
      '[LB1] Virtualserver [10.0.0.100]:tcp:80 - DOWN | => Lost quorum 2+0=2 <= 1 <=',
    ]);
    const q = setRealServerAlive(vs, pool, 0, true);
    checkerAlert(alerter, vs, vs.realServers[0]!, 'TCP_CHECK', true, true, true);
    poolEventAlerts(alerter, vs, q.events);
    await flush(alerter);
    expect(sent.slice(2)).toEqual([
      '[LB1] Realserver [10.0.0.5]:tcp:80 of virtual server [10.0.0.100]:tcp:80 - UP | => TCP CHECK succeed on service <=',
      '[LB1] Virtualserver [10.0.0.100]:tcp:80 - UP | => Gained quorum 2+0=2 <= 2 <=',
    ]);
  });

  test('stop: "Shutting down" alerts only with omega', async () => {
    const plain = setup();
    stopAlerts(plain.alerter, plain.vs, [true, false]);
    await flush(plain.alerter);
    expect(plain.sent).toEqual([]);
    const omega = setup('', '  smtp_alert\n  omega\n');
    stopAlerts(omega.alerter, omega.vs, [true, false]);
    await flush(omega.alerter);
    expect(omega.sent).toEqual([
      '[LB1] Realserver [10.0.0.5]:tcp:80 of virtual server [10.0.0.100]:tcp:80 - DOWN | => Shutting down <=',
      '[LB1] Virtualserver [10.0.0.100]:tcp:80 - DOWN | => Shutting down <=',
    ]);
  });

  test('no alerter (e-mail not wired or not configured): the hooks do nothing', () => {
    const { vs } = setup();
    expect(() => { checkerAlert(null, vs, vs.realServers[0]!, 'TCP_CHECK', false, false, true); poolEventAlerts(undefined, vs, []); stopAlerts(null, vs, [true]); }).not.toThrow();
  });
});
