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
}

export type StartService = (config: Config, ctx: ServiceContext) => Promise<RunningService>;
