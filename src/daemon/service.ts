// The contract between the daemon (composition root) and its two halves: the VRRP side and the
// checker/IPVS side. Each half is started from a validated Config and stopped on SIGTERM.
import type { Config } from '../config/model.js';
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
}

export type StartService = (config: Config, ctx: ServiceContext) => Promise<RunningService>;
