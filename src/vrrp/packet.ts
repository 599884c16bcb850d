// VRRPv2 advertisement codec (RFC 3768 §5.3). Pure: buffers in, buffers out.
//
//   0                   1                   2                   3
//   |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
//   |   Auth Type   |   Adver Int   |          Checksum             |
//   |                         IP Address (1..n)                     |
//   |                     Authentication Data (1)                   |
//   |                     Authentication Data (2)                   |
import { internetChecksum } from './checksum.js';
import { readIpv4, writeIpv4 } from './ipv4.js';

export const VRRP_VERSION_2 = 2;
/** RFC 3768 §5.3.2: the only defined type. */
export const VRRP_TYPE_ADVERTISEMENT = 1;
export const VRRP_HEADER_LEN = 8;
export const VRRP_AUTH_DATA_LEN = 8;

/** RFC 3768 §5.3.6 (types 1 and 2 were dropped from RFC 3768 but keepalived still speaks them). */
export const AUTH_NONE = 0;
export const AUTH_PASS = 1;
export const AUTH_AH = 2;

/** Priority 0 means "the master is leaving" (RFC 3768 §5.3.4); 255 the address owner. */
export const PRIORITY_STOP = 0;
export const PRIORITY_OWNER = 255;

export interface VrrpAdvert {
  version: number;
  type: number;
  vrid: number;
  priority: number;
  authType: number;
  /** Seconds (VRRPv2 has whole seconds only). */
  advertInt: number;
  checksum: number;
  addresses: string[];
  /** Always 8 bytes. */
  authData: Buffer;
}

export type AdvertInput = Omit<VrrpAdvert, 'version' | 'type' | 'checksum'> &
  Partial<Pick<VrrpAdvert, 'version' | 'type'>>;

/** Length of a VRRPv2 message that carries `count` addresses. */
export function advertLength(count: number): number {
  return VRRP_HEADER_LEN + 4 * count + VRRP_AUTH_DATA_LEN;
}

/** The 8 authentication bytes for a PASS password: zero-padded, cut at 8 bytes. */
export function passwordBytes(pass: string | null): Buffer {
  const out = Buffer.alloc(VRRP_AUTH_DATA_LEN);
  if (pass) Buffer.from(pass, 'utf8').copy(out, 0, 0, VRRP_AUTH_DATA_LEN);
  return out;
}

function checkByte(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 255) throw new RangeError(`${what} must be 0-255, got ${v}`);
}

/** Encode an advert and fill in its checksum. Throws on values that do not fit the wire format. */
export function encodeAdvert(a: AdvertInput): Buffer {
  const version = a.version ?? VRRP_VERSION_2;
  const type = a.type ?? VRRP_TYPE_ADVERTISEMENT;
  if (version < 0 || version > 15 || type < 0 || type > 15) throw new RangeError('version and type are 4-bit fields');
  checkByte('vrid', a.vrid);
  checkByte('priority', a.priority);
  checkByte('authType', a.authType);
  checkByte('advertInt', a.advertInt);
  checkByte('address count', a.addresses.length);
  const buf = Buffer.alloc(advertLength(a.addresses.length));
  buf[0] = (version << 4) | type;
  buf[1] = a.vrid;
  buf[2] = a.priority;
  buf[3] = a.addresses.length;
  buf[4] = a.authType;
  buf[5] = a.advertInt;
  a.addresses.forEach((addr, i) => writeIpv4(buf, VRRP_HEADER_LEN + 4 * i, addr));
  a.authData.copy(buf, VRRP_HEADER_LEN + 4 * a.addresses.length, 0, VRRP_AUTH_DATA_LEN);
  buf.writeUInt16BE(internetChecksum(buf), 6);
  return buf;
}

export type DecodeFailure = { ok: false; reason: 'too_short' | 'too_long'; length: number; expected: number };
export type DecodeResult = { ok: true; advert: VrrpAdvert } | DecodeFailure;

/** Decode the VRRP part of a packet (after the IP header). The length must be exact. */
export function decodeAdvert(buf: Buffer): DecodeResult {
  if (buf.length < VRRP_HEADER_LEN) {
    return { ok: false, reason: 'too_short', length: buf.length, expected: advertLength(0) };
  }
  const count = buf[3]!;
  const expected = advertLength(count);
  if (buf.length !== expected) {
    return { ok: false, reason: buf.length < expected ? 'too_short' : 'too_long', length: buf.length, expected };
  }
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) addresses.push(readIpv4(buf, VRRP_HEADER_LEN + 4 * i));
  const authStart = VRRP_HEADER_LEN + 4 * count;
  return {
    ok: true,
    advert: {
      version: buf[0]! >> 4,
      type: buf[0]! & 0x0f,
      vrid: buf[1]!,
      priority: buf[2]!,
      authType: buf[4]!,
      advertInt: buf[5]!,
      checksum: buf.readUInt16BE(6),
      addresses,
      authData: Buffer.from(buf.subarray(authStart, authStart + VRRP_AUTH_DATA_LEN)),
    },
  };
}

/** True when the message's checksum field is right (the sum over the whole message is zero). */
export function checksumValid(vrrpMessage: Buffer): boolean {
  return internetChecksum(vrrpMessage) === 0;
}
