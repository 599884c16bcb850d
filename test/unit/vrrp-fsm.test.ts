import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { initialFsmState, step, type FsmEvent, type FsmParams, type FsmState, type StepResult } from '../../src/vrrp/fsm.js';
import { masterDownIntervalMs, skewTimeMs } from '../../src/vrrp/timing.js';

const base: FsmParams = {
  name: 'VI_1',
  priority: 100,
  advertIntMs: 1000,
  initialState: 'BACKUP',
  nopreempt: false,
  preemptDelayMs: 0,
  downTimerAdverts: 3,
  lowerPrioNoAdvert: false,
  higherPrioSendAdvert: false,
  garpLowerPrioRepeat: 0,
  garpLowerPrioDelayMs: 0,
  ownIp: '10.0.0.1',
};

/** A tiny driver with a fake clock: feed events at given times, keep the last result. */
class Machine {
  s: FsmState;
  last!: StepResult;
  constructor(readonly p: FsmParams) {
    this.s = initialFsmState(p);
  }
  at(now: number, ev: FsmEvent): StepResult {
    this.last = step(this.p, this.s, ev, now);
    this.s = this.last.state;
    return this.last;
  }
  /** Fire the timer at its deadline (as the shell would). */
  fire(): StepResult {
    const d = this.last.deadline;
    if (d === null) throw new Error('no timer armed');
    return this.at(d, { type: 'timer' });
  }
  logs(): string[] {
    return this.last.actions.flatMap((a) => (a.type === 'log' ? [a.msg] : []));
  }
  kinds(): string[] {
    return this.last.actions.map((a) => (a.type === 'send_advert' ? `send_advert:${a.priority}` : a.type));
  }
}

function startedBackup(p: Partial<FsmParams> = {}): Machine {
  const m = new Machine({ ...base, ...p });
  m.at(0, { type: 'start' });
  return m;
}

function master(p: Partial<FsmParams> = {}): Machine {
  const m = startedBackup(p);
  m.fire();
  expect(m.s.state).toBe('MASTER');
  return m;
}

describe('VRRP timers', () => {
  it('follows RFC 3768 §6.1', () => {
    expect(skewTimeMs(100)).toBeCloseTo(609.375);
    expect(skewTimeMs(255)).toBeCloseTo(3.90625);
    expect(masterDownIntervalMs(1000, 100)).toBeCloseTo(3609.375);
    expect(masterDownIntervalMs(2000, 150, 3)).toBeCloseTo(6000 + 414.0625);
  });
});

