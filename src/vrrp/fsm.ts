// The VRRPv2 state machine (RFC 3768 §6.4), shaped after keepalived's behaviour. Pure: the shell
// passes `now` (monotonic ms), feeds already-validated adverts and timer expiries, and executes
// the returned actions in order. Every state change carries a typed reason for logs and status.
import { ipv4ToInt } from './ipv4.js';
import { PRIORITY_OWNER, PRIORITY_STOP } from './packet.js';
import { masterDownIntervalMs, skewTimeMs } from './timing.js';

export type VrrpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT';

export type TransitionReason =
  | 'startup' // INIT → BACKUP: every instance starts as backup
  | 'address_owner' // BACKUP → MASTER at once: priority 255
  | 'master_down_timer' // BACKUP → MASTER: no advert for Master_Down_Interval
  | 'priority_zero_seen' // BACKUP → MASTER: the master resigned and Skew_Time passed
  | 'preempt' // BACKUP → MASTER: the lower-priority master's adverts were discarded
  | 'higher_priority_advert' // MASTER → BACKUP
  | 'equal_priority_higher_ip' // MASTER → BACKUP
  | 'shutdown' // → INIT
  | 'fault' // → FAULT (interface or tracker down; driven by trackers)
  | 'fault_cleared' // FAULT → BACKUP
  | 'sync_group'; // moved by its vrrp_sync_group (another member changed state)

/** Why the backup's down timer is running: becomes the reason when it fires. */
type DownCause = 'address_owner' | 'master_down_timer' | 'priority_zero_seen' | 'preempt';

export interface FsmParams {
  name: string;
  /** Configured priority 1-255. */
  priority: number;
  advertIntMs: number;
  initialState: 'MASTER' | 'BACKUP';
  nopreempt: boolean;
  /** 0 = preempt at once (after the down timer). */
  preemptDelayMs: number;
  downTimerAdverts: number;
  lowerPrioNoAdvert: boolean;
  higherPrioSendAdvert: boolean;
  /** GARPs per VIP sent when a lower-priority master is told off (garp_lower_prio_repeat); 0 = none. */
  garpLowerPrioRepeat: number;
  /** A second such burst this long after the first (garp_lower_prio_delay); 0 = none. */
  garpLowerPrioDelayMs: number;
  /** Our source address: what peers see and what equal priorities are compared against. */
  ownIp: string;
  /** vrrp_startup_delay: until this monotonic time a backup's down timer counts from it, not
   * from now (keepalived: adverts are processed, but nobody takes over before it + the timer). */
  startupHoldUntil?: number;
}

export interface FsmState {
  state: VrrpState;
  effectivePriority: number;
  /** The current master as far as we know (ourselves when MASTER). */
  masterIp: string | null;
  masterPriority: number | null;
  /** BACKUP: when the master is declared down. */
  downAt: number | null;
  downCause: DownCause;
  /** MASTER: when the next advert is due. */
  advertAt: number | null;
  /** End of the preempt_delay window; null while it has not started. */
  preemptAt: number | null;
}

export type FsmEvent =
  /** `fault`: the instance already has a fault reason (interface missing or down, no address). */
  | { type: 'start'; fault?: boolean }
  | { type: 'advert'; from: string; priority: number }
  | { type: 'timer' }
  | { type: 'shutdown' }
  | { type: 'fault' }
  | { type: 'fault_cleared' }
  /** Trackers changed the priority: base + the sum of weights (clamped here to 1..254). */
  | { type: 'priority'; total: number }
  /** Sync group: a backup whose down timer ran out may not take over alone; wait another
   * Master_Down_Interval (keepalived vrrp_sync_can_goto_master). */
  | { type: 'hold' }
  /** Sync group: another member became MASTER / left MASTER; follow it. */
  | { type: 'sync_master' }
  | { type: 'sync_backup' };

export type LogLevel = 'debug' | 'info' | 'warn';

