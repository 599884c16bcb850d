import { describe, expect, it } from 'vitest';
import { desiredServices } from '../../src/ipvs/desired.js';
import { confirmInitialDown, liveWeight, setRealServerAlive, startPool, stopPool } from '../../src/ipvs/pool.js';
import type { PoolEvent, PoolState } from '../../src/ipvs/pool.js';
import type { VirtualServer } from '../../src/config/model.js';
import { realServer, virtualServer } from './ipvs-fixtures.js';

const logs = (ev: PoolEvent[]): string[] => ev.flatMap((e) => (e.kind === 'log' ? [e.msg] : []));
const notifies = (ev: PoolEvent[]): string[] => ev.flatMap((e) => (e.kind === 'notify' ? [`${e.what}:${e.command.command}`] : []));
const dests = (vs: VirtualServer, st: PoolState): string[] =>
  desiredServices(vs, [], st)[0]!.dests.map((d) => `${d.ip}:${d.port}/${d.weight}`).sort();

function pool(vs: VirtualServer, alive = vs.realServers.map(() => true)): PoolState {
  return startPool(vs, alive).state;
}

describe('pool: weights and inhibit_on_failure', () => {
  const vs = virtualServer('10.0.0.100', 80, {
    realServers: [
      realServer('10.0.0.2', 80, { weight: 3 }),
      realServer('10.0.0.3', 80, { weight: 2, inhibitOnFailure: true }),
      realServer('10.0.0.4', 8080),
    ],
  });

  it('puts every healthy server in with its weight', () => {
    expect(dests(vs, pool(vs))).toEqual(['10.0.0.2:80/3', '10.0.0.3:80/2', '10.0.0.4:8080/1']);
  });

  it('removes a failed server, or weights it 0 with inhibit_on_failure, with keepalived wording', () => {
    let st = pool(vs);
    const a = setRealServerAlive(vs, st, 0, false);
    expect(logs(a.events)).toEqual(['Removing service [10.0.0.2]:tcp:80 from VS [10.0.0.100]:tcp:80']);
    st = a.state;
    const b = setRealServerAlive(vs, st, 1, false);
    expect(logs(b.events)).toEqual(['Disabling service [10.0.0.3]:tcp:80 of VS [10.0.0.100]:tcp:80']);
    st = b.state;
    expect(dests(vs, st)).toEqual(['10.0.0.3:80/0', '10.0.0.4:8080/1']);
    const c = setRealServerAlive(vs, st, 0, true);
    expect(logs(c.events)).toEqual(['Adding service [10.0.0.2]:tcp:80 to VS [10.0.0.100]:tcp:80']);
    const d = setRealServerAlive(vs, c.state, 1, true);
    expect(logs(d.events)).toEqual(['Enabling service [10.0.0.3]:tcp:80 of VS [10.0.0.100]:tcp:80']);
    expect(dests(vs, d.state)).toEqual(['10.0.0.2:80/3', '10.0.0.3:80/2', '10.0.0.4:8080/1']);
  });

  it('does nothing when the health did not change', () => {
    const st = pool(vs);
    const r = setRealServerAlive(vs, st, 0, true);
    expect(r.events).toEqual([]);
    expect(r.state).toBe(st);
  });

  it('runs notify_up / notify_down of the real server', () => {
    const v = virtualServer('10.0.0.100', 80, {
      realServers: [realServer('10.0.0.2', 80, { notifyUp: { command: '/bin/up x', user: null }, notifyDown: { command: '/bin/down', user: null } })],
    });
    const down = setRealServerAlive(v, pool(v), 0, false);
    expect(notifies(down.events)).toEqual(['notify_down:/bin/down']);
    expect(notifies(setRealServerAlive(v, down.state, 0, true).events)).toEqual(['notify_up:/bin/up x']);
  });
});

