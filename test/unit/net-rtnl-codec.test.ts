// rtnetlink decoding. The byte buffers are built here, field by field, from the Linux struct
// layouts (include/uapi/linux/netlink.h, rtnetlink.h, if_link.h, if_addr.h), little-endian as on
// every Linux host hakeep runs on; the decoder under test has no encoder to borrow from. The last
// block feeds a real rtnlDump() of this host's namespace through the decoder and compares the
// result with `ip -j link` / `ip -j addr`.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { native } from '../../src/net/native.js';
import {
  formatIpv6, OPERSTATES, parseRtnl,
  type RtnlAddrMessage, type RtnlLinkMessage, type RtnlMessage,
} from '../../src/net/rtnl-codec.js';

const run = promisify(execFile);

// ---- test-side builders, straight from the C layouts ----

/** struct rtattr { u16 rta_len; u16 rta_type } + data, padded to 4 bytes (rta_len excludes the padding). */
function rtattr(type: number, data: Buffer): Buffer {
  const len = 4 + data.length;
  const b = Buffer.alloc((len + 3) & ~3);
  b.writeUInt16LE(len, 0);
  b.writeUInt16LE(type, 2);
  data.copy(b, 4);
  return b;
}

/** struct nlmsghdr { u32 len; u16 type; u16 flags; u32 seq; u32 pid } + payload, padded to 4. */
function nlmsg(type: number, payload: Buffer, opts: { flags?: number; seq?: number; pid?: number; pad?: boolean } = {}): Buffer {
  const len = 16 + payload.length;
  const b = Buffer.alloc(opts.pad === false ? len : (len + 3) & ~3);
  b.writeUInt32LE(len, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt16LE(opts.flags ?? 0, 6);
  b.writeUInt32LE(opts.seq ?? 0, 8);
  b.writeUInt32LE(opts.pid ?? 0, 12);
  payload.copy(b, 16);
  return b;
}

/** struct ifinfomsg { u8 family; u8 pad; u16 type; s32 index; u32 flags; u32 change } */
function ifinfomsg(f: { family?: number; type?: number; index: number; flags: number; change?: number }): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(f.family ?? 0, 0);
  b.writeUInt16LE(f.type ?? 1, 2);
  b.writeInt32LE(f.index, 4);
  b.writeUInt32LE(f.flags, 8);
  b.writeUInt32LE(f.change ?? 0xffffffff, 12);
  return b;
}

/** struct ifaddrmsg { u8 family; u8 prefixlen; u8 flags; u8 scope; u32 index } */
function ifaddrmsg(f: { family: number; prefixlen: number; flags?: number; scope?: number; index: number }): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt8(f.family, 0);
  b.writeUInt8(f.prefixlen, 1);
  b.writeUInt8(f.flags ?? 0, 2);
  b.writeUInt8(f.scope ?? 0, 3);
  b.writeUInt32LE(f.index, 4);
  return b;
}

const cstr = (s: string): Buffer => Buffer.concat([Buffer.from(s), Buffer.alloc(1)]);
const u8 = (n: number): Buffer => Buffer.from([n]);
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n, 0);
  return b;
};
const ip4 = (s: string): Buffer => Buffer.from(s.split('.').map(Number));
const hex = (s: string): Buffer => Buffer.from(s.replace(/[^0-9a-f]/g, ''), 'hex');
const s32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n, 0);
  return b;
};

// Numbers from the kernel headers, written out here on purpose.
const RTM_NEWLINK = 16, RTM_DELLINK = 17, RTM_NEWADDR = 20, RTM_DELADDR = 21, RTM_NEWROUTE = 24;
const NLMSG_ERROR = 2, NLMSG_DONE = 3;
const IFLA_ADDRESS = 1, IFLA_IFNAME = 3, IFLA_MTU = 4, IFLA_OPERSTATE = 16, IFLA_LINKINFO = 18;
const IFA_ADDRESS = 1, IFA_LOCAL = 2, IFA_LABEL = 3, IFA_CACHEINFO = 6, IFA_FLAGS = 8;
const AF_INET = 2, AF_INET6 = 10, AF_BRIDGE = 7;
const NLA_F_NESTED = 0x8000;