describe('VRRP state machine', () => {
  it('starts every instance in BACKUP (init) and arms Master_Down_Interval', () => {
    const m = new Machine(base);
    const r = m.at(1000, { type: 'start' });
    expect(r).toMatchObject({ from: 'INIT', reason: 'startup', deadline: 1000 + 3609.375 });
    expect(m.s.state).toBe('BACKUP');
    expect(m.logs()).toEqual(['(VI_1) Entering BACKUP STATE (init)']);
    expect(r.actions[0]).toMatchObject({ fields: { instance: 'VI_1', from: 'INIT', to: 'BACKUP', reason: 'startup' } });
  });

  it('becomes master when the down timer expires: advert first, then VIPs, then GARP', () => {
    const m = startedBackup();
    expect(m.at(3000, { type: 'timer' }).reason).toBeNull(); // early wake-up changes nothing
    expect(m.last.deadline).toBeCloseTo(3609.375);
    const r = m.fire();
    expect(r.reason).toBe('master_down_timer');
    expect(m.kinds()).toEqual(['log', 'send_advert:100', 'log', 'add_vips', 'start_garp']);
    expect(m.logs()).toEqual(['(VI_1) Receive advertisement timeout', '(VI_1) Entering MASTER STATE']);
    expect(m.s).toMatchObject({ state: 'MASTER', masterIp: '10.0.0.1', masterPriority: 100 });
    expect(r.deadline).toBeCloseTo(3609.375 + 1000);
  });

  it('advertises every interval on a fixed grid, resynchronising after a long stall', () => {
    const m = master();
    const t0 = m.last.deadline!;
    m.at(t0 + 7, { type: 'timer' }); // 7 ms late: the next advert stays on the grid
    expect(m.kinds()).toEqual(['send_advert:100']);
    expect(m.last.deadline).toBeCloseTo(t0 + 1000);
    m.at(t0 + 3500, { type: 'timer' }); // stalled for seconds: restart the grid from now
    expect(m.last.deadline).toBeCloseTo(t0 + 4500);
  });

  it('makes the address owner (255) master at once', () => {
    const m = new Machine({ ...base, priority: 255 });
    const r = m.at(500, { type: 'start' });
    expect(r.deadline).toBe(500);
    expect(m.fire().reason).toBe('address_owner');
    expect(m.s.state).toBe('MASTER');
  });

  it('keeps `state MASTER` below 255 waiting a whole Master_Down_Interval, as keepalived does', () => {
    // RFC 3768 §6.4.1 and keepalived 2.2.7 on the wire (measured: about 3.5 s from "Entering
    // BACKUP STATE (init)" to "Entering MASTER STATE" at priority 100, advert_int 1).
    const m = new Machine({ ...base, initialState: 'MASTER', priority: 150 });
    expect(m.at(0, { type: 'start' }).deadline).toBeCloseTo(masterDownIntervalMs(1000, 150));
    expect(m.s.state).toBe('BACKUP');
    // A higher-priority master heard in that window keeps it backup.
    m.at(900, { type: 'advert', from: '10.0.0.2', priority: 200 });
    expect(m.last.deadline).toBeCloseTo(900 + masterDownIntervalMs(1000, 150));
  });

  it('vrrp_startup_delay: adverts count at once, but no down timer ends before the delay plus its length', () => {
    // keepalived (vrrp_scheduler.c): while now < delayed start, a backup's timer is set to
    // delayed start + ms_down_timer; the owner's 1 µs timer too.
    const m = new Machine({ ...base, startupHoldUntil: 5000 });
    expect(m.at(0, { type: 'start' }).deadline).toBeCloseTo(5000 + masterDownIntervalMs(1000, 100));
    m.at(1000, { type: 'advert', from: '10.0.0.2', priority: 150 });
    expect(m.s.masterIp).toBe('10.0.0.2');
    expect(m.last.deadline).toBeCloseTo(5000 + masterDownIntervalMs(1000, 100));
    // After the delay, timers count from now again.
    m.at(6000, { type: 'advert', from: '10.0.0.2', priority: 150 });
    expect(m.last.deadline).toBeCloseTo(6000 + masterDownIntervalMs(1000, 100));
    const owner = new Machine({ ...base, priority: 255, startupHoldUntil: 5000 });
    expect(owner.at(0, { type: 'start' }).deadline).toBe(5000);
  });

  it('starts in FAULT (init) when a fault is already known, and waits for it to clear', () => {
    const m = new Machine({ ...base, initialState: 'MASTER', priority: 255 });
    const r = m.at(0, { type: 'start', fault: true });
    expect(r).toMatchObject({ reason: 'fault', deadline: null });
    expect(m.s.state).toBe('FAULT');
    expect(m.logs()).toEqual(['(VI_1) Entering FAULT STATE (init)']);
    expect(m.at(500, { type: 'advert', from: '10.0.0.2', priority: 50 }).actions).toEqual([]);
    // Cleared: the normal election from BACKUP, with the full down timer (even for the owner).
    const c = m.at(1000, { type: 'fault_cleared' });
    expect(c.reason).toBe('fault_cleared');
    expect(m.s.state).toBe('BACKUP');
    expect(c.deadline).toBeCloseTo(1000 + masterDownIntervalMs(1000, 255));
  });

  it('backup: an advert of higher or equal priority restarts the down timer', () => {
    const m = startedBackup();
    m.at(2000, { type: 'advert', from: '10.0.0.2', priority: 150 });
    expect(m.last.deadline).toBeCloseTo(2000 + 3609.375);
    expect(m.s).toMatchObject({ masterIp: '10.0.0.2', masterPriority: 150 });
    m.at(3000, { type: 'advert', from: '10.0.0.2', priority: 100 });
    expect(m.last.deadline).toBeCloseTo(3000 + 3609.375);
    expect(m.last.actions).toEqual([]);
  });

  it('backup: priority 0 means take over after Skew_Time', () => {
    const m = startedBackup();
    m.at(2000, { type: 'advert', from: '10.0.0.2', priority: 150 });
    m.at(2500, { type: 'advert', from: '10.0.0.2', priority: 0 });
    expect(m.last.deadline).toBeCloseTo(2500 + 609.375);
    expect(m.logs()).toEqual(['(VI_1) Backup received priority 0 advertisement']);
    expect(m.fire().reason).toBe('priority_zero_seen');
    expect(m.s.state).toBe('MASTER');
  });

  it('backup with preemption discards lower-priority adverts and takes over when its timer runs out', () => {
    const m = startedBackup({ priority: 150 });
    const downAt = m.last.deadline!;
    for (let t = 1000; t < downAt; t += 1000) {
      m.at(t, { type: 'advert', from: '10.0.0.2', priority: 100 });
      expect(m.logs()).toEqual(['(VI_1) received lower priority (100) advert from 10.0.0.2 - discarding']);
      expect(m.last.deadline).toBe(downAt);
    }
    expect(m.fire().reason).toBe('preempt');
    expect(m.s.state).toBe('MASTER');
  });

  it('backup with nopreempt accepts a lower-priority master', () => {
    const m = startedBackup({ priority: 150, nopreempt: true });
    for (let t = 1000; t < 20_000; t += 1000) {
      m.at(t, { type: 'advert', from: '10.0.0.2', priority: 100 });
      expect(m.last.deadline).toBeCloseTo(t + masterDownIntervalMs(1000, 150));
    }
    expect(m.s.state).toBe('BACKUP');
  });

  it('backup with preempt_delay waits the delay after the first lower-priority advert', () => {
    const m = startedBackup({ priority: 150, preemptDelayMs: 5000 });
    m.at(1000, { type: 'advert', from: '10.0.0.2', priority: 100 }); // delay starts here
    expect(m.s.preemptAt).toBe(6000);
    for (let t = 2000; t < 6000; t += 1000) {
      m.at(t, { type: 'advert', from: '10.0.0.2', priority: 100 });
      expect(m.logs()).toEqual([]);
    }
    m.at(6000, { type: 'advert', from: '10.0.0.2', priority: 100 });
    expect(m.logs()).toEqual(['(VI_1) received lower priority (100) advert from 10.0.0.2 - discarding']);
    const downAt = 5000 + masterDownIntervalMs(1000, 150);
    expect(m.last.deadline).toBeCloseTo(downAt);
    m.at(7000, { type: 'advert', from: '10.0.0.2', priority: 100 });
    expect(m.fire().reason).toBe('preempt');
    // A higher-priority advert during the delay cancels it.
    const n = startedBackup({ priority: 150, preemptDelayMs: 5000 });
    n.at(1000, { type: 'advert', from: '10.0.0.2', priority: 100 });
    n.at(2000, { type: 'advert', from: '10.0.0.3', priority: 200 });
    expect(n.s.preemptAt).toBeNull();
  });

  it('master: a higher-priority advert sends it back to BACKUP and removes the VIPs', () => {
    const m = master();
    const r = m.at(5000, { type: 'advert', from: '10.0.0.2', priority: 150 });
    expect(r.reason).toBe('higher_priority_advert');
    expect(m.logs()).toEqual([
      '(VI_1) Master received advert from 10.0.0.2 with higher priority 150, ours 100',
      '(VI_1) Entering BACKUP STATE',
    ]);
    expect(m.kinds()).toEqual(['log', 'log', 'stop_garp', 'remove_vips']);
    expect(m.s).toMatchObject({ state: 'BACKUP', masterIp: '10.0.0.2' });
    expect(r.deadline).toBeCloseTo(5000 + 3609.375);
  });

  it('master: a lower-priority advert forces a new election at once', () => {
    const m = master({ priority: 150 });
    m.at(5000, { type: 'advert', from: '10.0.0.2', priority: 100 });
    expect(m.logs()).toEqual(['(VI_1) Received advert from 10.0.0.2 with lower priority 100, ours 150, forcing new election']);
    expect(m.kinds()).toEqual(['send_advert:150', 'log', 'rx_lower_pri']);
    expect(m.s.state).toBe('MASTER');

    const quiet = master({ priority: 150, lowerPrioNoAdvert: true, garpLowerPrioRepeat: 2 });
    quiet.at(5000, { type: 'advert', from: '10.0.0.2', priority: 100 });
    expect(quiet.logs()).toEqual(['(VI_1) Received advert from 10.0.0.2 with lower priority 100, ours 150']);
    expect(quiet.kinds()).toEqual(['log', 'send_garp', 'rx_lower_pri']);
  });

  it('master: re-announces the VIPs to a lower-priority master, twice (garp_lower_prio_*), with a rate-limited line', () => {
    // keepalived: garp_lower_prio_repeat defaults to garp_master_repeat (5) and a second burst
    // follows after garp_lower_prio_delay (garp_master_delay, 5 s): clients that followed the
    // other master's GARPs during a split brain come back.
    const m = master({ priority: 150, garpLowerPrioRepeat: 5, garpLowerPrioDelayMs: 5000 });
    m.at(5000, { type: 'advert', from: '10.0.0.2', priority: 100 });
    expect(m.last.actions.map((a) => a.type)).toEqual(['send_advert', 'log', 'send_garp', 'rx_lower_pri']);
    expect(m.last.actions.find((a) => a.type === 'send_garp')).toEqual({ type: 'send_garp', repeat: 5, delayMs: 5000 });
    // The advert goes before the log line; the line carries a key the shell rate-limits by.
    expect(m.last.actions.find((a) => a.type === 'log')).toMatchObject({ rateKey: 'lower_prio 10.0.0.2' });
  });

  it('equal priority: the higher primary IP wins', () => {
    const low = master({ ownIp: '10.0.0.1' });
    expect(low.at(5000, { type: 'advert', from: '10.0.0.2', priority: 100 }).reason).toBe('equal_priority_higher_ip');
    expect(low.logs()[0]).toBe('(VI_1) Master received advert from 10.0.0.2 with same priority 100 but higher IP address than ours');
    expect(low.s.state).toBe('BACKUP');

    const high = master({ ownIp: '10.0.0.9' });
    high.at(5000, { type: 'advert', from: '10.0.0.2', priority: 100 });
    expect(high.s.state).toBe('MASTER');
    expect(high.kinds()).toEqual(['send_advert:100', 'log', 'rx_lower_pri']);
    // Numeric, not string, comparison: 10.0.0.10 > 10.0.0.9.
    const nine = master({ ownIp: '10.0.0.9' });
    nine.at(5000, { type: 'advert', from: '10.0.0.10', priority: 100 });
    expect(nine.s.state).toBe('BACKUP');
  });

  it('master: warns about an equal-priority advert carrying our own address', () => {
    const m = master();
    m.at(5000, { type: 'advert', from: '10.0.0.1', priority: 100 });
    expect(m.logs()).toEqual(['(VI_1) WARNING - equal priority advert received from remote host with our IP address.']);
    expect(m.s.state).toBe('MASTER');
  });

  it('two address owners: the one hearing the other lowers itself to 254 and backs off', () => {
    const m = master({ priority: 255 });
    const r = m.at(5000, { type: 'advert', from: '10.0.0.2', priority: 255 });
    expect(m.logs()[0]).toMatch(/CONFIGURATION ERROR: local instance and a remote instance are both configured as address owner/);
    expect(r.reason).toBe('higher_priority_advert');
    expect(m.s.effectivePriority).toBe(254);
  });

  it('master: answers a priority-0 advert with its own advert and stays master', () => {
    const m = master();
    m.at(5000, { type: 'advert', from: '10.0.0.2', priority: 0 });
    expect(m.kinds()).toEqual(['send_advert:100', 'log']);
    expect(m.s.state).toBe('MASTER');
  });

  it('higher_prio_send_advert: advertises once before yielding', () => {
    const m = master({ higherPrioSendAdvert: true });
    m.at(5000, { type: 'advert', from: '10.0.0.2', priority: 150 });
    expect(m.kinds()).toEqual(['send_advert:100', 'log', 'log', 'stop_garp', 'remove_vips']);
  });

  it('shutdown: the master sends priority 0 and removes its VIPs; a backup just stops', () => {
    const m = master();
    const r = m.at(9000, { type: 'shutdown' });
    expect(r).toMatchObject({ reason: 'shutdown', from: 'MASTER', deadline: null });
    expect(m.kinds()).toEqual(['send_advert:0', 'log', 'stop_garp', 'remove_vips']);
    expect(m.s.state).toBe('INIT');

    const b = startedBackup();
    expect(b.at(9000, { type: 'shutdown' })).toMatchObject({ reason: 'shutdown', actions: [], deadline: null });
    // Further events after shutdown do nothing.
    expect(b.at(9500, { type: 'timer' }).actions).toEqual([]);
    expect(b.at(9600, { type: 'advert', from: '10.0.0.2', priority: 0 }).actions).toEqual([]);
  });

  it('fault: leaves master with priority 0, comes back as backup', () => {
    const m = master();
    expect(m.at(9000, { type: 'fault' }).reason).toBe('fault');
    // Priority 0 first (the backup waits on it), then the log line, then the VIPs.
    expect(m.kinds()).toEqual(['send_advert:0', 'log', 'log', 'stop_garp', 'remove_vips']);
    expect(m.logs()).toEqual(['(VI_1) Entering FAULT STATE', '(VI_1) sent 0 priority']);
    expect(m.at(9100, { type: 'advert', from: '10.0.0.2', priority: 50 }).actions).toEqual([]);
    const r = m.at(10_000, { type: 'fault_cleared' });
    expect(r.reason).toBe('fault_cleared');
    expect(m.logs()).toEqual(['(VI_1) Entering BACKUP STATE']);
    expect(r.deadline).toBeCloseTo(10_000 + 3609.375);
  });

  it('tracker priority: clamped to 1..254, logged, carried by the next advert; the owner never moves', () => {
    const m = master({ priority: 100 });
    m.at(5000, { type: 'priority', total: 80 });
    expect(m.logs()).toEqual(['(VI_1) Changing effective priority from 100 to 80']);
    expect(m.s.effectivePriority).toBe(80);
    const adv = m.fire();
    expect(adv.actions).toContainEqual({ type: 'send_advert', priority: 80 });
    m.at(6500, { type: 'priority', total: 400 });
    expect(m.s.effectivePriority).toBe(254);
    m.at(6600, { type: 'priority', total: -7 });
    expect(m.s.effectivePriority).toBe(1);
    expect(m.at(6700, { type: 'priority', total: 1 }).actions).toEqual([]);
    const owner = master({ priority: 255 });
    expect(owner.at(5000, { type: 'priority', total: 200 }).actions).toEqual([]);
    expect(owner.s.effectivePriority).toBe(255);
  });

  it('tracker priority on a backup: the running down timer takes the new skew (keepalived)', () => {
    const m = startedBackup();
    m.at(1000, { type: 'advert', from: '10.0.0.2', priority: 150 });
    expect(m.last.deadline).toBeCloseTo(1000 + masterDownIntervalMs(1000, 100));
    m.at(2000, { type: 'priority', total: 200 });
    expect(m.last.deadline).toBeCloseTo(1000 + masterDownIntervalMs(1000, 200));
  });

  it('holds VIPs exactly while MASTER, and its timer never points into the past, for any event sequence', () => {
    const event = fc.oneof(
      fc.constant<FsmEvent>({ type: 'timer' }),
      fc.constant<FsmEvent>({ type: 'shutdown' }),
      fc.constant<FsmEvent>({ type: 'fault' }),
      fc.constant<FsmEvent>({ type: 'fault_cleared' }),
      fc.record({ type: fc.constant('priority' as const), total: fc.integer({ min: -50, max: 400 }) }),
      fc.record({
        type: fc.constant('advert' as const),
        from: fc.constantFrom('10.0.0.1', '10.0.0.2', '10.0.0.0'),
        priority: fc.constantFrom(0, 1, 99, 100, 101, 254, 255),
      }),
    );
    fc.assert(fc.property(
      fc.record({
        priority: fc.constantFrom(1, 100, 254, 255),
        nopreempt: fc.boolean(),
        preemptDelayMs: fc.constantFrom(0, 2000),
        initialState: fc.constantFrom('MASTER' as const, 'BACKUP' as const),
      }),
      fc.array(fc.tuple(fc.nat(5000), event), { maxLength: 60 }),
      fc.boolean(),
      (p, events, startFault) => {
        const m = new Machine({ ...base, ...p });
        let now = 0;
        let vips = false;
        const apply = (r: StepResult): void => {
          for (const a of r.actions) {
            if (a.type === 'add_vips') { expect(vips).toBe(false); vips = true; }
            if (a.type === 'remove_vips') { expect(vips).toBe(true); vips = false; }
          }
          expect(vips).toBe(m.s.state === 'MASTER');
          if (r.deadline !== null) expect(r.deadline).toBeGreaterThanOrEqual(now);
        };
        apply(m.at(now, { type: 'start', fault: startFault }));
        for (const [dt, ev] of events) {
          // As the shell does: deliver every timer that falls due before the next event.
          const target = now + dt;
          for (let d = m.last.deadline; d !== null && d <= target; d = m.last.deadline) {
            now = d;
            apply(m.at(now, { type: 'timer' }));
          }
          now = target;
          apply(m.at(now, ev));
        }
      },
    ));
  });
});
