// The fault set of one VRRP instance: why it must not take part in the election right now.
// Every fault source (the instance's own interface, its advert source address, the VRRP socket,
// later tracked scripts, tracked interfaces, the checker/IPVS side, a sync-group peer) adds and
// removes its own reason under a stable key. The state machine only sees the edges: the set
// becoming non-empty (`fault`) and becoming empty again (`fault_cleared`). The reasons themselves
// feed the log lines and status, so an operator can see every cause at once, not just the first.
// Pure: the caller passes the time.

export type FaultSource = 'interface' | 'address' | 'socket' | 'script' | 'track_interface' | 'file' | 'process' | 'checker' | 'sync_group';

export interface FaultReason {
  /** Stable identity, e.g. `interface:eth0`; setting the same key again updates the detail. */
  key: string;
  source: FaultSource;
  /** What the fault is about: an interface name, a script name, … */
  subject: string;
  /** Human words for logs and status: "down", "deleted", "no IPv4 address". */
  detail: string;
  /** Monotonic ms when this reason was first set (not updated by later detail changes). */
  since: number;
}

export type FaultEdge = 'fault' | 'fault_cleared' | null;

export class FaultSet {
  private readonly reasons = new Map<string, FaultReason>();

  /** Add or update a reason. Returns 'fault' when the set was empty before. */
  set(source: FaultSource, subject: string, detail: string, now: number): FaultEdge {
    const key = `${source}:${subject}`;
    const prev = this.reasons.get(key);
    const wasEmpty = this.reasons.size === 0;
    this.reasons.set(key, { key, source, subject, detail, since: prev?.since ?? now });
    return wasEmpty ? 'fault' : null;
  }

  /** Remove a reason. Returns 'fault_cleared' when that emptied the set. */
  clear(source: FaultSource, subject: string): FaultEdge {
    if (!this.reasons.delete(`${source}:${subject}`)) return null;
    return this.reasons.size === 0 ? 'fault_cleared' : null;
  }

  has(source: FaultSource, subject: string): boolean {
    return this.reasons.has(`${source}:${subject}`);
  }

  get active(): boolean {
    return this.reasons.size > 0;
  }

  /** Every current reason, oldest first. */
  list(): FaultReason[] {
    return [...this.reasons.values()].sort((a, b) => a.since - b.since);
  }

  /** "interface eth0 down, address eth0 no IPv4 address": for one log line. */
  describe(): string {
    return this.list().map((r) => `${r.source.replace('_', ' ')} ${r.subject} ${r.detail}`).join(', ');
  }
}
