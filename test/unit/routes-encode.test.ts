// RTM_NEWROUTE/DELROUTE and RTM_NEWRULE/DELRULE bytes (src/net/route-model.ts) against values
// written out here from the kernel's uapi headers (linux/netlink.h, rtnetlink.h, fib_rules.h),
// read back by a small TLV reader of this file's own, not by the code under test.
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import type { RouteSpec, RuleSpec } from '../../src/config/routes.js';
import { addressBytes, encodeRoute, encodeRule } from '../../src/net/route-model.js';

interface Decoded {
  len: number; type: number; flags: number;
  /** rtmsg / fib_rule_hdr: 8 bytes then u32 flags */
  body: number[]; bodyFlags: number;
  attrs: Array<[number, string]>;
}

function decode(b: Buffer): Decoded {
  const len = b.readUInt32LE(0);
  const attrs: Array<[number, string]> = [];
  let off = 28;
  while (off < len) {
    const alen = b.readUInt16LE(off);
    attrs.push([b.readUInt16LE(off + 2), b.subarray(off + 4, off + alen).toString('hex')]);
    off += (alen + 3) & ~3;
  }
  return { len, type: b.readUInt16LE(4), flags: b.readUInt16LE(6), body: [...b.subarray(16, 24)], bodyFlags: b.readUInt32LE(24), attrs };
}

const cfg = (block: string, lines: string[]) => parseConfigText(`${block} {\n${lines.join('\n')}\n}\n`, 'e.conf').config;
const route = (line: string): RouteSpec => cfg('static_routes', [line]).staticRoutes![0]!;
const rule = (line: string): RuleSpec => cfg('static_rules', [line]).staticRules![0]!;
const idx = (m: Record<string, number>) => (dev: string): number => m[dev]!;

// nlmsg flags: REQUEST 0x1 | ACK 0x4 | EXCL 0x200 | CREATE 0x400
const NEW_ROUTE_FLAGS = 0x405;
const NEW_RULE_FLAGS = 0x605;
const DEL_FLAGS = 0x005;

describe('route messages', () => {
  it('a device route with src and metric in table 100: RTM_NEWROUTE, rtmsg and attributes', () => {
    const b = encodeRoute('add', route('10.9.0.0/24 dev eth1 src 10.0.0.1 table 100 metric 7'), idx({ eth1: 7 }));
    const d = decode(b);
    expect(d.len).toBe(b.length);
    expect(d.type).toBe(24);
    expect(d.flags).toBe(NEW_ROUTE_FLAGS);
    // family AF_INET(2), dst_len 24, src_len 0, tos 0, table 100, protocol 18, scope universe(0), type unicast(1)
    expect(d.body).toEqual([2, 24, 0, 0, 100, 18, 0, 1]);
    expect(d.bodyFlags).toBe(0);
    // RTA_DST(1) 10.9.0.0, RTA_PREFSRC(7) 10.0.0.1, RTA_OIF(4) 7, RTA_PRIORITY(6) 7
    expect(new Map(d.attrs)).toEqual(new Map([[1, '0a090000'], [7, '0a000001'], [4, '07000000'], [6, '07000000']]));
  });

  it('delete: no CREATE, scope nowhere (255), type only when written', () => {
    const d = decode(encodeRoute('del', route('10.9.0.0/24 via 10.0.0.254'), idx({})));
    expect(d.type).toBe(25);
    expect(d.flags).toBe(DEL_FLAGS);
    expect(d.body).toEqual([2, 24, 0, 0, 254, 18, 255, 0]);
    expect(d.attrs).toEqual([[1, '0a090000'], [5, '0a0000fe']]);
    const bh = decode(encodeRoute('del', route('blackhole 10.78.0.0/16'), idx({})));
    expect(bh.body).toEqual([2, 16, 0, 0, 254, 18, 255, 6]);
  });

  it('default route: dst_len 0 and no RTA_DST; a table above 255 goes in RTA_TABLE(15) with table 0 in the header; onlink is RTNH_F_ONLINK(4)', () => {
    const d = decode(encodeRoute('add', route('default via 10.0.0.254 table 1000 onlink dev eth0'), idx({ eth0: 2 })));
    expect(d.body).toEqual([2, 0, 0, 0, 0, 18, 0, 1]);
    expect(d.bodyFlags).toBe(4);
    expect(new Map(d.attrs)).toEqual(new Map([[15, 'e8030000'], [5, '0a0000fe'], [4, '02000000']]));
  });

  it('route types: unreachable 7, prohibit 8, throw 9; scope link 253; tos', () => {
    expect(decode(encodeRoute('add', route('unreachable 10.4.0.0/16'), idx({}))).body[7]).toBe(7);
    expect(decode(encodeRoute('add', route('prohibit 10.4.0.0/16'), idx({}))).body[7]).toBe(8);
    expect(decode(encodeRoute('add', route('throw 10.4.0.0/16'), idx({}))).body[7]).toBe(9);
    expect(decode(encodeRoute('add', route('10.4.0.0/16 dev eth0 scope link tos 16'), idx({ eth0: 3 }))).body).toEqual([2, 16, 0, 16, 254, 18, 253, 1]);
  });

  it('IPv6: AF_INET6(10), 16-byte addresses', () => {
    const d = decode(encodeRoute('add', route('2001:db8:1::/64 via fe80::1 dev eth0 table 100'), idx({ eth0: 2 })));
    expect(d.body).toEqual([10, 64, 0, 0, 100, 18, 0, 1]);
    expect(new Map(d.attrs)).toEqual(new Map([[1, '20010db8000100000000000000000000'], [5, 'fe800000000000000000000000000001'], [4, '02000000']]));
  });

  it('multipath: RTA_MULTIPATH(9) of rtnexthop {len, flags, hops = weight-1, ifindex} each with its RTA_GATEWAY', () => {
    const d = decode(encodeRoute('add', route('10.7.0.0/16 nexthop via 10.0.0.2 weight 2 nexthop via 10.0.0.3 dev eth1 onlink'), idx({ eth1: 5 })));
    const mp = d.attrs.find(([t]) => t === 9)![1];
    expect(mp).toBe(
      '1000' + '00' + '01' + '00000000' + '0800' + '0500' + '0a000002' +
      '1000' + '04' + '00' + '05000000' + '0800' + '0500' + '0a000003',
    );
  });

  it('a route naming a device needs its index from the caller', () => {
    expect(() => encodeRoute('add', route('10.1.0.0/16 dev eth9'), () => { throw new Error('no eth9'); })).toThrow('no eth9');
  });
});

