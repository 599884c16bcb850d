// Decoding of rtnetlink datagrams (what the addon's rtnlMonitor/rtnlDump hand over): link and
// address messages, the end of a dump, and errors. Pure: no I/O, and it never throws on what the
// kernel (or a test) gives it: a datagram that does not parse ends with a `malformed` entry.
//
// Layouts (include/uapi/linux/netlink.h, rtnetlink.h, if_link.h, if_addr.h), host byte order,
// which on Linux is little-endian on every architecture hakeep runs on:
//   nlmsghdr  { u32 len; u16 type; u16 flags; u32 seq; u32 pid }                      16 bytes
//   ifinfomsg { u8 family; u8 pad; u16 type; s32 index; u32 flags; u32 change }        16 bytes
//   ifaddrmsg { u8 family; u8 prefixlen; u8 flags; u8 scope; u32 index }               8 bytes
//   rtattr    { u16 len; u16 type } + payload; messages and attributes are 4-byte aligned.

export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;

export const NLM_F_MULTI = 0x2;
export const NLM_F_DUMP_INTR = 0x10;

export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_OPERSTATE = 16;

export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_LABEL = 3;
export const IFA_FLAGS = 8;

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_BRIDGE = 7;

export const IFF_UP = 0x1;
export const IFF_RUNNING = 0x40;
export const IFF_LOWER_UP = 0x10000;

/** IF_OPER_* (RFC 2863 operational state), the value of IFLA_OPERSTATE. */
export const OPERSTATES = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'] as const;

const NLMSG_HDRLEN = 16;
const IFINFOMSG_LEN = 16;
const IFADDRMSG_LEN = 8;
const NLMSGERR_LEN = 4 + NLMSG_HDRLEN; // int error + the request's header

export const align4 = (n: number): number => (n + 3) & ~3;

export interface NlHeader {
  /** nlmsg_type */
  type: number;
  /** nlmsg_flags (NLM_F_MULTI, NLM_F_DUMP_INTR, …) */
  flags: number;
  seq: number;
  pid: number;
}

export interface RtnlLinkMessage {
  type: 'newlink' | 'dellink';
  header: NlHeader;
  /** ifi_family: AF_UNSPEC for the device itself; AF_BRIDGE for bridge-port notifications. */
  family: number;
  ifindex: number;
  /** ARPHRD_* */
  linkType: number;
  /** IFF_* */
  flags: number;
  change: number;
  ifname: string | null;
  /** IF_OPER_* (0-6), null when absent */
  operstate: number | null;
  /** IFLA_ADDRESS as lower-case colon-separated hex (any length), null when absent */
  mac: string | null;
}

export interface RtnlAddrMessage {
  type: 'newaddr' | 'deladdr';
  header: NlHeader;
  /** AF_INET (2) / AF_INET6 (10), or another family as the kernel sent it */
  family: number;
  prefixLen: number;
  /** IFA_F_*: the 32-bit IFA_FLAGS attribute when present, else ifa_flags */
  flags: number;
  scope: number;
  ifindex: number;
  /** The interface's own address: IFA_LOCAL, else IFA_ADDRESS (for IPv6 that is IFA_ADDRESS except
   * on a point-to-point address). null when neither is present or the family is neither 4 nor 6. */
  address: string | null;
  /** IFA_ADDRESS when it differs from `address` (the peer of a point-to-point address), else null */
  peer: string | null;
  label: string | null;
}

export interface RtnlDoneMessage {
  type: 'done';
  header: NlHeader;
  /** 0, or the positive errno that ended a failed dump */
  error: number;
}

export interface RtnlErrorMessage {
  type: 'error';
  header: NlHeader;
  /** positive errno; 0 is an ACK */
  error: number;
}

export interface RtnlMalformed {
  type: 'malformed';
  /** byte offset in the datagram where decoding stopped */
  offset: number;
  reason: string;
}

export type RtnlMessage = RtnlLinkMessage | RtnlAddrMessage | RtnlDoneMessage | RtnlErrorMessage | RtnlMalformed;

