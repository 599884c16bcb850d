// PING_CHECK: one ICMP echo request per attempt (IPv4 and IPv6) from the addon (native/src/icmp.c:
// no `ping` process per check), keepalived's layer-4 retry logic with its ICMP wording
// (check_ping.c:250-330). An echo reply within connect_timeout is a success; another ICMP type
// (unreachable) or a send error fails.
import type { PingCheck, RealServer } from '../config/model.js';
import { initialRetryState, l4Step, type AttemptDone, type CheckerRuntime, type CheckStep, type L4Wording, type Outcome, type RetryState } from './checker.js';

/** Send one echo request; `done` gets null on an echo reply, else what went wrong. Returns abort. */
export type PingFn = (host: string, family: 4 | 6, done: (error: string | null) => void) => () => void;

export class PingChecker implements CheckerRuntime {
  readonly type = 'PING_CHECK' as const;
  readonly target: string;
  readonly timeoutMs: number;
  readonly curWeight = 0;
  lastActivity = 0;
  private st: RetryState;
  private readonly host: string;
  private readonly family: 4 | 6;
  private readonly words: L4Wording;

  constructor(readonly check: PingCheck, private readonly ctx: { rs: RealServer; rsName: string; vsName: string; logAll: boolean; ping: PingFn }) {
    this.host = check.connectIp ?? ctx.rs.ip;
    this.family = this.host.includes(':') ? 6 : 4;
    this.target = `[${this.host}]:icmp`;
    this.timeoutMs = check.connectTimeout * 1000;
    this.st = initialRetryState(check.alpha ?? ctx.rs.alpha, check.retry);
    const vs = ctx.vsName;
    this.words = {
      success: (n) => `ICMP connection to ${n} success.`,
      failedAfter: (n, r) => `ICMP CHECK on service ${n} of ${vs} failed after ${r} retries.`,
      failed: (n) => `ICMP CHECK on service ${n} failed.`,
      logAll: (n, o) => (o === 'timeout' ? `ICMP connection to address ${n} timeout.` : `ICMP connection to ${n} of ${vs} failed.`),
    };
  }

  get up(): boolean {
    return this.st.up;
  }

  start(done: AttemptDone): () => void {
    return this.ctx.ping(this.host, this.family, (err) => (err === null ? done('success', 'echo reply') : done('failed', err)));
  }

  timeoutDetail(): string {
    return 'no echo reply';
  }

  result(outcome: Outcome, detail: string): CheckStep {
    return l4Step(this.words, this.check, this.st, outcome, detail, this.ctx.rsName, this.ctx.logAll);
  }

  resume(up: boolean): void {
    this.st = { up, hasRun: true, retryIt: 0 };
  }
}
