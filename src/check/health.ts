// The pure parts of checker supervision: how the checker child's IPVS state reads as health, and
// when a dead child is restarted. Time is passed in, so the rules are tested without processes.
import type { ServiceHealth } from '../daemon/service.js';
import type { ReconcilerStatus } from '../ipvs/reconciler.js';

/** The checker side's fitness to front traffic; the daemon turns !ok into a VRRP fault. */
export type CheckerHealth = ServiceHealth;

/**
 * Where a child's reconciler stands:
 * - 'unsynced': no sync has succeeded yet (its table was never read and written);
 * - 'failing': the last attempt failed and none has succeeded since (ipvsadm missing, IPVS not in
 *   the kernel);
 * - 'refused': syncs complete, but ipvsadm refuses every configured service: nothing is applied;
 * - 'synced': the last sync succeeded. Services the reconciler isolated because ipvsadm refuses
 *   them (failingServices) do not count while others are applied: one bad service never makes
 *   the side unfit.
 */
export type IpvsState = 'unsynced' | 'failing' | 'refused' | 'synced';

export function ipvsState(s: Pick<ReconcilerStatus, 'lastSyncAt' | 'lastError'> | null, allRefused = false): IpvsState {
  if (s === null || s.lastSyncAt === null) return 'unsynced';
  if (s.lastError !== null && s.lastError.at > s.lastSyncAt) return 'failing';
  return allRefused ? 'refused' : 'synced';
}

/** Every one of `services` (ipvsadm service keys, e.g. `-t 10.0.0.1:80`) is refused. */
export function allServicesRefused(services: ReadonlySet<string>, s: Pick<ReconcilerStatus, 'failingServices'>): boolean {
  if (services.size === 0) return false;
  const refused = new Set(s.failingServices.map((f) => f.service));
  for (const k of services) if (!refused.has(k)) return false;
  return true;
}

export const HEALTH_DETAIL = {
  ok: 'IPVS table programmed',
  unsynced: 'IPVS table not programmed yet',
  failing: 'IPVS table cannot be updated',
  refused: 'ipvsadm refuses every configured service',
  stopped: 'checker side stopped',
} as const;

export interface RestartPolicyOptions {
  /** First restart delay (ms); doubles with every crash in a row, up to maxDelayMs. */
  firstDelayMs?: number;
  maxDelayMs?: number;
  /** A child that ran this long resets the doubling (ms). */
  stableMs?: number;
  /** This many crashes within windowMs: stop restarting. */
  maxCrashes?: number;
  windowMs?: number;
}

export type RestartDecision = { restart: true; delayMs: number } | { restart: false; crashes: number; windowMs: number };

/** Exponential backoff for restarts, and the give-up rule (N crashes in a window). */
export class RestartPolicy {
  readonly o: Required<RestartPolicyOptions>;
  private crashes: number[] = [];
  private inARow = 0;

  constructor(o: RestartPolicyOptions = {}) {
    this.o = { firstDelayMs: 1000, maxDelayMs: 30_000, stableMs: 60_000, maxCrashes: 5, windowMs: 60_000, ...o };
  }

  /** A child died at `now` after running `ranMs`. */
  crashed(now: number, ranMs: number): RestartDecision {
    this.crashes = this.crashes.filter((t) => now - t < this.o.windowMs);
    this.crashes.push(now);
    if (this.crashes.length >= this.o.maxCrashes) return { restart: false, crashes: this.crashes.length, windowMs: this.o.windowMs };
    this.inARow = ranMs >= this.o.stableMs ? 1 : this.inARow + 1;
    return { restart: true, delayMs: Math.min(this.o.firstDelayMs * 2 ** (this.inARow - 1), this.o.maxDelayMs) };
  }
}

/** "5 times in 60 s": whole seconds when they are, else ms. */
export function giveUpDetail(crashes: number, windowMs: number): string {
  const w = windowMs % 1000 === 0 ? `${windowMs / 1000} s` : `${windowMs} ms`;
  return `checker crashed ${crashes} times in ${w}; giving up`;
}