export type FsmAction =
  | { type: 'send_advert'; priority: number }
  | { type: 'add_vips' }
  | { type: 'remove_vips' }
  /** First GARP burst now, the second after garp_master_delay, refreshes if configured. */
  | { type: 'start_garp' }
  | { type: 'stop_garp' }
  /** One extra burst now (lower-priority master seen) and, when delayMs > 0, another after it. */
  | { type: 'send_garp'; repeat: number; delayMs: number }
  /** A master heard a lower-priority master (notify_master_rx_lower_pri). */
  | { type: 'rx_lower_pri'; from: string; priority: number }
  /** `rateKey`: a line that can repeat every advert interval; the shell rate-limits it by key. */
  | { type: 'log'; level: LogLevel; msg: string; fields: Record<string, unknown>; rateKey?: string };

export interface StepResult {
  state: FsmState;
  actions: FsmAction[];
  /** When the shell must deliver the next `timer` event; null = no timer. */
  deadline: number | null;
  /** Set when the state changed. */
  reason: TransitionReason | null;
  from: VrrpState;
}

export function initialFsmState(p: FsmParams): FsmState {
  return {
    state: 'INIT',
    effectivePriority: p.priority,
    masterIp: null,
    masterPriority: null,
    downAt: null,
    downCause: 'master_down_timer',
    advertAt: null,
    preemptAt: null,
  };
}

function deadlineOf(s: FsmState): number | null {
  if (s.state === 'MASTER') return s.advertAt;
  if (s.state === 'BACKUP') return s.downAt;
  return null;
}

/** When a backup's timer of `interval` ms started now expires (vrrp_startup_delay aware). */
function downDeadline(p: FsmParams, now: number, interval: number): number {
  const hold = p.startupHoldUntil;
  return hold !== undefined && now < hold ? hold + interval : now + interval;
}

function masterDown(p: FsmParams, s: FsmState): number {
  // keepalived keeps an owner's skew at that of 255 even after lowering its priority.
  const prio = p.priority === PRIORITY_OWNER ? PRIORITY_OWNER : s.effectivePriority;
  return masterDownIntervalMs(p.advertIntMs, prio, p.downTimerAdverts);
}