function eth0Link(flags: number, name = 'eth0', type = RTM_NEWLINK): Buffer {
  return nlmsg(type, Buffer.concat([
    ifinfomsg({ index: 4, flags }),
    rtattr(IFLA_IFNAME, cstr(name)),
    rtattr(IFLA_MTU, u32(1500)),
    rtattr(IFLA_OPERSTATE, u8(6)),
    rtattr(IFLA_LINKINFO | NLA_F_NESTED, rtattr(1, cstr('veth'))),
    rtattr(IFLA_ADDRESS, hex('02:fc:00:00:00:01')),
  ]), { seq: 7, pid: 0 });
}

describe('parseRtnl: link messages', () => {
  it('decodes RTM_NEWLINK: index, flags, name, operstate, mac; other attributes are skipped', () => {
    const msgs = parseRtnl(eth0Link(0x11043));
    expect(msgs).toEqual([{
      type: 'newlink', header: { type: RTM_NEWLINK, flags: 0, seq: 7, pid: 0 },
      family: 0, linkType: 1, ifindex: 4, flags: 0x11043, change: 0xffffffff,
      ifname: 'eth0', operstate: 6, mac: '02:fc:00:00:00:01',
    }]);
    expect(OPERSTATES[6]).toBe('up');
  });

  it('decodes RTM_DELLINK, a name whose length is not a multiple of 4, a link without a MAC, AF_BRIDGE', () => {
    const del = nlmsg(RTM_DELLINK, Buffer.concat([ifinfomsg({ index: 9, flags: 0x1003 }), rtattr(IFLA_IFNAME, cstr('veth-long0'))]));
    const br = nlmsg(RTM_DELLINK, Buffer.concat([ifinfomsg({ family: AF_BRIDGE, index: 5, flags: 0 }), rtattr(IFLA_IFNAME, cstr('p0'))]));
    const [a, b] = parseRtnl(Buffer.concat([del, br])) as RtnlLinkMessage[];
    expect(a).toMatchObject({ type: 'dellink', ifindex: 9, flags: 0x1003, ifname: 'veth-long0', mac: null, operstate: null, family: 0 });
    expect(b).toMatchObject({ type: 'dellink', ifindex: 5, family: AF_BRIDGE, ifname: 'p0' });
  });

  it('accepts a name without its NUL terminator', () => {
    const m = nlmsg(RTM_NEWLINK, Buffer.concat([ifinfomsg({ index: 2, flags: 1 }), rtattr(IFLA_IFNAME, Buffer.from('abc'))]));
    expect((parseRtnl(m)[0] as RtnlLinkMessage).ifname).toBe('abc');
  });
});