describe('pool: sorry server', () => {
  const vs = virtualServer('10.0.0.100', 80, {
    sorryServer: { ip: '10.0.0.9', port: 8080, family: 4 },
    realServers: [realServer('10.0.0.2', 80), realServer('10.0.0.3', 80, { inhibitOnFailure: true })],
  });

  it('stays out while servers are healthy and comes in when all have failed', () => {
    let st = pool(vs);
    expect(st.quorumUp).toBe(true);
    expect(dests(vs, st)).toEqual(['10.0.0.2:80/1', '10.0.0.3:80/1']);
    st = setRealServerAlive(vs, st, 0, false).state;
    const last = setRealServerAlive(vs, st, 1, false);
    expect(logs(last.events)).toEqual([
      'Disabling service [10.0.0.3]:tcp:80 of VS [10.0.0.100]:tcp:80',
      'Lost quorum 1-0=1 > 0 for VS [10.0.0.100]:tcp:80',
      'Adding sorry server [10.0.0.9]:tcp:8080 to VS [10.0.0.100]:tcp:80',
      'Removing alive servers from the pool for VS [10.0.0.100]:tcp:80',
    ]);
    expect(last.state.sorryActive).toBe(true);
    expect(dests(vs, last.state)).toEqual(['10.0.0.3:80/0', '10.0.0.9:8080/1']);
    const back = setRealServerAlive(vs, last.state, 0, true);
    expect(logs(back.events)).toEqual([
      'Adding service [10.0.0.2]:tcp:80 to VS [10.0.0.100]:tcp:80',
      'Gained quorum 1+0=1 <= 1 for VS [10.0.0.100]:tcp:80',
      'Removing sorry server [10.0.0.9]:tcp:8080 from VS [10.0.0.100]:tcp:80',
      'Adding alive servers to the pool for VS [10.0.0.100]:tcp:80',
    ]);
    expect(dests(vs, back.state)).toEqual(['10.0.0.2:80/1', '10.0.0.3:80/0']);
  });

  it('keeps an inhibited sorry server at weight 0 when it is not needed', () => {
    const v = { ...vs, sorryServerInhibit: true };
    const st = pool(v);
    expect(dests(v, st)).toEqual(['10.0.0.2:80/1', '10.0.0.3:80/1', '10.0.0.9:8080/0']);
    const down = setRealServerAlive(v, setRealServerAlive(v, st, 0, false).state, 1, false);
    expect(logs(down.events)).toContain('Enabling sorry server [10.0.0.9]:tcp:8080 to VS [10.0.0.100]:tcp:80');
    expect(dests(v, down.state)).toEqual(['10.0.0.3:80/0', '10.0.0.9:8080/1']);
  });

  it('uses sorry_server_lvs_method for the sorry server', () => {
    const v = { ...vs, lbKind: 'DR' as const, sorryServerLbKind: 'NAT' as const };
    const st = startPool(v, [false, false]).state;
    const svc = desiredServices(v, [], st)[0]!;
    expect(svc.dests.find((d) => d.ip === '10.0.0.9')).toMatchObject({ forward: 'masq', port: 8080 });
    expect(svc.dests.find((d) => d.ip === '10.0.0.3')).toMatchObject({ forward: 'route', port: 80, weight: 0 });
  });
});

