// The pool of one virtual server: which real servers are alive, whether the quorum is up and
// whether the sorry server stands in. Pure: every step returns the new state plus the log lines and
// notify scripts it implies (actions as data), in the order keepalived produces them.
import type { NotifyCmd, VirtualServer } from '../config/model.js';
import { formatRs, formatVs } from './format.js';

export interface PoolState {
  /** Alive flag per real server, indexed like vs.realServers. */
  readonly alive: readonly boolean[];
  readonly quorumUp: boolean;
  /** The sorry server is in the pool (quorum lost and a sorry_server configured). */
  readonly sorryActive: boolean;
}

export type NotifyKind = 'notify_up' | 'notify_down' | 'quorum_up' | 'quorum_down';

export type PoolEvent =
  | { kind: 'log'; msg: string; fields: Record<string, unknown> }
  | { kind: 'notify'; what: NotifyKind; command: NotifyCmd; vs: string; rs?: string };

export interface PoolStep {
  state: PoolState;
  events: PoolEvent[];
}

type Vs = Pick<
  VirtualServer,
  'address' | 'protocol' | 'realServers' | 'quorum' | 'hysteresis' | 'quorumUp' | 'quorumDown' |
  'sorryServer' | 'sorryServerInhibit' | 'omega'
>;

/** Sum of the weights of the alive real servers: what quorum is measured against. */
export function liveWeight(vs: Vs, state: PoolState): number {
  let sum = 0;
  vs.realServers.forEach((rs, i) => {
    if (state.alive[i]) sum += rs.weight;
  });
  return sum;
}

function sorryName(vs: Vs): string {
  return formatRs(vs.sorryServer!, vs);
}

/**
 * Re-evaluate the quorum after the live weight changed. Going up needs quorum + hysteresis, going
 * down happens below quorum - hysteresis (or at zero), so a pool hovering at the edge does not flap.
 * `init` is the first evaluation at start, where a sorry server is put in at once if needed.
 */
function evaluateQuorum(vs: Vs, state: PoolState, init: boolean, events: PoolEvent[]): PoolState {
  const name = formatVs(vs);
  const sum = liveWeight(vs, state);
  const threshold = vs.quorum + (state.quorumUp ? -1 : 1) * vs.hysteresis;
  const fields = { vs: name, quorum: vs.quorum, hysteresis: vs.hysteresis, threshold, weight: sum };

  if (!state.quorumUp && sum >= threshold) {
    events.push({
      kind: 'log',
      msg: `Gained quorum ${vs.quorum}+${vs.hysteresis}=${threshold} <= ${sum} for VS ${name}`,
      fields: { ...fields, event: 'quorum_up' },
    });
    if (state.sorryActive && vs.sorryServer) {
      const verb = vs.sorryServerInhibit ? 'Disabling' : 'Removing';
      events.push({ kind: 'log', msg: `${verb} sorry server ${sorryName(vs)} from VS ${name}`, fields: { vs: name } });
      events.push({ kind: 'log', msg: `Adding alive servers to the pool for VS ${name}`, fields: { vs: name } });
    }
    if (vs.quorumUp) events.push({ kind: 'notify', what: 'quorum_up', command: vs.quorumUp, vs: name });
    return { ...state, quorumUp: true, sorryActive: false };
  }

  const lost = state.quorumUp && (sum === 0 || sum < threshold);
  const startDown = init && !state.quorumUp && vs.sorryServer !== null && !state.sorryActive;
  if (lost || startDown) {
    const what = init ? 'Starting with quorum down' : 'Lost quorum';
    events.push({
      kind: 'log',
      msg: `${what} ${vs.quorum}-${vs.hysteresis}=${threshold} > ${sum} for VS ${name}`,
      fields: { ...fields, event: 'quorum_down' },
    });
    let sorryActive = state.sorryActive;
    if (vs.sorryServer && !sorryActive) {
      const verb = vs.sorryServerInhibit ? 'Enabling' : 'Adding';
      events.push({ kind: 'log', msg: `${verb} sorry server ${sorryName(vs)} to VS ${name}`, fields: { vs: name } });
      events.push({ kind: 'log', msg: `Removing alive servers from the pool for VS ${name}`, fields: { vs: name } });
      sorryActive = true;
    }
    if (vs.quorumDown) events.push({ kind: 'notify', what: 'quorum_down', command: vs.quorumDown, vs: name });
    return { ...state, quorumUp: false, sorryActive };
  }
  return state;
}

