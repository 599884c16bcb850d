// Bounded logging for rejected packets: a peer with a wrong password sends one advert a second
// forever, and a foreign VRRP speaker on the same VRID can flood (keepalived issue #2175).
// The first occurrence of each key is logged, then at most one line per window, carrying how
// many were suppressed in between.

export class RateLimiter {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly windowMs = 30_000, private readonly maxKeys = 256) {}

  /** Returns null to stay quiet, or the number suppressed since the last line for this key. */
  admit(key: string, now: number): number | null {
    const entry = this.last.get(key);
    if (entry && now - entry.at < this.windowMs) {
      entry.suppressed += 1;
      return null;
    }
    if (!entry && this.last.size >= this.maxKeys) {
      // Keys come from a fixed set of reasons; this only guards memory against surprises.
      const oldest = this.last.keys().next().value;
      if (oldest !== undefined) this.last.delete(oldest);
    }
    const suppressed = entry?.suppressed ?? 0;
    this.last.set(key, { at: now, suppressed: 0 });
    return suppressed;
  }

  /** Forget the history (e.g. on a master change, as keepalived resets its flags). */
  reset(): void {
    this.last.clear();
  }
}
