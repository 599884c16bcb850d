// The services whose commands ipvsadm refuses: each is logged once (its config, the command,
// ipvsadm's message), listed in the reconciler's status and retried on its own schedule (doubling
// up to a cap), so it holds up nothing else. A new refusal of the same command with the same
// message is not logged again; success is.
import type { IpvsadmError } from './ipvsadm.js';
import type { ReconcilerLog } from './reconciler.js';

/** A service whose commands ipvsadm refuses; the others are not held up by it. */
export interface FailingService {
  /** ipvsadm's name for it, e.g. `-t 10.0.0.1:0`. */
  service: string;
  /** The configuration it comes from (virtual server and file:line), when known. */
  name: string | null;
  /** The command refused (the first one, when several are). */
  command: string;
  /** ipvsadm's message. */
  error: string;
  /** When it first failed (timers.now()). */
  since: number;
  attempts: number;
  nextRetryAt: number;
}

export class RefusedServices {
  private readonly map = new Map<string, FailingService>();

  constructor(private readonly o: { now: () => number; log: ReconcilerLog; retryMs: number; maxMs: number }) {}

  get size(): number {
    return this.map.size;
  }

  /** Its retry time has not come yet. */
  waiting(key: string, now: number): boolean {
    const f = this.map.get(key);
    return f !== undefined && f.nextRetryAt > now;
  }

  /** Keys whose retry time has come. */
  due(now: number): string[] {
    return [...this.map.values()].filter((f) => f.nextRetryAt <= now).map((f) => f.service);
  }

  /** When the next retry is due; null when nothing is refused. */
  nextDue(): number | null {
    return this.map.size === 0 ? null : Math.min(...[...this.map.values()].map((f) => f.nextRetryAt));
  }

  /** Try this one again at the next sync (its desired state changed). */
  retryNow(key: string): void {
    const f = this.map.get(key);
    if (f) f.nextRetryAt = this.o.now();
  }

  /** No longer configured: forget it without a word. */
  forget(key: string): void {
    this.map.delete(key);
  }

  list(): FailingService[] {
    return [...this.map.values()].map((f) => ({ ...f }));
  }

  succeeded(key: string): void {
    const f = this.map.get(key);
    if (!f) return;
    this.map.delete(key);
    this.o.log('info', `IPVS: ${f.name ?? key} is in the table now, after ${f.attempts} refused attempt(s)`, { service: key, name: f.name });
  }

  refused(key: string, name: string | null, command: string, e: IpvsadmError, count: number): void {
    const now = this.o.now();
    const error = e.stderr.trim().split('\n')[0] || e.message;
    const prev = this.map.get(key);
    const attempts = (prev?.attempts ?? 0) + 1;
    const delay = Math.min(this.o.retryMs * 2 ** (attempts - 1), this.o.maxMs);
    this.map.set(key, { service: key, name, command, error, since: prev?.since ?? now, attempts, nextRetryAt: now + delay });
    const fields = { service: key, name, command, error, attempts, refusedCommands: count };
    if (prev && prev.command === command && prev.error === error) {
      this.o.log('debug', `IPVS: ${name ?? key} refused again (attempt ${attempts})`, fields);
      return;
    }
    const others = count > 1 ? ` (and ${count - 1} more of its commands)` : '';
    this.o.log('error', `IPVS: ipvsadm refused a command for ${name ?? `service ${key}`}: "${command}"${others}: ${error}. The other services are applied; this one is retried with backoff until it works. Fix the configuration of this virtual server`, fields);
  }
}
