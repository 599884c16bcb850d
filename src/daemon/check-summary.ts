// The few numbers the metrics endpoint needs from the checker side, computed by the checker child
// next to its status JSON (child-engine.ts postStatus) and sent with it. At 10,000 real servers the
// status JSON is ~2.5 MB; parsing it on the daemon's main thread, which is the VRRP loop, cost tens
// of milliseconds per scrape (more in a 1-CPU guest) and delayed adverts that fell due meanwhile.
// With this summary a scrape reads a few hundred numbers instead (metrics.ts).
import type { CheckStatus } from '../check/engine.js';
import type { ReconcilerStatus } from '../ipvs/reconciler.js';

export interface CheckSummary {
  /** Per virtual server: real servers alive, configured, and whether its quorum is up. */
  virtualServers: { vs: string; up: number; total: number; quorumUp: boolean }[];
  /** Per checker type: checks that succeeded and failed since the checkers started. */
  checksByType: Record<string, { ok: number; failed: number }>;
  ipvs: ReconcilerStatus | null;
  /** The top-level field names of the status JSON sent with this summary (child-engine.ts
   * sendStatus): the service knows them without parsing the text. */
  statusKeys?: string[];
}

/** One pass over the status; pure. */
export function summarizeCheckStatus(st: Pick<CheckStatus, 'virtualServers'> & { ipvs?: ReconcilerStatus | null }): CheckSummary {
  const checksByType: Record<string, { ok: number; failed: number }> = {};
  const virtualServers = st.virtualServers.map((v) => {
    let up = 0;
    for (const rs of v.realServers) {
      if (rs.alive) up++;
      for (const k of rs.checkers) {
        const t = (checksByType[k.type] ??= { ok: 0, failed: 0 });
        t.ok += k.checks - k.failures;
        t.failed += k.failures;
      }
    }
    return { vs: v.vs, up, total: v.realServers.length, quorumUp: v.quorumUp };
  });
  return { virtualServers, checksByType, ipvs: st.ipvs ?? null };
}

/** Where the checker service's status() carries the summary (a symbol: never in the JSON; from
 * the global registry, so that two copies of this module, as in tests, agree on it). */
export const CHECK_SUMMARY: unique symbol = Symbol.for('hakeep.checkSummary') as typeof CHECK_SUMMARY;
