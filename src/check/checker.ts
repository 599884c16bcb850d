// The checker interface: what the engine (engine.ts) needs from every checker type. A checker
// runtime owns one configured checker of one real server: it starts one attempt at a time (I/O),
// and turns each attempt's result into a step with its own retry logic and keepalived's log lines
// for that type. The engine owns the timers (one heap for all), the attempt timeouts, the real
// server's health (alive while every checker is up) and the IPVS side.
import type { Checker } from '../config/model.js';

export type Outcome = 'success' | 'failed' | 'timeout';

export interface AttemptResult {
  outcome: Outcome;
  /** What happened, in keepalived's words where it has some ("HTTP status code error to"). */
  detail: string;
}

export interface CheckStep {
  /** Seconds until the next attempt (0 = at once). */
  delay: number;
  /**
   * `up`/`down`: the checker changed state. `initial-down`: a checker that started down (alpha)
   * failed its first check, which keepalived reports to the notify scripts once.
   */
  change: 'up' | 'down' | 'initial-down' | null;
  logs: string[];
  /** The checker's weight contribution changed (keepalived's cur_weight: misc_dynamic, FILE_CHECK). */
  weightChanged?: boolean;
}

/** Called exactly once per attempt, unless the attempt was aborted first. */
export type AttemptDone = (outcome: Outcome, detail: string) => void;

export interface CheckerRuntime {
  readonly type: Checker['type'];
  readonly check: Checker;
  /** What status() shows as the checker's target: `[10.0.0.2]:tcp:80`, a script, a file. */
  readonly target: string;
  readonly up: boolean;
  /** keepalived's cur_weight: added to the real server's configured weight (0 for most). */
  readonly curWeight: number;
  /**
   * Inactivity timeout of one attempt in ms: the engine aborts an attempt that made no progress
   * (see lastActivity) for this long and feeds a 'timeout'. null: the attempt times itself out.
   */
  readonly timeoutMs: number | null;
  /** What a timeout means (UDP_CHECK without require_reply: silence is a success); default 'timeout'. */
  readonly timeoutOutcome?: Outcome;
  /** Engine time of the attempt's last progress (a connect, bytes read). */
  lastActivity: number;
  /** Start one attempt; returns its abort function. */
  start(done: AttemptDone): () => void;
  /** keepalived's words for a timeout at the attempt's current phase. */
  timeoutDetail(): string;
  /** Apply an attempt's result: this type's retry logic and log lines. */
  result(outcome: Outcome, detail: string): CheckStep;
  /** Set a known state (a restarted checker side, adoption): as if checked, no retry used. */
  resume(up: boolean): void;
  /** Event-driven checkers (FILE_CHECK) have no attempts: they report steps when their input changes. */
  watch?(emit: (step: CheckStep) => void): () => void;
  /** The checker is gone (a reload retired it, or the engine stopped): let go of what it holds outside itself. */
  dispose?(): void;
}

/** The state every polled checker keeps (keepalived's is_up, has_run, retry_it). */
export interface RetryState {
  up: boolean;
  /** At least one check has completed. */
  hasRun: boolean;
  /** Retries used in the current failure streak. */
  retryIt: number;
}

/**
 * Checkers start up, unless alpha mode makes them start failed until their first success. Their
 * retries start used up (check_data.c:1380-1384: "for non alpha mode, one failure is enough
 * initially"): a server that is down at start leaves the pool at its first failed check.
 */
export function initialRetryState(alpha: boolean, retry: number): RetryState {
  return { up: !alpha, hasRun: false, retryIt: retry };
}

/** keepalived's wording of one layer-4 checker type (check_tcp.c, check_udp.c, check_ping.c). */
export interface L4Wording {
  success(name: string): string;
  failedAfter(name: string, retry: number): string;
  failed(name: string): string;
  /** Logged for every failure while up with log_all_failures; null = none. */
  logAll(name: string, outcome: Outcome, detail: string): string | null;
}

/**
 * The epilog TCP_CHECK, UDP_CHECK and PING_CHECK share (check_tcp.c:45-100, check_udp.c:180-230,
 * check_ping.c:250-300): a failure while up is retried `retry` times, `delay_before_retry` apart,
 * then the checker goes down; the next check follows `delay_loop` after the previous one ended.
 * Mutates `st`; returns the step.
 */
export function l4Step(
  words: L4Wording, timing: { retry: number; delayLoop: number; delayBeforeRetry: number },
  st: RetryState, outcome: Outcome, detail: string, name: string, logAllFailures: boolean,
  /** Returned as is for the common case (a success while up): no allocation per check. */
  steady?: CheckStep,
): CheckStep {
  const success = outcome === 'success';
  if (success && st.up && st.hasRun && steady) {
    st.retryIt = 0;
    return steady;
  }
  const logs: string[] = [];
  if (!success && st.up && logAllFailures) {
    const l = words.logAll(name, outcome, detail);
    if (l !== null) logs.push(l);
  }
  let delay = timing.delayLoop;
  let change: CheckStep['change'] = null;
  if (success || ((st.up || !st.hasRun) && st.retryIt >= timing.retry)) {
    st.retryIt = 0;
    if (success && (!st.up || !st.hasRun)) {
      logs.push(words.success(name));
      if (!st.up) change = 'up';
      st.up = true;
    } else if (!success && (st.up || !st.hasRun)) {
      logs.push(timing.retry > 0 && st.hasRun ? words.failedAfter(name, timing.retry) : words.failed(name));
      change = st.up ? 'down' : 'initial-down';
      st.up = false;
    }
  } else if (st.up) {
    delay = timing.delayBeforeRetry;
    st.retryIt++;
  }
  st.hasRun = true;
  return { delay, change, logs };
}

export const TCP_WORDS: L4Wording = {
  success: (n) => `TCP connection to ${n} success.`,
  failedAfter: (n, r) => `TCP_CHECK on service ${n} failed after ${r} retries.`,
  failed: (n) => `TCP_CHECK on service ${n} failed.`,
  logAll: (n, o) => `TCP connection to ${n} ${o === 'timeout' ? 'timeout' : 'failed'}.`,
};
