// From a parsed keepalived.conf to what the wire and the FSM need, and the per-interface socket
// shared by instances (fake socket: no root needed).
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.js';
import { silentLogger } from '../../src/daemon/log.js';
import { InterfaceChannel, type ChannelMember } from '../../src/vrrp/channel.js';
import { encodeIpv4Header } from '../../src/vrrp/ipv4.js';
import { AUTH_NONE, AUTH_PASS, encodeAdvert, passwordBytes } from '../../src/vrrp/packet.js';
import type { OpenOptions, PacketSocket } from '../../src/vrrp/raw-transport.js';
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

const primary = (ip: string | null) => () => ip;

describe('resolveInstance', () => {
  it('maps a multicast instance onto the wire and the FSM', () => {
    const { inst, globals } = instance(`${base}\n  state BACKUP\n  nopreempt\n  preempt_delay 5`);
    const s = resolveInstance(inst, globals, silentLogger(), primary('10.0.0.1'));
    expect(s).toMatchObject({
      interface: 'eth0', vrid: 51, advertIntSec: 1, authType: AUTH_PASS, srcIp: '10.0.0.1',
      destinations: ['224.0.0.18'], unicast: false, ttl: 255, advertAddresses: ['10.0.0.100'], excludedCount: 1,
      fsm: { name: 'VI_1', priority: 150, advertIntMs: 1000, initialState: 'BACKUP', nopreempt: true, preemptDelayMs: 5000, downTimerAdverts: 3, ownIp: '10.0.0.1' },
    });
    expect(s.authData).toEqual(passwordBytes('s3cret'));
    expect(s.vips.map((v) => v.address)).toEqual(['10.0.0.100', '10.0.1.100']);
  });

  it('uses unicast peers, unicast_src_ip and unicast_ttl', () => {
    const { inst, globals } = instance(`${base}\n  unicast_src_ip 10.0.0.1\n  unicast_ttl 64\n  unicast_peer {\n    10.0.0.2\n    10.0.0.3\n  }`, 'vrrp_check_unicast_src');
    const s = resolveInstance(inst, globals, silentLogger(), primary(null));
    expect(s).toMatchObject({ unicast: true, srcIp: '10.0.0.1', destinations: ['10.0.0.2', '10.0.0.3'], ttl: 64, checkUnicastSrc: true });
  });

  it('honours mcast_src_ip, mcast_dst_ip and vrrp_mcast_group4', () => {
    const a = instance(`${base}\n  mcast_src_ip 10.0.0.9`, 'vrrp_mcast_group4 224.0.0.19');
    expect(resolveInstance(a.inst, a.globals, silentLogger(), primary('10.0.0.1'))).toMatchObject({ srcIp: '10.0.0.9', destinations: ['224.0.0.19'] });
  });

  it('rounds a fractional advert_int to whole seconds (VRRPv2) and warns', () => {
    // The parser already rounds with a config warning; a Config built another way still works.
    const lines: string[] = [];
    const log = { ...silentLogger(), warn: (_f: unknown, m: string) => { lines.push(m); } } as unknown as ReturnType<typeof silentLogger>;
    const { inst, globals } = instance(base);
    inst.advertInt = 2.4;
    expect(resolveInstance(inst, globals, log, primary('10.0.0.1')).advertIntSec).toBe(2);
    expect(lines).toEqual(['(VI_1) advert_int 2.4 rounded to 2 s: VRRPv2 carries whole seconds']);
  });

  it('works without authentication', () => {
    const { inst, globals } = instance(base.replace(/authentication \{[^}]*\}/, ''));
    const s = resolveInstance(inst, globals, silentLogger(), primary('10.0.0.1'));
    expect(s.authType).toBe(AUTH_NONE);
    expect(s.authData).toEqual(Buffer.alloc(8));
  });

  it('refuses what it cannot do, saying where and what to change', () => {
    const noIp = instance(base);
    expect(() => resolveInstance(noIp.inst, noIp.globals, silentLogger(), primary(null)))
      .toThrow(/^test\.conf:\d+: vrrp_instance VI_1: interface eth0 has no IPv4 address .*set mcast_src_ip$/);
    const v3 = instance(`${base}\n  version 3`);
    v3.inst.authType = null; // v3 forbids auth; the parser may already have cleared it
    expect(() => resolveInstance(v3.inst, v3.globals, silentLogger(), primary('10.0.0.1'))).toThrow(/VRRP version 3 is not supported yet/);
    const ah = instance(base);
    ah.inst.authType = 'AH';
    expect(() => resolveInstance(ah.inst, ah.globals, silentLogger(), primary('10.0.0.1'))).toThrow(/auth_type AH is not supported; use auth_type PASS/);
    const v6 = instance(base);
    v6.inst.virtualIpaddress = [{ ...v6.inst.virtualIpaddress[0]!, address: 'fd00::1', family: 6 }];
    expect(() => resolveInstance(v6.inst, v6.globals, silentLogger(), primary('10.0.0.1'))).toThrow(/move it to virtual_ipaddress_excluded/);
  });
});

describe('InterfaceChannel', () => {
  class FakeSocket implements PacketSocket {
    sent: Array<[Buffer, string]> = [];
    groups: string[] = [];
    closed = false;
    constructor(readonly opts: OpenOptions) {}
    send(packet: Buffer, dst: string): Promise<void> {
      this.sent.push([packet, dst]);
      return Promise.resolve();
    }
    join(group: string): void { this.groups.push(group); }
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

  it('demultiplexes by VRID and hands other packets to every instance as unclaimed', () => {
    let sock!: FakeSocket;
    const ch = new InterfaceChannel('eth0', '10.0.0.1', (o) => (sock = new FakeSocket(o)));
    const log: string[] = [];
    ch.add(member(51, log));
    ch.add(member(52, log));
    sock.opts.onPacket(advert(52), 0);
    sock.opts.onPacket(advert(51), 0);
    sock.opts.onPacket(advert(99), 0);
    sock.opts.onPacket(Buffer.from([0x45]), 0);
    sock.opts.onError(new Error('boom'));
    expect(log).toEqual([
      'packet:52', 'packet:51', 'unclaimed@51:99', 'unclaimed@52:99', 'unclaimed@51:null', 'unclaimed@52:null',
      'error@51:boom', 'error@52:boom',
    ]);
    ch.join('224.0.0.18');
    void ch.send(Buffer.from('x'), '224.0.0.18');
    ch.close();
    expect(sock).toMatchObject({ groups: ['224.0.0.18'], closed: true });
    expect(sock.sent).toHaveLength(1);
    expect(sock.opts).toMatchObject({ ifname: 'eth0', localIp: '10.0.0.1' });
  });

  it('refuses two instances with one VRID on one interface', () => {
    const ch = new InterfaceChannel('eth0', '10.0.0.1', (o) => new FakeSocket(o));
    ch.add(member(51, []));
    expect(() => ch.add(member(51, []))).toThrow('two vrrp_instances use virtual_router_id 51 on eth0: each needs its own VRID');
  });
});
