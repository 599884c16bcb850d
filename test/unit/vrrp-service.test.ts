// From a parsed keepalived.conf to what the wire and the FSM need, and the per-interface socket
// shared by instances (fake socket: no root needed).
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.js';
import { silentLogger } from '../../src/daemon/log.js';
import { InterfaceChannel, type ChannelMember } from '../../src/vrrp/channel.js';
import { encodeIpv4Header } from '../../src/vrrp/ipv4.js';
import { AUTH_NONE, AUTH_PASS, encodeAdvert, passwordBytes } from '../../src/vrrp/packet.js';
import { asError, type OpenOptions, type PacketSocket } from '../../src/vrrp/raw-transport.js';
import { resolveInstance } from '../../src/vrrp/service.js';

function instance(body: string, globals = '') {
  const res = parseConfigText(`global_defs {\n${globals}\n}\nvrrp_instance VI_1 {\n${body}\n}\n`, 'test.conf');
  const errors = res.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(errors.map((d) => d.message).join('; '));
  return { inst: res.config.vrrpInstances[0]!, globals: res.config.globalDefs };
}

const base = `
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass s3cret
  }
  virtual_ipaddress {
    10.0.0.100/24 dev eth0 label eth0:vip
  }
  virtual_ipaddress_excluded {
    10.0.1.100/32
  }`;

describe('resolveInstance', () => {
  it('maps a multicast instance onto the wire and the FSM', () => {
    const { inst, globals } = instance(`${base}\n  state BACKUP\n  preempt_delay 5`);
    const s = resolveInstance(inst, globals, silentLogger());
    expect(s).toMatchObject({
      interface: 'eth0', vrid: 51, advertIntSec: 1, authType: AUTH_PASS, srcIp: null, srcConfigured: false,
      destinations: ['224.0.0.18'], unicast: false, ttl: 255, advertAddresses: ['10.0.0.100'], excludedCount: 1,
      fsm: { name: 'VI_1', priority: 150, advertIntMs: 1000, initialState: 'BACKUP', nopreempt: false, preemptDelayMs: 5000, downTimerAdverts: 3 },
    });
    expect(s.authData).toEqual(passwordBytes('s3cret'));
    expect(s.vips.map((v) => v.address)).toEqual(['10.0.0.100', '10.0.1.100']);
  });

  it('uses unicast peers, unicast_src_ip and unicast_ttl', () => {
    const { inst, globals } = instance(`${base}\n  unicast_src_ip 10.0.0.1\n  unicast_ttl 64\n  unicast_peer {\n    10.0.0.2\n    10.0.0.3\n  }`, 'vrrp_check_unicast_src');
    const s = resolveInstance(inst, globals, silentLogger());
    expect(s).toMatchObject({ unicast: true, srcIp: '10.0.0.1', srcConfigured: true, destinations: ['10.0.0.2', '10.0.0.3'], ttl: 64, checkUnicastSrc: true, peerTtl: null });
    // Per instance, and min_ttl/max_ttl reach the receive check (and turn check_unicast_src on).
    const per = instance(`${base}\n  unicast_src_ip 10.0.0.1\n  unicast_peer {\n    10.0.0.2 min_ttl 100\n    10.0.0.3\n  }`);
    const p = resolveInstance(per.inst, per.globals, silentLogger());
    expect(p.checkUnicastSrc).toBe(true);
    expect(p.peerTtl?.get('10.0.0.2')).toEqual({ min: 100, max: 255 });
    const own = instance(`${base}\n  check_unicast_src\n  unicast_src_ip 10.0.0.1\n  unicast_peer {\n    10.0.0.2\n  }`);
    expect(resolveInstance(own.inst, own.globals, silentLogger()).checkUnicastSrc).toBe(true);
  });

  it('honours mcast_src_ip, mcast_dst_ip and vrrp_mcast_group4', () => {
    const a = instance(`${base}\n  mcast_src_ip 10.0.0.9`, 'vrrp_mcast_group4 224.0.0.19');
    expect(resolveInstance(a.inst, a.globals, silentLogger())).toMatchObject({ srcIp: '10.0.0.9', destinations: ['224.0.0.19'] });
  });

  it('rounds a fractional advert_int to whole seconds (VRRPv2) and warns', () => {
    // The parser already rounds with a config warning; a Config built another way still works.
    const lines: string[] = [];
    const log = { ...silentLogger(), warn: (_f: unknown, m: string) => { lines.push(m); } } as unknown as ReturnType<typeof silentLogger>;
    const { inst, globals } = instance(base);
    inst.advertInt = 2.4;
    expect(resolveInstance(inst, globals, log).advertIntSec).toBe(2);
    expect(lines).toEqual(['(VI_1) advert_int 2.4 rounded to 2 s: VRRPv2 carries whole seconds']);
  });

  it('works without authentication', () => {
    const { inst, globals } = instance(base.replace(/authentication \{[^}]*\}/, ''));
    const s = resolveInstance(inst, globals, silentLogger());
    expect(s.authType).toBe(AUTH_NONE);
    expect(s.authData).toEqual(Buffer.alloc(8));
  });

  it('leaves the advert source to run time unless configured (no address = FAULT, not an exit)', () => {
    const { inst, globals } = instance(base);
    expect(resolveInstance(inst, globals, silentLogger())).toMatchObject({ srcIp: null, srcConfigured: false });
  });

  it('uses keepalived\'s garp_lower_prio defaults: garp_master_repeat and garp_master_delay', () => {
    const { inst, globals } = instance(base);
    expect(resolveInstance(inst, globals, silentLogger()).fsm).toMatchObject({ garpLowerPrioRepeat: 5, garpLowerPrioDelayMs: 5000 });
  });

  it('refuses what it cannot do, saying where and what to change', () => {
    const v3 = instance(`${base}\n  version 3`);
    v3.inst.authType = null; // v3 forbids auth; the parser may already have cleared it
    expect(() => resolveInstance(v3.inst, v3.globals, silentLogger())).toThrow(/VRRP version 3 is not supported yet/);
    const ah = instance(base);
    ah.inst.authType = 'AH';
    expect(() => resolveInstance(ah.inst, ah.globals, silentLogger())).toThrow(/auth_type AH is not supported; use auth_type PASS/);
    const v6 = instance(base);
    v6.inst.virtualIpaddress = [{ ...v6.inst.virtualIpaddress[0]!, address: 'fd00::1', family: 6 }];
    expect(() => resolveInstance(v6.inst, v6.globals, silentLogger())).toThrow(/move it to virtual_ipaddress_excluded/);
  });
});

