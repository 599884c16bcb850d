// TCP_CHECK: one connect per check (tcp-probe.ts), keepalived's layer-4 retry logic (checker.ts
// l4Step) with its TCP wording (check_tcp.c:45-140).
import type { TcpCheck } from '../config/model.js';
import { initialRetryState, l4Step, TCP_WORDS, type AttemptDone, type CheckerRuntime, type CheckStep, type Outcome, type RetryState } from './checker.js';
import { batchedTcp, nativeProbe, probeErrorName, type Probe, type ProbeTarget } from './tcp-probe.js';

export type ProbeOutcome = Outcome;

export interface TcpCheckerState {
  readonly up: boolean;
  /** At least one check has completed. */
  readonly hasRun: boolean;
  /** Retries used in the current failure streak. */
  readonly retryIt: number;
}

export interface TcpCheckStep extends CheckStep {
  state: TcpCheckerState;
}

export function initialTcpCheckerState(alpha: boolean, retry = 0): TcpCheckerState {
  return initialRetryState(alpha, retry);
}

/** A checker resumed from a known health (a restarted checker side): it has run, no retry used. */
export function resumedTcpCheckerState(up: boolean): TcpCheckerState {
  return { up, hasRun: true, retryIt: 0 };
}

/** The pure form of TCP_CHECK's retry logic (the runtime below mutates its state in place). */
export function tcpCheckResult(
  check: Pick<TcpCheck, 'retry' | 'delayLoop' | 'delayBeforeRetry'>,
  st: TcpCheckerState,
  outcome: ProbeOutcome,
  name: string,
  logAllFailures: boolean,
): TcpCheckStep {
  const s: RetryState = { ...st };
  const step = l4Step(TCP_WORDS, check, s, outcome, outcome, name, logAllFailures);
  return { ...step, state: s };
}

/** Where a network checker connects: connect_ip/connect_port, else the real server's address. */
export function probeTarget(c: Pick<TcpCheck, 'connectIp' | 'connectPort' | 'bindto' | 'bindPort'>, rs: { ip: string; port: number }): ProbeTarget {
  const host = c.connectIp ?? rs.ip;
  return {
    host,
    port: c.connectPort ?? rs.port,
    family: host.includes(':') ? 6 : 4,
    ...(c.bindto ? { localAddress: c.bindto } : {}),
    ...(c.bindPort ? { localPort: c.bindPort } : {}),
  };
}

export class TcpChecker implements CheckerRuntime {
  readonly type = 'TCP_CHECK' as const;
  readonly target: string;
  readonly timeoutMs: number;
  readonly curWeight = 0;
  lastActivity = 0;
  private st: RetryState;
  private readonly probeTo: ProbeTarget;
  private readonly steady: CheckStep;
  /** The batched native probe (the real probe only): target id, token, the attempt in flight. */
  private tid = -1;
  private token = -1;
  private probeId = -1;
  private pending: AttemptDone | null = null;
  private readonly abortBatched = (): void => {
    this.pending = null;
    if (this.probeId >= 0) batchedTcp!.abort(this.probeId);
    this.probeId = -1;
  };

  constructor(
    readonly check: TcpCheck, private readonly name: string, rs: { ip: string; port: number; alpha: boolean },
    private readonly probe: Probe, private readonly logAll: boolean,
  ) {
    this.probeTo = probeTarget(check, rs);
    this.target = `[${this.probeTo.host}]:tcp:${this.probeTo.port}`;
    this.timeoutMs = check.connectTimeout * 1000;
    this.st = initialRetryState(check.alpha ?? rs.alpha, check.retry);
    this.steady = { delay: check.delayLoop, change: null, logs: [] };
    if (batchedTcp && probe === nativeProbe) {
      const tid = batchedTcp.target(this.probeTo);
      if (tid >= 0) {
        this.tid = tid;
        this.token = batchedTcp.token((status) => this.completed(status));
      }
    }
  }

  private completed(status: number): void {
    const done = this.pending;
    if (!done) return; // aborted after it completed within the same loop turn
    this.pending = null;
    this.probeId = -1;
    if (status === 0) done('success', 'connected');
    else done('failed', probeErrorName(status));
  }

  get up(): boolean {
    return this.st.up;
  }

  start(done: AttemptDone): () => void {
    if (this.tid < 0) return this.probe(this.probeTo, done);
    this.pending = done;
    const id = batchedTcp!.connect(this.tid, this.token);
    if (id < 0) {
      // Failed at once (bind refused, no descriptors): report it like a failed connect, later.
      this.probeId = -1;
      queueMicrotask(() => this.completed(id));
    } else {
      this.probeId = id;
    }
    return this.abortBatched;
  }

  timeoutDetail(): string {
    return `no answer within ${this.timeoutMs} ms`;
  }

  dispose(): void {
    this.abortBatched();
    if (this.token >= 0) batchedTcp!.release(this.token);
    this.token = -1;
    this.tid = -1;
  }

  result(outcome: Outcome, detail: string): CheckStep {
    return l4Step(TCP_WORDS, this.check, this.st, outcome, detail, this.name, this.logAll, this.steady);
  }

  resume(up: boolean): void {
    this.st = { up, hasRun: true, retryIt: 0 };
  }
}