/** Advance the machine by one event. Never throws for any event in any state. */
export function step(p: FsmParams, prev: FsmState, ev: FsmEvent, now: number): StepResult {
  const s: FsmState = { ...prev };
  const actions: FsmAction[] = [];
  let reason: TransitionReason | null = null;
  const n = `(${p.name})`;
  const log = (level: LogLevel, msg: string, fields: Record<string, unknown> = {}, rateKey?: string): void => {
    const a: FsmAction = { type: 'log', level, msg: `${n} ${msg}`, fields: { instance: p.name, ...fields } };
    if (rateKey !== undefined) a.rateKey = rateKey;
    actions.push(a);
  };
  const enter = (to: VrrpState, why: TransitionReason, msg: string | null): void => {
    const from = s.state;
    s.state = to;
    reason = why;
    if (msg !== null) log('info', msg, { from, to, reason: why });
  };
  const becomeBackup = (why: TransitionReason, msg: string): void => {
    enter('BACKUP', why, msg);
    s.advertAt = null;
    s.downAt = downDeadline(p, now, masterDown(p, s));
    s.downCause = 'master_down_timer';
    s.preemptAt = null;
  };
  const leaveMaster = (): void => {
    actions.push({ type: 'stop_garp' }, { type: 'remove_vips' });
  };

  switch (ev.type) {
    case 'start': {
      if (s.state !== 'INIT') break;
      s.preemptAt = null;
      if (ev.fault) {
        // keepalived: an instance whose interface is missing or down starts in FAULT and waits.
        enter('FAULT', 'fault', 'Entering FAULT STATE (init)');
        s.downAt = null;
        break;
      }
      enter('BACKUP', 'startup', 'Entering BACKUP STATE (init)');
      if (p.priority === PRIORITY_OWNER) {
        s.downAt = downDeadline(p, now, 0); // the owner does not wait (RFC 3768 §6.4.1)
        s.downCause = 'address_owner';
      } else {
        // RFC 3768 §6.4.1: a non-owner, `state MASTER` or not, waits Master_Down_Interval to
        // hear an existing master. keepalived 2.2.7 does the same on the wire (about 3.6 s).
        s.downAt = downDeadline(p, now, masterDown(p, s));
        s.downCause = 'master_down_timer';
      }
      break;
    }

    case 'timer': {
      if (s.state === 'BACKUP' && s.downAt !== null && now >= s.downAt) {
        if (s.downCause === 'master_down_timer') log('debug', 'Receive advertisement timeout');
        actions.push({ type: 'send_advert', priority: s.effectivePriority });
        enter('MASTER', s.downCause, 'Entering MASTER STATE');
        actions.push({ type: 'add_vips' }, { type: 'start_garp' });
        s.masterIp = p.ownIp;
        s.masterPriority = s.effectivePriority;
        s.downAt = null;
        s.advertAt = now + p.advertIntMs;
      } else if (s.state === 'MASTER' && s.advertAt !== null && now >= s.advertAt) {
        actions.push({ type: 'send_advert', priority: s.effectivePriority });
        // Keep the cadence on the original grid unless we fell a whole interval behind.
        const next = s.advertAt + p.advertIntMs;
        s.advertAt = next > now ? next : now + p.advertIntMs;
      }
      break;
    }

    case 'advert': {
      if (s.state === 'BACKUP') backupReceives(p, s, ev, now, log);
      else if (s.state === 'MASTER') {
        const cmp = compareIp(ev.from, p.ownIp);
        if (ev.priority === PRIORITY_STOP) {
          actions.push({ type: 'send_advert', priority: s.effectivePriority });
          log('debug', 'Master received priority 0 message', { from: ev.from });
          break;
        }
        if (p.higherPrioSendAdvert && (ev.priority > s.effectivePriority || (ev.priority === s.effectivePriority && cmp > 0))) {
          actions.push({ type: 'send_advert', priority: s.effectivePriority });
        }
        if (ev.priority === s.effectivePriority) {
          if (cmp === 0) {
            log('warn', 'WARNING - equal priority advert received from remote host with our IP address.', { from: ev.from });
          } else if (s.effectivePriority === PRIORITY_OWNER) {
            log('warn', 'CONFIGURATION ERROR: local instance and a remote instance are both configured as address owner, please fix - reducing local priority', { from: ev.from });
            s.effectivePriority = PRIORITY_OWNER - 1;
          }
        }
        if (ev.priority < s.effectivePriority || (ev.priority === s.effectivePriority && cmp < 0)) {
          const suffix = p.lowerPrioNoAdvert ? '' : ', forcing new election';
          if (!p.lowerPrioNoAdvert) actions.push({ type: 'send_advert', priority: s.effectivePriority });
          // After a split brain heals this repeats every interval until the peer yields: rate-limited.
          log('info', `Received advert from ${ev.from} with lower priority ${ev.priority}, ours ${s.effectivePriority}${suffix}`,
            { from: ev.from, priority: ev.priority }, `lower_prio ${ev.from}`);
          // Re-announce the VIPs: clients may have followed the other master's GARPs.
          if (p.garpLowerPrioRepeat > 0) actions.push({ type: 'send_garp', repeat: p.garpLowerPrioRepeat, delayMs: p.garpLowerPrioDelayMs });
          actions.push({ type: 'rx_lower_pri', from: ev.from, priority: ev.priority });
        } else if (ev.priority > s.effectivePriority || cmp > 0) {
          const higher = ev.priority > s.effectivePriority;
          log('info', higher
            ? `Master received advert from ${ev.from} with higher priority ${ev.priority}, ours ${s.effectivePriority}`
            : `Master received advert from ${ev.from} with same priority ${ev.priority} but higher IP address than ours`,
          { from: ev.from, priority: ev.priority });
          becomeBackup(higher ? 'higher_priority_advert' : 'equal_priority_higher_ip', 'Entering BACKUP STATE');
          s.masterIp = ev.from;
          s.masterPriority = ev.priority;
          leaveMaster();
        }
      }
      // INIT and FAULT ignore adverts.
      break;
    }

    case 'shutdown': {
      if (s.state === 'INIT') break;
      if (s.state === 'MASTER') {
        actions.push({ type: 'send_advert', priority: PRIORITY_STOP });
        log('debug', 'sent 0 priority');
        leaveMaster();
      }
      enter('INIT', 'shutdown', null);
      s.downAt = null;
      s.advertAt = null;
      s.masterIp = null;
      s.masterPriority = null;
      break;
    }

    case 'fault': {
      if (s.state === 'FAULT' || s.state === 'INIT') break;
      const wasMaster = s.state === 'MASTER';
      // Resign on the wire before anything else (logging included): the backup waits on it.
      if (wasMaster) actions.push({ type: 'send_advert', priority: PRIORITY_STOP });
      enter('FAULT', 'fault', 'Entering FAULT STATE');
      if (wasMaster) {
        log('debug', 'sent 0 priority');
        leaveMaster();
      }
      s.downAt = null;
      s.advertAt = null;
      s.masterIp = null;
      s.masterPriority = null;
      break;
    }

    case 'priority': {
      // keepalived (vrrp_track.c vrrp_set_effective_priority): the address owner never moves;
      // others are clamped to 1..254, so 255 is neither reached nor left through weights.
      if (p.priority === PRIORITY_OWNER) break;
      const next = Math.min(PRIORITY_OWNER - 1, Math.max(1, Math.round(ev.total)));
      if (next === s.effectivePriority) break;
      const oldDown = masterDown(p, s);
      log('info', `Changing effective priority from ${s.effectivePriority} to ${next}`, { from: s.effectivePriority, to: next });
      s.effectivePriority = next;
      if (s.state === 'MASTER') s.masterPriority = next;
      // A running down timer keeps its start and takes the new length (the skew changed).
      if (s.state === 'BACKUP' && s.downAt !== null && s.downCause === 'master_down_timer') {
        s.downAt = Math.max(now, s.downAt + masterDown(p, s) - oldDown);
      }
      break;
    }

    case 'hold': {
      if (s.state === 'BACKUP') {
        s.downAt = now + masterDown(p, s);
        s.downCause = 'master_down_timer';
      }
      break;
    }

    case 'sync_master': {
      if (s.state !== 'BACKUP') break;
      actions.push({ type: 'send_advert', priority: s.effectivePriority });
      enter('MASTER', 'sync_group', 'Entering MASTER STATE');
      actions.push({ type: 'add_vips' }, { type: 'start_garp' });
      s.masterIp = p.ownIp;
      s.masterPriority = s.effectivePriority;
      s.downAt = null;
      s.advertAt = now + p.advertIntMs;
      break;
    }

    case 'sync_backup': {
      if (s.state !== 'MASTER') break;
      becomeBackup('sync_group', 'Entering BACKUP STATE');
      s.masterIp = null;
      s.masterPriority = null;
      leaveMaster();
      break;
    }

    case 'fault_cleared': {
      if (s.state !== 'FAULT') break;
      becomeBackup('fault_cleared', 'Entering BACKUP STATE');
      break;
    }
  }
  return { state: s, actions, deadline: deadlineOf(s), reason, from: prev.state };
}

