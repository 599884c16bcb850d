// Writes the checker child's log records to the daemon's logger at most `slice` per turn of the
// event loop, so a burst (10,000 first checks, a mass failure) never holds up VRRP's timers. The
// queue is bounded: past `max` waiting records the rest are counted, dropped and reported.
import type { Logger } from '../daemon/log.js';
import type { LogRecord } from './child-protocol.js';

export interface LogRelayOptions {
  /** Records written per event-loop turn. */
  slice?: number;
  /** Records waiting at most. */
  max?: number;
}

export class LogRelay {
  private queue: LogRecord[] = [];
  private head = 0;
  private dropped = 0;
  private scheduled = false;
  private readonly slice: number;
  private readonly max: number;

  constructor(private readonly log: Logger, o: LogRelayOptions = {}) {
    this.slice = o.slice ?? 200;
    this.max = o.max ?? 50_000;
  }

  get waiting(): number {
    return this.queue.length - this.head;
  }

  push(records: readonly LogRecord[]): void {
    for (const r of records) {
      if (this.waiting >= this.max) this.dropped++;
      else this.queue.push(r);
    }
    this.schedule();
  }

  /** Write everything now (on stop, when timing no longer matters). */
  drainAll(): void {
    while (this.head < this.queue.length) this.write(this.queue[this.head++]!);
    this.compact();
    this.reportDropped();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.drain());
  }

  private drain(): void {
    this.scheduled = false;
    const end = Math.min(this.queue.length, this.head + this.slice);
    while (this.head < end) this.write(this.queue[this.head++]!);
    this.compact();
    if (this.waiting > 0) this.schedule();
    else this.reportDropped();
  }

  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private reportDropped(): void {
    if (this.dropped === 0) return;
    this.log.warn({ dropped: this.dropped }, `${this.dropped} checker log line(s) dropped: more than ${this.max} were waiting to be written`);
    this.dropped = 0;
  }

  private write(r: LogRecord): void {
    this.log[r.level](r.fields, r.msg);
  }
}