describe('parseRtnl: address messages', () => {
  it('IPv4: IFA_LOCAL is the address, a different IFA_ADDRESS is the peer; label; scope; flags', () => {
    const plain = nlmsg(RTM_NEWADDR, Buffer.concat([
      ifaddrmsg({ family: AF_INET, prefixlen: 24, flags: 0x80, scope: 0, index: 4 }),
      rtattr(IFA_ADDRESS, ip4('192.0.2.10')),
      rtattr(IFA_LOCAL, ip4('192.0.2.10')),
      rtattr(IFA_LABEL, cstr('eth0:vip')),
      rtattr(IFA_CACHEINFO, Buffer.alloc(16)),
    ]));
    const ptp = nlmsg(RTM_DELADDR, Buffer.concat([
      ifaddrmsg({ family: AF_INET, prefixlen: 32, scope: 253, index: 7 }),
      rtattr(IFA_LOCAL, ip4('10.0.0.1')),
      rtattr(IFA_ADDRESS, ip4('10.0.0.2')),
    ]));
    const [a, b] = parseRtnl(Buffer.concat([plain, ptp])) as RtnlAddrMessage[];
    expect(a).toEqual({
      type: 'newaddr', header: { type: RTM_NEWADDR, flags: 0, seq: 0, pid: 0 }, family: AF_INET, prefixLen: 24,
      flags: 0x80, scope: 0, ifindex: 4, address: '192.0.2.10', peer: null, label: 'eth0:vip',
    });
    expect(b).toMatchObject({ type: 'deladdr', address: '10.0.0.1', peer: '10.0.0.2', prefixLen: 32, scope: 253, ifindex: 7 });
  });

  it('IPv4 with IFA_ADDRESS only', () => {
    const m = nlmsg(RTM_NEWADDR, Buffer.concat([ifaddrmsg({ family: AF_INET, prefixlen: 8, index: 1 }), rtattr(IFA_ADDRESS, ip4('127.0.0.1'))]));
    expect(parseRtnl(m)[0]).toMatchObject({ address: '127.0.0.1', peer: null });
  });

  it('IPv6: IFA_ADDRESS is the address; the 32-bit IFA_FLAGS wins over ifa_flags', () => {
    const m = nlmsg(RTM_NEWADDR, Buffer.concat([
      ifaddrmsg({ family: AF_INET6, prefixlen: 64, flags: 0x40, scope: 253, index: 3 }),
      rtattr(IFA_ADDRESS, hex('fe80 0000 0000 0000 00fc 00ff fe00 0001')),
      rtattr(IFA_FLAGS, u32(0x240)),
    ]));
    expect(parseRtnl(m)[0]).toMatchObject({ family: AF_INET6, address: 'fe80::fc:ff:fe00:1', prefixLen: 64, flags: 0x240, scope: 253, ifindex: 3, label: null });
  });

  it('IPv6 point-to-point: IFA_LOCAL is the own address, IFA_ADDRESS the peer (as inet6_fill_ifaddr sends them)', () => {
    const m = nlmsg(RTM_NEWADDR, Buffer.concat([
      ifaddrmsg({ family: AF_INET6, prefixlen: 128, index: 3 }),
      rtattr(IFA_LOCAL, hex('2001 0db8 0000 0000 0000 0000 0000 0001')),
      rtattr(IFA_ADDRESS, hex('2001 0db8 0000 0000 0000 0000 0000 0002')),
    ]));
    expect(parseRtnl(m)[0]).toMatchObject({ address: '2001:db8::1', peer: '2001:db8::2' });
  });

  it('an address of another family decodes with address null', () => {
    const m = nlmsg(RTM_NEWADDR, Buffer.concat([ifaddrmsg({ family: 12, prefixlen: 0, index: 3 }), rtattr(IFA_ADDRESS, Buffer.from([1, 2]))]));
    expect(parseRtnl(m)[0]).toMatchObject({ type: 'newaddr', family: 12, address: null });
  });
});

describe('formatIpv6 (as inet_ntop, hence `ip`)', () => {
  const cases: Array<[string, string]> = [
    ['0000 0000 0000 0000 0000 0000 0000 0000', '::'],
    ['0000 0000 0000 0000 0000 0000 0000 0001', '::1'],
    ['2001 0db8 0000 0000 0000 0000 0000 0000', '2001:db8::'],
    ['2001 0db8 0000 0001 0000 0000 0000 0001', '2001:db8:0:1::1'],
    ['2001 0000 0000 0001 0000 0000 0000 0001', '2001:0:0:1::1'],
    ['0001 0000 0001 0000 0001 0000 0001 0000', '1:0:1:0:1:0:1:0'],
    ['0000 0000 0000 0000 0000 ffff c000 0201', '::ffff:192.0.2.1'],
    ['0000 0000 0000 0000 0000 0000 c000 0201', '::192.0.2.1'],
    ['fd00 0000 0000 0000 0000 0000 0000 abcd', 'fd00::abcd'],
    ['fe80 0000 0000 0000 0000 0000 0000 0000', 'fe80::'],
  ];
  for (const [bytes, text] of cases) it(`${text}`, () => expect(formatIpv6(hex(bytes))).toBe(text));
});