/**
 * The pool at start: `initialAlive` is false for real servers whose checkers start failed (alpha)
 * or are known dead (a restarted checker side). The quorum state is set from the live weight
 * without a word, as keepalived's set_quorum_states() does (check_data.c, ipwrapper.c): a healthy
 * start logs nothing and runs no quorum_up; a start below quorum with a sorry server logs
 * "Starting with quorum down", puts the sorry server in and runs quorum_down.
 */
export function startPool(vs: Vs, initialAlive: readonly boolean[]): PoolStep {
  const events: PoolEvent[] = [];
  const alive = [...initialAlive];
  const quorumUp = liveWeight(vs, { alive, quorumUp: false, sorryActive: false }) >= vs.quorum + vs.hysteresis;
  const state = evaluateQuorum(vs, { alive, quorumUp, sorryActive: false }, true, events);
  return { state, events };
}

/** A real server's health changed (all its checkers up, or one of them down). */
export function setRealServerAlive(vs: Vs, state: PoolState, index: number, alive: boolean): PoolStep {
  const rs = vs.realServers[index];
  if (!rs || state.alive[index] === alive) return { state, events: [] };
  const events: PoolEvent[] = [];
  const vsName = formatVs(vs);
  const rsName = formatRs(rs, vs);
  const inhibit = rs.inhibitOnFailure;
  const verb = alive ? (inhibit ? 'Enabling' : 'Adding') : (inhibit ? 'Disabling' : 'Removing');
  const prep = inhibit ? 'of' : alive ? 'to' : 'from';
  events.push({
    kind: 'log',
    msg: `${verb} service ${rsName} ${prep} VS ${vsName}`,
    fields: { vs: vsName, rs: rsName, alive, inhibit },
  });
  const notify = alive ? rs.notifyUp : rs.notifyDown;
  if (notify) events.push({ kind: 'notify', what: alive ? 'notify_up' : 'notify_down', command: notify, vs: vsName, rs: rsName });
  const aliveList = [...state.alive];
  aliveList[index] = alive;
  const next = evaluateQuorum(vs, { ...state, alive: aliveList }, false, events);
  return { state: next, events };
}

/**
 * The live weight changed without an alive change (a real server's dynamic weight: misc_dynamic,
 * FILE_CHECK; keepalived's update_svr_wgt → update_quorum_state, ipwrapper.c:700-730): the quorum
 * is evaluated again. `vs` carries the real servers' effective weights.
 */
export function reevaluateQuorum(vs: Vs, state: PoolState): PoolStep {
  const events: PoolEvent[] = [];
  return { state: evaluateQuorum(vs, state, false, events), events };
}

/**
 * A real server that started failed (alpha) had its first check fail too: keepalived runs its
 * notify_down once then, so scripts learn the initial state.
 */
export function confirmInitialDown(vs: Vs, state: PoolState, index: number): PoolEvent[] {
  const rs = vs.realServers[index];
  if (!rs || state.alive[index] || !rs.notifyDown) return [];
  return [{ kind: 'notify', what: 'notify_down', command: rs.notifyDown, vs: formatVs(vs), rs: formatRs(rs, vs) }];
}

/** Shutting down: one line per real server; with `omega` the down notifiers run as well. */
export function stopPool(vs: Vs, state: PoolState): PoolEvent[] {
  const events: PoolEvent[] = [];
  const vsName = formatVs(vs);
  vs.realServers.forEach((rs, i) => {
    const rsName = formatRs(rs, vs);
    const inhibited = rs.inhibitOnFailure && !state.alive[i] ? '(inhibited) ' : '';
    events.push({ kind: 'log', msg: `Shutting down ${inhibited}service ${rsName} from VS ${vsName}`, fields: { vs: vsName, rs: rsName } });
    if (vs.omega && state.alive[i] && rs.notifyDown) {
      events.push({ kind: 'notify', what: 'notify_down', command: rs.notifyDown, vs: vsName, rs: rsName });
    }
  });
  if (vs.omega && vs.quorumDown) events.push({ kind: 'notify', what: 'quorum_down', command: vs.quorumDown, vs: vsName });
  return events;
}
