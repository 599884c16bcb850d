// rtnetlink requests for routes and policy rules: RTM_NEWROUTE/RTM_DELROUTE and
// RTM_NEWRULE/RTM_DELRULE messages built from the parsed models of src/config/routes.ts. Pure:
// bytes out, nothing sent (src/net/routes.ts hands them to the addon, which adds the sequence
// number and asks for one ACK per message).
//
// Layouts (include/uapi/linux/netlink.h, rtnetlink.h, fib_rules.h), host byte order
// (little-endian on every architecture hakeep runs on):
//   nlmsghdr     { u32 len; u16 type; u16 flags; u32 seq; u32 pid }                          16 bytes
//   rtmsg        { u8 family, dst_len, src_len, tos, table, protocol, scope, type; u32 flags } 12 bytes
//   fib_rule_hdr { u8 family, dst_len, src_len, tos, table, res1, res2, action; u32 flags }   12 bytes
//   rtattr       { u16 len; u16 type } + payload, 4-byte aligned.
// What keepalived puts in them (vrrp_iproute.c netlink_route:295-520, vrrp_iprule.c
// netlink_rule:142-270), followed here: a route add is NLM_F_CREATE (no EXCL: an identical route
// answers EEXIST, which counts as present), a delete has scope nowhere and names the type only when
// one was written; table ids above 255 go in RTA_TABLE/FRA_TABLE with the header's table 0; a rule
// add is NLM_F_CREATE|NLM_F_EXCL; interfaces of rules go by name (FRA_IIFNAME/FRA_OIFNAME).
import { isIPv4 } from 'node:net';
import { ROUTE_TYPES, RULE_ACTIONS, type Prefix, type RouteSpec, type RuleSpec } from '../config/routes.js';

export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_NEWRULE = 32;
export const RTM_DELRULE = 33;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_ACK = 0x4;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;

export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_PREFSRC = 7;
export const RTA_MULTIPATH = 9;
export const RTA_TABLE = 15;

export const FRA_DST = 1;
export const FRA_SRC = 2;
export const FRA_IIFNAME = 3;
export const FRA_GOTO = 4;
export const FRA_PRIORITY = 6;
export const FRA_FWMARK = 10;
export const FRA_TABLE = 15;
export const FRA_FWMASK = 16;
export const FRA_OIFNAME = 17;
export const FRA_PROTOCOL = 21;

export const RTNH_F_ONLINK = 0x4;
export const FIB_RULE_INVERT = 0x2;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_NOWHERE = 255;

const AF = { 4: 2, 6: 10 } as const;
const HDR = 16;
const BODY = 12;

/** Network-order bytes of an IPv4 or IPv6 address (already validated by the parser). */
export function addressBytes(text: string): Buffer {
  if (isIPv4(text)) return Buffer.from(text.split('.').map(Number));
  let s = text.toLowerCase();
  const out = Buffer.alloc(16);
  let v4: number[] = [];
  const m = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (m) {
    v4 = m[1]!.split('.').map(Number);
    s = `${s.slice(0, m.index)}0:0`;
  }
  const [a, b] = s.split('::') as [string, string | undefined];
  const head = a === '' ? [] : a.split(':').map((x) => parseInt(x, 16));
  const tail = b === undefined || b === '' ? [] : b.split(':').map((x) => parseInt(x, 16));
  const words = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  words.forEach((w, i) => out.writeUInt16BE(w, 2 * i));
  if (v4.length === 4) Buffer.from(v4).copy(out, 12);
  return out;
}

class Msg {
  private readonly parts: Buffer[] = [];
  private len = 0;
  constructor(type: number, flags: number, body: Buffer) {
    const h = Buffer.alloc(HDR);
    h.writeUInt16LE(type, 4);
    h.writeUInt16LE(flags | NLM_F_REQUEST | NLM_F_ACK, 6);
    this.push(h);
    this.push(body);
  }
  private push(b: Buffer): void {
    this.parts.push(b);
    this.len += b.length;
  }
  attr(type: number, payload: Buffer): this {
    const a = Buffer.alloc((4 + payload.length + 3) & ~3);
    a.writeUInt16LE(4 + payload.length, 0);
    a.writeUInt16LE(type, 2);
    payload.copy(a, 4);
    this.push(a);
    return this;
  }
  u32(type: number, v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0, 0);
    return this.attr(type, b);
  }
  u8(type: number, v: number): this {
    return this.attr(type, Buffer.from([v]));
  }
  str(type: number, s: string): this {
    return this.attr(type, Buffer.from(`${s}\0`));
  }
  done(): Buffer {
    const out = Buffer.concat(this.parts, this.len);
    out.writeUInt32LE(this.len, 0);
    return out;
  }
}

