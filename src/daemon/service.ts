// The contract between the daemon (composition root) and its two halves: the VRRP side and the
// checker/IPVS side. Each half is started from a validated Config and stopped on SIGTERM.
import type { Config } from '../config/model.js';
import type { DrainKey } from './drain.js';
import type { Logger } from './log.js';

export interface ServiceContext {
  log: Logger;
}

export interface RunningService {
  readonly name: 'vrrp' | 'check';
  /** Graceful stop: VRRP sends priority 0 and removes VIPs; the checker removes its IPVS services. */
  stop(): Promise<void>;
  /** A JSON-serializable snapshot for status output and tests. */
  status(): unknown;
  /** The last resort on a fatal error, synchronous and never throwing: the VRRP side sends
   * priority 0 from every master and removes its VIPs. */
  emergencyStop?(): void;
  /** keepalived's STATS_CLEAR signal. */
  clearStats?(): void;
  /** Apply a new, validated configuration without disruption (SIGHUP); resolves with what it did. */
  reload?(next: Config): Promise<{ lines: string[] }>;
  /** What reload(next) would do, without doing it (`hakeep plan`). */
  plan?(next: Config): Promise<{ lines: string[] }>;
  /** The checker side: real servers drained by hand (weight pinned at 0), the whole set. */
  setDrained?(keys: DrainKey[]): void;
  /** The checker side: whether it can stand behind its IPVS table now, and its changes. */
  health?(): ServiceHealth;
  onHealth?(fn: (h: ServiceHealth) => void): void;
  /** The checker side: real servers alive and known, from the last state (cheap: no status document). */
  aliveCount?(): { up: number; total: number };
}

export interface ServiceHealth {
  ok: boolean;
  /** Why not ok, for the fault reason and the log: "IPVS table not programmed yet". */
  detail: string;
}

/** Options a service starter may take besides the logger. */
export interface StartOptions {
  /** VRRP: start the instances fronting virtual servers in FAULT for this reason (the checker
   * side has not programmed IPVS yet). */
  checkerGate?: string;
  /** Checker side: real servers drained by hand at start (from the drain state file). */
  drained?: DrainKey[];
  /** Checker side: leave the IPVS table as it is on stop (-I, keepalived's --dont-release-ipvs). */
  dontReleaseIpvs?: boolean;
  /** VRRP side: how long a notify script may run (ms). */
  notifyTimeoutMs?: number;
  /** Where state kept across restarts lives ([daemon] state_dir): the IPVS owned record. */
  stateDir?: string;
}

export type StartService = (config: Config, ctx: ServiceContext & StartOptions) => Promise<RunningService>;
