// TCP_CHECK's retry logic, as keepalived applies it: a failure while up is retried `retry` times,
// `delay_before_retry` apart, before the checker goes down; the next check follows `delay_loop`
// after the previous one finished. Pure: the engine feeds outcomes and acts on the result.
import type { TcpCheck } from '../config/model.js';

export type ProbeOutcome = 'success' | 'timeout' | 'failed';

export interface TcpCheckerState {
  readonly up: boolean;
  /** At least one check has completed. */
  readonly hasRun: boolean;
  /** Retries used in the current failure streak. */
  readonly retryIt: number;
}

export interface TcpCheckStep {
  state: TcpCheckerState;
  /** Seconds until the next check. */
  delay: number;
  /**
   * `up`/`down`: the checker changed state. `initial-down`: a checker that started down (alpha)
   * failed its first check, which keepalived reports to the notify scripts once.
   */
  change: 'up' | 'down' | 'initial-down' | null;
  logs: string[];
}

/**
 * Checkers start up, unless alpha mode makes them start failed until their first success. Their
 * retries start used up (keepalived, check_data.c: "for non alpha mode, one failure is enough
 * initially"): a server that is down at start leaves the pool at its first failed check instead
 * of staying in for the whole retry budget.
 */
export function initialTcpCheckerState(alpha: boolean, retry = 0): TcpCheckerState {
  return { up: !alpha, hasRun: false, retryIt: retry };
}

/** A checker resumed from a known health (a restarted checker side): it has run, no retry used. */
export function resumedTcpCheckerState(up: boolean): TcpCheckerState {
  return { up, hasRun: true, retryIt: 0 };
}

export function tcpCheckResult(
  check: Pick<TcpCheck, 'retry' | 'delayLoop' | 'delayBeforeRetry'>,
  st: TcpCheckerState,
  outcome: ProbeOutcome,
  name: string,
  logAllFailures: boolean,
): TcpCheckStep {
  const logs: string[] = [];
  const success = outcome === 'success';
  if (!success && st.up && logAllFailures) logs.push(`TCP connection to ${name} ${outcome}.`);
  let { up, retryIt } = st;
  let delay = check.delayLoop;
  let change: TcpCheckStep['change'] = null;
  if (success || ((up || !st.hasRun) && retryIt >= check.retry)) {
    retryIt = 0;
    if (success && (!up || !st.hasRun)) {
      logs.push(`TCP connection to ${name} success.`);
      if (!up) change = 'up';
      up = true;
    } else if (!success && (up || !st.hasRun)) {
      logs.push(check.retry > 0 && st.hasRun
        ? `TCP_CHECK on service ${name} failed after ${check.retry} retries.`
        : `TCP_CHECK on service ${name} failed.`);
      change = up ? 'down' : 'initial-down';
      up = false;
    }
  } else if (up) {
    delay = check.delayBeforeRetry;
    retryIt++;
  }
  return { state: { up, hasRun: true, retryIt }, delay, change, logs };
}
