// Gratuitous ARP: the one-shot sender (native AF_PACKET) and GarpScheduler, which decides WHEN to
// send following keepalived's policy for a new master:
//   - a burst of `repeat` GARPs per VIP at once (spaced by `interval` s; 0 = back to back),
//   - a second burst after `delay` s (none when `delay` is 0 or `minGarp`),
//   - `refreshRepeat` GARPs per VIP every `refresh` s while master (0 = off).
// The scheduler is pure timing logic: the clock/timers and the sender are injected.
import type { VirtualIp, VrrpInstance } from '../config/model.js';
import type { Logger } from '../daemon/log.js';
import { native } from './native.js';

/** Send `count` gratuitous ARPs for `ipv4` on `ifname` now. Throws an Error naming both. */
export function sendGratuitousArp(ifname: string, ipv4: string, count = 1): void {
  native().sendGarp(ifname, ipv4, count);
}

export type GarpSend = (ifname: string, ipv4: string, count: number) => void;

export type TimerHandle = unknown;
export interface Timers {
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Real timers; unref'd so a pending refresh never keeps a stopping process alive. */
export const realTimers: Timers = {
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

/** Times in seconds, as in keepalived.conf. */
export interface GarpPolicy {
  delay: number;
  repeat: number;
  refresh: number;
  refreshRepeat: number;
  interval: number;
  /** vrrp_min_garp: one GARP per VIP and no second burst. */
  minGarp: boolean;
}

/** The policy of a configured instance; `minGarp` is the global vrrp_min_garp. */
export function garpPolicyOf(inst: VrrpInstance, minGarp: boolean): GarpPolicy {
  return {
    delay: inst.garpMasterDelay,
    repeat: inst.garpMasterRepeat,
    refresh: inst.garpMasterRefresh,
    refreshRepeat: inst.garpMasterRefreshRepeat,
    interval: inst.garpInterval,
    minGarp,
  };
}

export interface GarpSchedulerOptions {
  /** Instance name for log lines: `(VI_1) …`. */
  instance: string;
  /** The instance interface: where VIPs without their own `dev` live. */
  interface: string;
  vips: VirtualIp[];
  policy: GarpPolicy;
  log: Logger;
  send?: GarpSend;
  timers?: Timers;
}

interface Target {
  dev: string;
  ip: string;
}

/** GARPs sent and failed since start, by instance: read by the metrics (src/daemon/metrics.ts). */
export const garpCounts = new Map<string, { sent: number; failed: number }>();

export class GarpScheduler {
  private readonly send: GarpSend;
  private readonly timers: Timers;
  private readonly log: Logger;
  private targets: Target[] = [];
  private readonly queue: Target[] = [];
  private pumpTimer: TimerHandle | null = null;
  private secondBurstTimer: TimerHandle | null = null;
  private refreshTimer: TimerHandle | null = null;
  private loggedV6 = false;
  private active = false;

  constructor(private readonly opts: GarpSchedulerOptions) {
    if (opts.send) {
      this.send = opts.send;
    } else {
      native(); // load the addon now (throws if not built), not on the first failover
      this.send = sendGratuitousArp;
    }
    this.timers = opts.timers ?? realTimers;
    this.log = opts.log;
    this.setVips(opts.vips);
  }

  /** Replace the timing policy (reload); takes effect from the next burst. */
  setPolicy(policy: GarpPolicy): void {
    this.opts.policy = policy;
  }

  /** Replace the VIP list (reload); takes effect from the next burst. */
  setVips(vips: VirtualIp[]): void {
    const v6 = vips.filter((v) => v.family === 6);
    if (v6.length > 0 && !this.loggedV6) {
      this.loggedV6 = true;
      this.log.debug(
        { instance: this.opts.instance, vips: v6.map((v) => v.address) },
        `(${this.opts.instance}) Unsolicited Neighbour Adverts are not implemented yet; not sent for IPv6 VIPs`,
      );
    }
    this.targets = vips
      .filter((v) => v.family === 4)
      .map((v) => ({ dev: v.dev ?? this.opts.interface, ip: v.address }));
  }

  get running(): boolean {
    return this.active;
  }

  /** Became MASTER: first burst now, second after `delay`, then periodic refresh. */
  start(): void {
    this.stop();
    this.active = true;
    const p = this.opts.policy;
    const repeat = p.minGarp ? 1 : p.repeat;
    this.burst(repeat);
    if (!p.minGarp && p.delay > 0) {
      this.secondBurstTimer = this.timers.setTimeout(() => {
        this.secondBurstTimer = null;
        this.burst(repeat);
      }, p.delay * 1000);
    }
    if (p.refresh > 0 && p.refreshRepeat > 0) this.scheduleRefresh();
  }

  /** Left MASTER: cancel the second burst, the refresh and any GARPs still queued. */
  stop(): void {
    this.active = false;
    for (const t of [this.pumpTimer, this.secondBurstTimer, this.refreshTimer]) {
      if (t !== null) this.timers.clearTimeout(t);
    }
    this.pumpTimer = this.secondBurstTimer = this.refreshTimer = null;
    this.queue.length = 0;
  }

  /**
   * Queue `repeat` GARPs per VIP (round robin, as keepalived) and send what the interval allows
   * now. Also usable on its own, e.g. for garp_lower_prio_repeat.
   */
  burst(repeat: number): void {
    if (repeat <= 0 || this.targets.length === 0) return;
    for (let i = 0; i < repeat; i++) this.queue.push(...this.targets);
    // Send first, log after: the log line must not delay the first GARP.
    if (this.pumpTimer === null) this.pump();
    for (const t of this.targets) {
      this.log.debug(
        { instance: this.opts.instance, dev: t.dev, vip: t.ip },
        `(${this.opts.instance}) Sending/queueing gratuitous ARPs on ${t.dev} for ${t.ip}`,
      );
    }
  }

  private pump(): void {
    this.pumpTimer = null;
    const spacingMs = this.opts.policy.interval * 1000;
    const failed = new Set<string>();
    while (this.queue.length > 0) {
      const t = this.queue.shift()!;
      const key = `${t.dev} ${t.ip}`;
      if (failed.has(key)) continue; // one error line per VIP per run, not one per repeat
      let count = garpCounts.get(this.opts.instance);
      if (count === undefined) garpCounts.set(this.opts.instance, count = { sent: 0, failed: 0 });
      try {
        this.send(t.dev, t.ip, 1);
        count.sent += 1;
      } catch (e) {
        count.failed += 1;
        failed.add(key);
        this.log.error(
          { instance: this.opts.instance, dev: t.dev, vip: t.ip, err: (e as Error).message },
          `(${this.opts.instance}) Error sending gratuitous ARP on ${t.dev} for ${t.ip}: ${(e as Error).message}`,
        );
      }
      if (spacingMs > 0 && this.queue.length > 0) {
        this.pumpTimer = this.timers.setTimeout(() => this.pump(), spacingMs);
        return;
      }
    }
  }

  private scheduleRefresh(): void {
    const p = this.opts.policy;
    this.refreshTimer = this.timers.setTimeout(() => {
      this.refreshTimer = null;
      if (!this.active) return;
      this.burst(p.refreshRepeat);
      this.scheduleRefresh();
    }, p.refresh * 1000);
  }
}