const prefixBytes = (p: Prefix): Buffer => addressBytes(p.address);

/**
 * One route add or delete. `ifindex(dev)`: the index of an interface the route names (resolved
 * by the caller; route.dev and each nexthop's dev).
 */
export function encodeRoute(op: 'add' | 'del', x: RouteSpec, ifindex: (dev: string) => number): Buffer {
  const body = Buffer.alloc(BODY);
  body[0] = AF[x.family];
  body[1] = x.dst.len;
  body[3] = x.tos;
  body[4] = x.table < 256 ? x.table : 0;
  body[5] = x.protocol;
  if (op === 'del') {
    body[6] = x.scope ?? RT_SCOPE_NOWHERE;
    body[7] = x.type === 'unicast' ? 0 : ROUTE_TYPES[x.type];
  } else {
    body[6] = x.scope ?? RT_SCOPE_UNIVERSE;
    body[7] = ROUTE_TYPES[x.type];
  }
  body.writeUInt32LE(x.onlink ? RTNH_F_ONLINK : 0, 8);
  const m = new Msg(op === 'add' ? RTM_NEWROUTE : RTM_DELROUTE, op === 'add' ? NLM_F_CREATE : 0, body);
  if (x.table >= 256) m.u32(RTA_TABLE, x.table);
  if (x.dst.len > 0) m.attr(RTA_DST, prefixBytes(x.dst));
  if (x.src !== null) m.attr(RTA_PREFSRC, addressBytes(x.src));
  if (x.via !== null) m.attr(RTA_GATEWAY, addressBytes(x.via));
  if (x.dev !== null) m.u32(RTA_OIF, ifindex(x.dev));
  if (x.metric !== null) m.u32(RTA_PRIORITY, x.metric);
  if (x.nexthops.length > 0) {
    // rtnexthop { u16 len; u8 flags; u8 hops; s32 ifindex } + its attributes, each 4-byte aligned.
    const hops = x.nexthops.map((nh) => {
      const gw = nh.via === null ? Buffer.alloc(0) : addressBytes(nh.via);
      const b = Buffer.alloc(8 + (gw.length > 0 ? 4 + gw.length : 0));
      b.writeUInt16LE(b.length, 0);
      b[2] = nh.onlink ? RTNH_F_ONLINK : 0;
      b[3] = nh.weight === null ? 0 : nh.weight - 1;
      b.writeInt32LE(nh.dev === null ? 0 : ifindex(nh.dev), 4);
      if (gw.length > 0) {
        b.writeUInt16LE(4 + gw.length, 8);
        b.writeUInt16LE(RTA_GATEWAY, 10);
        gw.copy(b, 12);
      }
      return b;
    });
    m.attr(RTA_MULTIPATH, Buffer.concat(hops));
  }
  return m.done();
}

/** One rule add or delete. */
export function encodeRule(op: 'add' | 'del', x: RuleSpec): Buffer {
  const body = Buffer.alloc(BODY);
  body[0] = AF[x.family];
  body[1] = x.to?.len ?? 0;
  body[2] = x.from?.len ?? 0;
  body[3] = x.tos;
  body[7] = RULE_ACTIONS[x.action];
  body.writeUInt32LE(x.invert ? FIB_RULE_INVERT : 0, 8);
  if (x.action === 'table') body[4] = x.table! < 256 ? x.table! : 0;
  const m = new Msg(op === 'add' ? RTM_NEWRULE : RTM_DELRULE, op === 'add' ? NLM_F_CREATE | NLM_F_EXCL : 0, body);
  if (x.action === 'table' && x.table! >= 256) m.u32(FRA_TABLE, x.table!);
  // keepalived sends "from all" as a zero-length FRA_SRC-less match (no attribute), as does ip.
  if (x.from !== null && x.from.len > 0) m.attr(FRA_SRC, prefixBytes(x.from));
  if (x.to !== null && x.to.len > 0) m.attr(FRA_DST, prefixBytes(x.to));
  m.u32(FRA_PRIORITY, x.priority);
  if (x.fwmark !== null) m.u32(FRA_FWMARK, x.fwmark);
  if (x.fwmask !== null) m.u32(FRA_FWMASK, x.fwmask);
  if (x.iif !== null) m.str(FRA_IIFNAME, x.iif);
  if (x.oif !== null) m.str(FRA_OIFNAME, x.oif);
  if (x.action === 'goto') m.u32(FRA_GOTO, x.gotoTarget!);
  m.u8(FRA_PROTOCOL, x.protocol);
  return m.done();
}
