// Small adapters so the checker side can raise keepalived's alerts with one line each where it
// already has the facts (src/check/engine.ts reports them as EngineAlert; src/check/service.ts calls these). Pure glue: every decision about
// whether and what to send lives in Alerter.
import type { Checker } from '../config/model.js';
import type { PoolEvent } from '../ipvs/pool.js';
import { checkerAlertText, type Alerter, type AlertRsFacts, type AlertVsFacts } from './alerts.js';

/**
 * A checker of `rs` went up or down (keepalived sends from the checker, with its own text:
 * check_tcp.c:104-131 and the other checkers). `rsAlive`: the real server's state after it;
 * `rsChanged`: that state changed (with no_checker_emails only those send). `detail`: MISC_CHECK's
 * outcome ("timed out") or SMTP_CHECK's reason.
 */
export function checkerAlert(
  alerter: Alerter | null | undefined, vs: AlertVsFacts, rs: AlertRsFacts, type: Checker['type'],
  checkerUp: boolean, rsAlive: boolean, rsChanged: boolean, detail?: string,
): void {
  if (!alerter) return;
  alerter.realServer(vs, rs, rsAlive, checkerAlertText(type, checkerUp, detail), rsChanged);
}

/** The pool's quorum events (src/ipvs/pool.ts evaluateQuorum) as quorum alerts (ipwrapper.c:160-198). */
export function poolEventAlerts(alerter: Alerter | null | undefined, vs: AlertVsFacts, events: readonly PoolEvent[]): void {
  if (!alerter) return;
  for (const e of events) {
    if (e.kind !== 'log') continue;
    const kind = e.fields.event;
    if (kind !== 'quorum_up' && kind !== 'quorum_down') continue;
    const threshold = typeof e.fields.threshold === 'number' ? e.fields.threshold : undefined;
    const weight = typeof e.fields.weight === 'number' ? e.fields.weight : undefined;
    alerter.quorum(vs, kind === 'quorum_up', {
      init: e.msg.startsWith('Starting with'),
      ...(threshold !== undefined ? { threshold } : {}),
      ...(weight !== undefined ? { weight } : {}),
    });
  }
}

/**
 * Stopping (ipwrapper.c:226-289, 160-198): each alive real server "=> Shutting down <=" and the
 * virtual server's quorum "=> Shutting down <=", both only with omega (Alerter checks).
 */
export function stopAlerts(alerter: Alerter | null | undefined, vs: AlertVsFacts & { realServers: readonly AlertRsFacts[] }, alive: readonly boolean[]): void {
  if (!alerter) return;
  stoppingAlerts(alerter, vs, vs.realServers.filter((_, i) => alive[i]));
}

/** stopAlerts with the alive real servers listed (what the checker child reports). */
export function stoppingAlerts(alerter: Alerter | null | undefined, vs: AlertVsFacts, aliveServers: readonly AlertRsFacts[]): void {
  if (!alerter) return;
  for (const rs of aliveServers) alerter.realServerRemoved(vs, rs, true);
  alerter.quorum(vs, false, { stopping: true });
}