describe('InterfaceChannel', () => {
  class FakeSocket implements PacketSocket {
    sent: Array<[Buffer, string]> = [];
    groups: string[] = [];
    closed = false;
    queued: Buffer[] = [];
    constructor(readonly opts: OpenOptions) {}
    send(packet: Buffer, dst: string): Promise<void> {
      this.sent.push([packet, dst]);
      return Promise.resolve();
    }
    join(group: string): void { this.groups.push(group); }
    drain(): number {
      const n = this.queued.length;
      for (const p of this.queued.splice(0)) this.opts.onPacket(p, 0);
      return n;
    }
    close(): void { this.closed = true; }
  }

  const member = (vrid: number, log: string[]): ChannelMember => ({
    vrid,
    onPacket: () => log.push(`packet:${vrid}`),
    onUnclaimed: (_p, v) => log.push(`unclaimed@${vrid}:${v}`),
    onSocketError: (e) => log.push(`error@${vrid}:${e.message}`),
  });
  const advert = (vrid: number): Buffer => {
    const v = encodeAdvert({ vrid, priority: 100, authType: 0, advertInt: 1, addresses: [], authData: Buffer.alloc(8) });
    return Buffer.concat([encodeIpv4Header({ src: '10.0.0.2', dst: '224.0.0.18', ttl: 255, tos: 0xc0, protocol: 112, payloadLength: v.length }), v]);
  };

  class ManualTimers {
    pending: Array<{ fn: () => void; ms: number; id: number }> = [];
    private seq = 0;
    setTimeout(fn: () => void, ms: number): unknown { const id = ++this.seq; this.pending.push({ fn, ms, id }); return id; }
    clearTimeout(h: unknown): void { this.pending = this.pending.filter((t) => t.id !== h); }
    runNext(): number { const t = this.pending.shift()!; t.fn(); return t.ms; }
  }

  it('demultiplexes by VRID and hands other packets to every instance as unclaimed', () => {
    const socks: FakeSocket[] = [];
    const ch = new InterfaceChannel('eth0', (o) => { const s = new FakeSocket(o); socks.push(s); return s; });
    const log: string[] = [];
    ch.add(member(51, log));
    ch.add(member(52, log));
    ch.join('224.0.0.18');
    expect(socks).toHaveLength(0); // nothing opens before the interface is known to exist
    ch.attach(7);
    const sock = socks[0]!;
    expect(sock.opts).toMatchObject({ ifname: 'eth0', ifindex: 7 });
    expect(sock.groups).toEqual(['224.0.0.18']);
    sock.opts.onPacket(advert(52), 0);
    sock.opts.onPacket(advert(51), 0);
    sock.opts.onPacket(advert(99), 0);
    sock.opts.onPacket(Buffer.from([0x45]), 0);
    expect(log).toEqual(['packet:52', 'packet:51', 'unclaimed@51:99', 'unclaimed@52:99', 'unclaimed@51:null', 'unclaimed@52:null']);
    sock.queued.push(advert(51));
    expect(ch.drain()).toBe(1);
    expect(log.at(-1)).toBe('packet:51');
    void ch.send(Buffer.from('x'), '224.0.0.18');
    ch.close();
    expect(sock).toMatchObject({ closed: true });
    expect(sock.sent).toHaveLength(1);
  });

  it('follows the interface: closed when deleted, reopened (groups joined again) on the new ifindex', async () => {
    const socks: FakeSocket[] = [];
    const states: Array<string | null> = [];
    const ch = new InterfaceChannel('eth0', (o) => { const s = new FakeSocket(o); socks.push(s); return s; }, { onState: (p) => states.push(p) });
    ch.join('224.0.0.18');
    ch.attach(7);
    ch.attach(7); // same index: nothing to do
    expect(socks).toHaveLength(1);
    ch.detach('interface eth0 deleted');
    expect(socks[0]!.closed).toBe(true);
    await expect(ch.send(Buffer.from('x'), '224.0.0.18')).rejects.toThrow('no VRRP socket on eth0');
    ch.attach(9);
    expect(socks).toHaveLength(2);
    expect(socks[1]!.opts.ifindex).toBe(9);
    expect(socks[1]!.groups).toEqual(['224.0.0.18']);
    expect(states).toEqual([null, 'interface eth0 deleted', null]);
  });

  it('after a socket error (raw-socket closes it, even with no Error object) reopens with backoff', () => {
    const timers = new ManualTimers();
    let fail = 0;
    const socks: FakeSocket[] = [];
    const states: Array<string | null> = [];
    const log: string[] = [];
    const ch = new InterfaceChannel('eth0', (o) => {
      if (fail > 0) { fail -= 1; throw new Error('Operation not permitted'); }
      const s = new FakeSocket(o); socks.push(s); return s;
    }, { onState: (p) => states.push(p), timers, reopen: { firstMs: 100, maxMs: 400 } });
    ch.add(member(51, log));
    ch.attach(3);
    fail = 2;
    socks[0]!.opts.onError(asError(undefined, 'poll error on the VRRP socket of eth0'));
    expect(log).toEqual(['error@51:poll error on the VRRP socket of eth0']);
    expect(ch.isOpen).toBe(false);
    expect(timers.runNext()).toBe(100);
    expect(timers.runNext()).toBe(200);
    expect(timers.runNext()).toBe(400);
    expect(ch.isOpen).toBe(true);
    expect(states).toEqual([
      null,
      'VRRP socket failed: poll error on the VRRP socket of eth0',
      'cannot open the VRRP socket: Operation not permitted',
      'cannot open the VRRP socket: Operation not permitted',
      null,
    ]);
    // The old socket's late error does not close the new one.
    socks[0]!.opts.onError(new Error('late'));
    expect(ch.isOpen).toBe(true);
  });

  it('refuses two instances with one VRID on one interface', () => {
    const ch = new InterfaceChannel('eth0', (o) => new FakeSocket(o));
    ch.add(member(51, []));
    expect(() => ch.add(member(51, []))).toThrow('two vrrp_instances use virtual_router_id 51 on eth0: each needs its own VRID');
  });
});