describe('pool: quorum with hysteresis', () => {
  const servers = Array.from({ length: 10 }, (_, i) => realServer(`10.0.1.${i + 1}`, 8080));
  const vs = virtualServer('10.0.1.1', 80, {
    quorum: 7, hysteresis: 2,
    quorumUp: { command: '/usr/local/sbin/quorum-up.sh', user: null },
    quorumDown: { command: '/usr/local/sbin/quorum-down.sh', user: null },
    realServers: servers,
  });

  it('needs quorum + hysteresis to come up and falls below quorum - hysteresis to go down', () => {
    // alpha: everything starts failed, no sorry server, so nothing is logged at start.
    let step = startPool(vs, servers.map(() => false));
    expect(step.state.quorumUp).toBe(false);
    expect(step.events).toEqual([]);
    let st = step.state;
    for (let i = 0; i < 8; i++) {
      step = setRealServerAlive(vs, st, i, true);
      expect(step.state.quorumUp).toBe(false);
      st = step.state;
    }
    step = setRealServerAlive(vs, st, 8, true);
    expect(logs(step.events)).toContain('Gained quorum 7+2=9 <= 9 for VS [10.0.1.1]:tcp:80');
    expect(notifies(step.events)).toEqual(['quorum_up:/usr/local/sbin/quorum-up.sh']);
    st = step.state;
    // 9 → 5 alive: still up (threshold while up is 7-2=5).
    for (let i = 0; i < 4; i++) {
      step = setRealServerAlive(vs, st, i, false);
      expect(step.state.quorumUp).toBe(true);
      st = step.state;
    }
    expect(liveWeight(vs, st)).toBe(5);
    step = setRealServerAlive(vs, st, 4, false);
    expect(logs(step.events)).toContain('Lost quorum 7-2=5 > 4 for VS [10.0.1.1]:tcp:80');
    expect(notifies(step.events)).toEqual(['quorum_down:/usr/local/sbin/quorum-down.sh']);
    st = step.state;
    // Back to 8: not enough to regain (needs 9).
    for (let i = 0; i < 4; i++) st = setRealServerAlive(vs, st, i, true).state;
    expect(liveWeight(vs, st)).toBe(8);
    expect(st.quorumUp).toBe(false);
    // Without a sorry server, keepalived leaves the live servers in the pool when quorum is lost.
    expect(dests(vs, st)).toHaveLength(8);
  });

  it('a healthy start sets the quorum up silently: no line, no quorum_up (keepalived set_quorum_states)', () => {
    const step = startPool(vs, servers.map(() => true));
    expect(step.state.quorumUp).toBe(true);
    expect(step.events).toEqual([]);
  });

  it('starts with quorum down and the sorry server in when alpha servers start failed', () => {
    const v = { ...vs, sorryServer: { ip: '10.0.1.99', port: 80, family: 4 as const } };
    const step = startPool(v, servers.map(() => false));
    expect(logs(step.events)).toEqual([
      'Starting with quorum down 7-2=9 > 0 for VS [10.0.1.1]:tcp:80',
      'Adding sorry server [10.0.1.99]:tcp:80 to VS [10.0.1.1]:tcp:80',
      'Removing alive servers from the pool for VS [10.0.1.1]:tcp:80',
    ]);
    expect(dests(v, step.state)).toEqual(['10.0.1.99:80/1']);
  });
});

describe('pool: alpha and omega', () => {
  const vs = virtualServer('10.0.0.100', 80, {
    omega: true,
    quorumDown: { command: 'qd', user: null },
    realServers: [
      realServer('10.0.0.2', 80, { notifyDown: { command: 'down2', user: null } }),
      realServer('10.0.0.3', 80, { inhibitOnFailure: true, notifyDown: { command: 'down3', user: null } }),
    ],
  });

  it('keeps alpha servers out until they are marked alive', () => {
    const st = startPool(vs, [false, false]).state;
    expect(dests(vs, st)).toEqual(['10.0.0.3:80/0']);
    expect(notifies(confirmInitialDown(vs, st, 0))).toEqual(['notify_down:down2']);
    expect(dests(vs, setRealServerAlive(vs, st, 0, true).state)).toEqual(['10.0.0.2:80/1', '10.0.0.3:80/0']);
  });

  it('runs the down notifiers on stop with omega', () => {
    const st = startPool(vs, [true, false]).state;
    const ev = stopPool(vs, st);
    expect(logs(ev)).toEqual([
      'Shutting down service [10.0.0.2]:tcp:80 from VS [10.0.0.100]:tcp:80',
      'Shutting down (inhibited) service [10.0.0.3]:tcp:80 from VS [10.0.0.100]:tcp:80',
    ]);
    expect(notifies(ev)).toEqual(['notify_down:down2', 'quorum_down:qd']);
    expect(notifies(stopPool({ ...vs, omega: false }, st))).toEqual([]);
  });
});

describe('pool: log names', () => {
  it('prints real servers of a fwmark service with protocol none, like keepalived', () => {
    const vs = virtualServer('0.0.0.0', 0, { address: { kind: 'fwmark', fwmark: 3, family: 4 }, realServers: [realServer('10.0.0.2', 0)] });
    expect(logs(setRealServerAlive(vs, pool(vs), 0, false).events)).toEqual(['Removing service [10.0.0.2]:none:0 from VS FWM 3', 'Lost quorum 1-0=1 > 0 for VS FWM 3']);
  });
});