/** colon-separated lower-case hex of any length (MAC addresses, but also 4-byte tunnel endpoints) */
export function formatHwAddr(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** IPv6 text form as glibc's inet_ntop (and therefore `ip`) writes it: RFC 5952 zero compression
 * of the first longest run of two or more zero groups, and a dotted tail for ::a.b.c.d and
 * ::ffff:a.b.c.d. */
export function formatIpv6(b: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i]! << 8) | b[i + 1]!);
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      if (curBase === -1) {
        curBase = i;
        curLen = 1;
      } else {
        curLen++;
      }
    } else if (curBase !== -1) {
      if (curLen > bestLen) [bestBase, bestLen] = [curBase, curLen];
      curBase = -1;
    }
  }
  if (curBase !== -1 && curLen > bestLen) [bestBase, bestLen] = [curBase, curLen];
  if (bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      out += `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
      break;
    }
    out += words[i]!.toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) out += ':';
  return out;
}

function formatAddr(family: number, b: Uint8Array): string | null {
  if (family === AF_INET && b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (family === AF_INET6 && b.length === 16) return formatIpv6(b);
  return null;
}

/** A NUL-terminated attribute string (the terminator is optional). */
function cString(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul === -1 ? b.length : nul);
}

/** Attributes of one message as type → payload (the first of each type wins, as the kernel sends
 * each once); null when an attribute header is inconsistent. NLA_F_NESTED / NET_BYTEORDER bits
 * are masked off the type. */
function attrs(buf: Buffer, start: number, end: number): Map<number, Buffer> | null {
  const out = new Map<number, Buffer>();
  let off = start;
  while (off + 4 <= end) {
    const len = buf.readUInt16LE(off);
    const type = buf.readUInt16LE(off + 2) & 0x3fff;
    if (len < 4 || off + len > end) return null;
    if (!out.has(type)) out.set(type, buf.subarray(off + 4, off + len));
    off += align4(len);
  }
  return out;
}

/** Decode every netlink message of one datagram (a datagram can hold several). */
export function parseRtnl(buf: Buffer): RtnlMessage[] {
  const out: RtnlMessage[] = [];
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < NLMSG_HDRLEN) {
      out.push({ type: 'malformed', offset: off, reason: `${buf.length - off} bytes left, less than a netlink header` });
      break;
    }
    const len = buf.readUInt32LE(off);
    const header: NlHeader = {
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      pid: buf.readUInt32LE(off + 12),
    };
    if (len < NLMSG_HDRLEN || off + len > buf.length) {
      out.push({ type: 'malformed', offset: off, reason: `message length ${len} does not fit the ${buf.length - off} bytes left` });
      break;
    }
    const body = off + NLMSG_HDRLEN;
    const end = off + len;
    const msg = decodeOne(buf, header, body, end);
    if (msg !== null) {
      if (msg.type === 'malformed') msg.offset = off;
      out.push(msg);
      if (msg.type === 'malformed') break;
    }
    off += align4(len);
  }
  return out;
}

function decodeOne(buf: Buffer, header: NlHeader, body: number, end: number): RtnlMessage | null {
  const size = end - body;
  switch (header.type) {
    case NLMSG_DONE: {
      // The payload (an int) is optional on old kernels; negative = the dump failed.
      const v = size >= 4 ? buf.readInt32LE(body) : 0;
      return { type: 'done', header, error: v < 0 ? -v : 0 };
    }
    case NLMSG_ERROR: {
      if (size < 4) return { type: 'malformed', offset: 0, reason: 'NLMSG_ERROR shorter than its error code' };
      const v = buf.readInt32LE(body);
      return { type: 'error', header, error: v === 0 ? 0 : -v };
    }
    case RTM_NEWLINK:
    case RTM_DELLINK: {
      if (size < IFINFOMSG_LEN) return { type: 'malformed', offset: 0, reason: 'link message shorter than ifinfomsg' };
      const a = attrs(buf, body + IFINFOMSG_LEN, end);
      if (a === null) return { type: 'malformed', offset: 0, reason: 'bad attribute in a link message' };
      const name = a.get(IFLA_IFNAME);
      const oper = a.get(IFLA_OPERSTATE);
      const mac = a.get(IFLA_ADDRESS);
      return {
        type: header.type === RTM_NEWLINK ? 'newlink' : 'dellink',
        header,
        family: buf.readUInt8(body),
        linkType: buf.readUInt16LE(body + 2),
        ifindex: buf.readInt32LE(body + 4),
        flags: buf.readUInt32LE(body + 8),
        change: buf.readUInt32LE(body + 12),
        ifname: name ? cString(name) : null,
        operstate: oper && oper.length >= 1 ? oper[0]! : null,
        mac: mac && mac.length > 0 ? formatHwAddr(mac) : null,
      };
    }
    case RTM_NEWADDR:
    case RTM_DELADDR: {
      if (size < IFADDRMSG_LEN) return { type: 'malformed', offset: 0, reason: 'address message shorter than ifaddrmsg' };
      const a = attrs(buf, body + IFADDRMSG_LEN, end);
      if (a === null) return { type: 'malformed', offset: 0, reason: 'bad attribute in an address message' };
      const family = buf.readUInt8(body);
      const localB = a.get(IFA_LOCAL);
      const addrB = a.get(IFA_ADDRESS);
      const local = localB ? formatAddr(family, localB) : null;
      const addr = addrB ? formatAddr(family, addrB) : null;
      // IPv4: IFA_LOCAL is the interface's address, IFA_ADDRESS the peer's (equal without a peer).
      // IPv6: IFA_ADDRESS alone is the address; only an address with a peer carries IFA_LOCAL
      // (the own address) next to IFA_ADDRESS (the peer), see inet6_fill_ifaddr(). So for both
      // families: IFA_LOCAL when present, else IFA_ADDRESS.
      const address = local ?? addr;
      const peer = local !== null && addr !== null && addr !== local ? addr : null;
      const f32 = a.get(IFA_FLAGS);
      const label = a.get(IFA_LABEL);
      return {
        type: header.type === RTM_NEWADDR ? 'newaddr' : 'deladdr',
        header,
        family,
        prefixLen: buf.readUInt8(body + 1),
        flags: f32 && f32.length >= 4 ? f32.readUInt32LE(0) : buf.readUInt8(body + 2),
        scope: buf.readUInt8(body + 3),
        ifindex: buf.readUInt32LE(body + 4),
        address,
        peer,
        label: label ? cString(label) : null,
      };
    }
    default:
      return null; // NLMSG_NOOP, NLMSG_OVERRUN, routes, neighbours…: not ours
  }
}