describe('rule messages', () => {
  it('from PREFIX table 100 priority 100: RTM_NEWRULE with CREATE|EXCL, FRA_SRC, FRA_PRIORITY, FRA_PROTOCOL 18', () => {
    const d = decode(encodeRule('add', rule('from 10.0.0.0/8 table 100 priority 100')));
    expect(d.type).toBe(32);
    expect(d.flags).toBe(NEW_RULE_FLAGS);
    // family, dst_len, src_len, tos, table, res1, res2, action FR_ACT_TO_TBL(1)
    expect(d.body).toEqual([2, 0, 8, 0, 100, 0, 0, 1]);
    expect(d.attrs).toEqual([[2, '0a000000'], [6, '64000000'], [21, '12']]);
  });

  it('delete: RTM_DELRULE, same match', () => {
    const d = decode(encodeRule('del', rule('from 10.0.0.0/8 table 100 priority 100')));
    expect(d.type).toBe(33);
    expect(d.flags).toBe(DEL_FLAGS);
    expect(d.attrs).toEqual([[2, '0a000000'], [6, '64000000'], [21, '12']]);
  });

  it('not, to, fwmark/mask, iif/oif by name, a table above 255', () => {
    const d = decode(encodeRule('add', rule('not to 10.1.0.0/16 fwmark 7/0xff iif eth0 oif eth1 table 1000 priority 106')));
    expect(d.body).toEqual([2, 16, 0, 0, 0, 0, 0, 1]);
    expect(d.bodyFlags).toBe(2); // FIB_RULE_INVERT
    expect(new Map(d.attrs)).toEqual(new Map([
      [15, 'e8030000'], [1, '0a010000'], [6, '6a000000'], [10, '07000000'], [16, 'ff000000'],
      [3, Buffer.from('eth0\0').toString('hex')], [17, Buffer.from('eth1\0').toString('hex')], [21, '12'],
    ]));
  });

  it('actions: blackhole 6, unreachable 7, prohibit 8, nop 3, goto 2 with FRA_GOTO(4)', () => {
    expect(decode(encodeRule('add', rule('to 10.2.0.0/16 blackhole priority 8'))).body[7]).toBe(6);
    expect(decode(encodeRule('add', rule('to 10.2.0.0/16 unreachable priority 8'))).body[7]).toBe(7);
    expect(decode(encodeRule('add', rule('to 10.2.0.0/16 prohibit priority 8'))).body[7]).toBe(8);
    expect(decode(encodeRule('add', rule('to 10.2.0.0/16 nop priority 8'))).body[7]).toBe(3);
    const g = decode(encodeRule('add', rule('from 10.3.0.0/16 goto 200 priority 9')));
    expect(g.body[7]).toBe(2);
    expect(g.attrs).toContainEqual([4, 'c8000000']);
  });

  it('from all sends no FRA_SRC; IPv6 rules are AF_INET6', () => {
    const d = decode(encodeRule('add', rule('from all table 100 priority 5')));
    expect(d.attrs.some(([t]) => t === 2)).toBe(false);
    const v6 = decode(encodeRule('add', rule('from 2001:db8::/64 table 100 priority 7')));
    expect(v6.body.slice(0, 3)).toEqual([10, 0, 64]);
    expect(v6.attrs[0]).toEqual([2, '20010db8000000000000000000000000']);
  });
});

describe('addresses', () => {
  it('IPv4 and IPv6 forms, including :: and an embedded IPv4', () => {
    expect(addressBytes('192.168.1.2').toString('hex')).toBe('c0a80102');
    expect(addressBytes('::').toString('hex')).toBe('0'.repeat(32));
    expect(addressBytes('::1').toString('hex')).toBe(`${'0'.repeat(30)}01`);
    expect(addressBytes('fe80::1:2').toString('hex')).toBe('fe800000000000000000000000010002');
    expect(addressBytes('::ffff:10.0.0.1').toString('hex')).toBe('00000000000000000000ffff0a000001');
    expect(addressBytes('2001:db8:0:0:1:0:0:1').toString('hex')).toBe('20010db8000000000001000000000001');
  });
});