describe('parseRtnl: datagrams and control messages', () => {
  it('several messages in one datagram; unknown types (routes) are skipped; DONE and ERROR decode', () => {
    const route = nlmsg(RTM_NEWROUTE, Buffer.alloc(12, 0xaa));
    const addr = nlmsg(RTM_NEWADDR, Buffer.concat([ifaddrmsg({ family: AF_INET, prefixlen: 32, index: 4 }), rtattr(IFA_LOCAL, ip4('10.1.2.3'))]));
    const err = nlmsg(NLMSG_ERROR, Buffer.concat([s32(-17), nlmsg(RTM_NEWADDR, Buffer.alloc(0), { seq: 99 })]), { seq: 99 });
    const done = nlmsg(NLMSG_DONE, s32(0), { flags: 2, seq: 5 });
    const msgs = parseRtnl(Buffer.concat([eth0Link(0x1043), route, addr, err, done]));
    expect(msgs.map((m) => m.type)).toEqual(['newlink', 'newaddr', 'error', 'done']);
    expect(msgs[2]).toMatchObject({ type: 'error', error: 17, header: { seq: 99 } });
    expect(msgs[3]).toMatchObject({ type: 'done', error: 0, header: { flags: 2, seq: 5 } });
  });

  it('a DONE carrying a negative errno, and a DONE without payload (old kernels)', () => {
    expect(parseRtnl(nlmsg(NLMSG_DONE, s32(-4)))[0]).toMatchObject({ type: 'done', error: 4 });
    expect(parseRtnl(nlmsg(NLMSG_DONE, Buffer.alloc(0)))[0]).toMatchObject({ type: 'done', error: 0 });
  });

  it('an ACK is an error message with error 0', () => {
    expect(parseRtnl(nlmsg(NLMSG_ERROR, Buffer.concat([s32(0), Buffer.alloc(16)])))[0]).toMatchObject({ type: 'error', error: 0 });
  });

  it('an empty datagram is no message', () => {
    expect(parseRtnl(Buffer.alloc(0))).toEqual([]);
  });

  it('the last message of a datagram need not be padded', () => {
    const last = nlmsg(RTM_NEWLINK, Buffer.concat([ifinfomsg({ index: 2, flags: 1 }), Buffer.from([5, 0, IFLA_OPERSTATE, 0, 2])]), { pad: false });
    expect(last.length % 4).toBe(1);
    const msgs = parseRtnl(Buffer.concat([eth0Link(1), last]));
    expect(msgs).toHaveLength(2);
    expect(msgs[1]).toMatchObject({ ifindex: 2, operstate: 2 });
  });
});

describe('parseRtnl: truncated and garbage input', () => {
  const good = eth0Link(0x1043);

  it('a header cut short: what came before is kept, then `malformed` with the offset', () => {
    const msgs = parseRtnl(Buffer.concat([good, good.subarray(0, 10)]));
    expect(msgs.map((m) => m.type)).toEqual(['newlink', 'malformed']);
    expect(msgs[1]).toMatchObject({ type: 'malformed', offset: good.length });
  });

  it('nlmsg_len larger than the datagram', () => {
    expect(parseRtnl(good.subarray(0, good.length - 8))).toEqual([
      { type: 'malformed', offset: 0, reason: expect.stringContaining(`length ${good.readUInt32LE(0)}`) as string },
    ]);
  });

  it('nlmsg_len smaller than a header (would loop forever if trusted)', () => {
    const b = Buffer.from(good);
    b.writeUInt32LE(4, 0);
    expect(parseRtnl(b)).toMatchObject([{ type: 'malformed', offset: 0 }]);
  });

  it('a payload shorter than ifinfomsg / ifaddrmsg / the error code', () => {
    expect(parseRtnl(nlmsg(RTM_NEWLINK, Buffer.alloc(8)))).toMatchObject([{ type: 'malformed', offset: 0 }]);
    expect(parseRtnl(nlmsg(RTM_NEWADDR, Buffer.alloc(4)))).toMatchObject([{ type: 'malformed' }]);
    expect(parseRtnl(nlmsg(NLMSG_ERROR, Buffer.alloc(2)))).toMatchObject([{ type: 'malformed' }]);
  });

  it('an attribute running past its message, and one with rta_len < 4', () => {
    const long = nlmsg(RTM_NEWLINK, Buffer.concat([ifinfomsg({ index: 1, flags: 0 }), Buffer.from([40, 0, IFLA_IFNAME, 0, 0x6c, 0x6f, 0, 0])]));
    const tiny = nlmsg(RTM_NEWADDR, Buffer.concat([ifaddrmsg({ family: AF_INET, prefixlen: 8, index: 1 }), Buffer.from([2, 0, 1, 0])]));
    expect(parseRtnl(Buffer.concat([good, long]))).toMatchObject([{ type: 'newlink' }, { type: 'malformed', offset: good.length }]);
    expect(parseRtnl(tiny)).toMatchObject([{ type: 'malformed', offset: 0 }]);
  });

  it('an IPv4 address attribute of the wrong size gives address null, not garbage', () => {
    const m = nlmsg(RTM_NEWADDR, Buffer.concat([ifaddrmsg({ family: AF_INET, prefixlen: 8, index: 1 }), rtattr(IFA_LOCAL, Buffer.from([1, 2, 3]))]));
    expect(parseRtnl(m)[0]).toMatchObject({ type: 'newaddr', address: null });
  });

  it('never throws on random bytes; a malformed entry is always the last one', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const msgs = parseRtnl(Buffer.from(bytes));
        const bad = msgs.findIndex((m) => m.type === 'malformed');
        return bad === -1 || bad === msgs.length - 1;
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws when a valid datagram is cut or has bytes flipped', () => {
    const addr = nlmsg(RTM_NEWADDR, Buffer.concat([ifaddrmsg({ family: AF_INET6, prefixlen: 64, index: 3 }), rtattr(IFA_ADDRESS, Buffer.alloc(16, 1)), rtattr(IFA_FLAGS, u32(1))]));
    const base = Buffer.concat([good, addr, nlmsg(NLMSG_DONE, s32(0))]);
    fc.assert(
      fc.property(fc.nat(base.length), fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), (cut, flips) => {
        const b = Buffer.from(base.subarray(0, cut));
        for (const [at, v] of flips) if (at < b.length) b[at] = v;
        parseRtnl(b);
        return true;
      }),
      { numRuns: 3000 },
    );
  });
});

