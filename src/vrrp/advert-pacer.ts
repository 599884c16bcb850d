// The advert pacer (native/src/advert-pacer.c): a master's next periodic advert, handed to a
// thread of its own that sends it at the due time even when this event loop is busy (a status
// answer, a metrics scrape, a GC pause, a checker child start). The instance stays in charge:
// it arms one advert at a time, the next slot of its cadence, and claims that slot when its own
// timer fires; the first of the two sends it. A hung loop lets at most one advert out.
import { native, type PacerInfo } from '../net/native.js';
import type { Clock } from './deadline-timer.js';

export interface PacedPacket {
  packet: Buffer;
  dst: string;
}

export interface AdvertPacer {
  /** Arm the adverts of cadence slot `slot` (a time on the instance's clock, ms). Re-arming a
   * slot the thread already sent does nothing (never twice); another slot replaces it. */
  arm(slot: number, packets: PacedPacket[]): void;
  /** The instance's timer for `slot` fired: -1 = not sent by the pacer (now cancelled: send it
   * yourself); otherwise the pacer sent it, and this is 0 or the first send's errno. */
  claim(slot: number): number;
  /** Drop what is armed (leaving MASTER, before a priority-0 advert, at stop). */
  cancel(): void;
  close(): void;
}

export interface PacerOpenResult {
  pacer: AdvertPacer | null;
  /** Why there is none (old addon, socket refused): adverts then go from the loop as before. */
  error: string | null;
}

/** A pacer sending on `ifname`. `clock` must be performance.now() (the instances' monotonic
 * clock): its offset to CLOCK_MONOTONIC is taken at each arm. */
export function openAdvertPacer(ifname: string, clock: Clock = () => performance.now()): PacerOpenResult {
  let a;
  try {
    a = native();
  } catch (e) {
    return { pacer: null, error: (e as Error).message };
  }
  const { pacerOpen, pacerArm, pacerClaim, pacerCancel, pacerClose, monotonicMs } = a;
  if (!pacerOpen || !pacerArm || !pacerClaim || !pacerCancel || !pacerClose || !monotonicMs) {
    return { pacer: null, error: 'the native addon predates the advert pacer: run npm install again' };
  }
  let slot: number;
  try {
    slot = pacerOpen(ifname);
  } catch (e) {
    return { pacer: null, error: `cannot open the advert pacer's socket on ${ifname}: ${(e as Error).message}` };
  }
  let closed = false;
  return {
    pacer: {
      arm(key, packets) {
        if (closed || packets.length === 0) return;
        const due = key + (monotonicMs() - clock());
        pacerArm(slot, key, due, packets.map((p) => p.packet), packets.map((p) => p.dst));
      },
      claim(key) {
        return closed ? -1 : pacerClaim(slot, key);
      },
      cancel() {
        if (!closed) pacerCancel(slot);
      },
      close() {
        if (closed) return;
        closed = true;
        pacerClose(slot);
      },
    },
    error: null,
  };
}

/** The pacer thread's SCHED_FIFO priority (vrrp_rt_priority), 1-99; ignored by an older addon. */
export function setPacerPriority(n: number): void {
  try {
    native().pacerSetPriority?.(n);
  } catch {
    /* no addon: no pacer either */
  }
}

/** How the pacer thread runs (real-time or not, and why), for status and the start-up log. */
export function pacerInfo(): PacerInfo | null {
  try {
    return native().pacerInfo?.() ?? null;
  } catch {
    return null;
  }
}