function backupReceives(
  p: FsmParams,
  s: FsmState,
  ev: { from: string; priority: number },
  now: number,
  log: (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void,
): void {
  if (ev.priority === PRIORITY_STOP) {
    log('debug', 'Backup received priority 0 advertisement', { from: ev.from });
    s.downAt = downDeadline(p, now, skewTimeMs(p.priority === PRIORITY_OWNER ? PRIORITY_OWNER : s.effectivePriority));
    s.downCause = 'priority_zero_seen';
    return;
  }
  const delaying = p.preemptDelayMs > 0 && (s.preemptAt === null || s.preemptAt > now);
  if (p.nopreempt || ev.priority >= s.effectivePriority || delaying) {
    // Accept the sender as master and restart the down timer.
    s.downAt = downDeadline(p, now, masterDown(p, s));
    s.downCause = 'master_down_timer';
    s.masterIp = ev.from;
    s.masterPriority = ev.priority;
    if (p.preemptDelayMs > 0) {
      if (ev.priority >= s.effectivePriority) {
        s.preemptAt = null;
      } else if (s.preemptAt === null) {
        s.preemptAt = now + p.preemptDelayMs;
        log('debug', `start preempt delay (${(p.preemptDelayMs / 1000).toFixed(6)})`);
      }
    }
    return;
  }
  // Lower priority and we may preempt: ignore it, so our down timer runs out (keepalived).
  log('info', `received lower priority (${ev.priority}) advert from ${ev.from} - discarding`, { from: ev.from, priority: ev.priority });
  s.masterIp = ev.from;
  s.masterPriority = ev.priority;
  s.downCause = 'preempt';
}

function compareIp(a: string, b: string): number {
  const x = ipv4ToInt(a);
  const y = ipv4ToInt(b);
  return x === y ? 0 : x > y ? 1 : -1;
}