// ---- against the kernel ----

interface IpLink { ifindex: number; ifname: string; flags: string[]; operstate: string; link_type: string; address?: string }
interface IpAddr { ifindex: number; addr_info: { family: string; local: string; prefixlen: number }[] }

async function ipJson<T>(args: string[]): Promise<T> {
  try {
    return JSON.parse((await run('ip', ['-j', ...args])).stdout) as T;
  } catch (e) {
    throw new Error(`\`ip -j ${args.join(' ')}\` failed (iproute2 with JSON output is needed: apt-get install -y iproute2): ${(e as Error).message}`);
  }
}

function fromDump(datagrams: Buffer[]): { links: RtnlLinkMessage[]; addrs: RtnlAddrMessage[]; all: RtnlMessage[] } {
  const all = datagrams.flatMap((d) => parseRtnl(d));
  return {
    all,
    links: all.filter((m): m is RtnlLinkMessage => m.type === 'newlink'),
    addrs: all.filter((m): m is RtnlAddrMessage => m.type === 'newaddr'),
  };
}

describe('parseRtnl on a real rtnlDump() (this namespace) against ip -j', () => {
  it('links and addresses match `ip -j link` and `ip -j addr`', async () => {
    // Another process may change an interface between the dump and `ip`: compare up to 3 times.
    let lastDiff = '';
    for (let attempt = 0; attempt < 3; attempt++) {
      const dump = native().rtnlDump();
      const { links, addrs, all } = fromDump(dump);
      const ipLinks = await ipJson<IpLink[]>(['link']);
      const ipAddrs = await ipJson<IpAddr[]>(['addr']);

      expect(all.some((m) => m.type === 'malformed')).toBe(false);
      // Two dumps, each ending with NLMSG_DONE.
      expect(all.filter((m) => m.type === 'done')).toHaveLength(2);
      expect(links.length).toBeGreaterThan(0);

      const ours = links.map((l) => ({
        ifindex: l.ifindex, ifname: l.ifname, up: (l.flags & 1) !== 0, lowerUp: (l.flags & 0x10000) !== 0,
        operstate: l.operstate === null ? null : OPERSTATES[l.operstate]!.toUpperCase(),
        mac: l.mac,
      }));
      const theirs = ipLinks.map((l) => ({
        ifindex: l.ifindex, ifname: l.ifname, up: l.flags.includes('UP'), lowerUp: l.flags.includes('LOWER_UP'),
        operstate: l.operstate, mac: l.address ?? null,
      }));
      const ourAddrs = addrs.map((a) => `${a.ifindex} ${a.family === AF_INET ? 'inet' : 'inet6'} ${a.address}/${a.prefixLen}`).sort();
      const theirAddrs = ipAddrs.flatMap((l) => l.addr_info.map((a) => `${l.ifindex} ${a.family} ${a.local}/${a.prefixlen}`)).sort();
      const same = JSON.stringify(ours) === JSON.stringify(theirs) && JSON.stringify(ourAddrs) === JSON.stringify(theirAddrs);
      if (same) {
        expect(ourAddrs.length).toBeGreaterThan(0); // at least 127.0.0.1 on lo
        return;
      }
      lastDiff = JSON.stringify({ ours, theirs, ourAddrs, theirAddrs }, null, 1);
    }
    throw new Error(`the decoded dump never matched ip -j:\n${lastDiff}`);
  });
});
