// IPv4 helpers for the VRRP codec: dotted-quad conversion and the 20-byte IP header we build
// ourselves (IP_HDRINCL), as keepalived does. Pure: no sockets.
import { isIPv4 } from 'node:net';
import { internetChecksum } from './checksum.js';

/** IP protocol number of VRRP (RFC 3768 §5.2.4 / IANA). */
export const IPPROTO_VRRP = 112;
/** RFC 3768 §5.2.3: adverts are sent with TTL 255 and receivers drop anything else. */
export const VRRP_TTL = 255;
/** Precedence "internetwork control", what keepalived puts in the TOS byte. */
export const VRRP_TOS = 0xc0;
export const IPV4_HEADER_LEN = 20;

export function ipv4ToInt(addr: string): number {
  if (!isIPv4(addr)) throw new Error(`not an IPv4 address: ${addr}`);
  const p = addr.split('.').map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

export function intToIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function readIpv4(buf: Buffer, offset: number): string {
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}

export function writeIpv4(buf: Buffer, offset: number, addr: string): void {
  buf.writeUInt32BE(ipv4ToInt(addr), offset);
}

export function isMulticastIpv4(addr: string): boolean {
  const first = Number(addr.split('.')[0]);
  return first >= 224 && first <= 239;
}

export interface Ipv4HeaderFields {
  src: string;
  dst: string;
  ttl: number;
  tos: number;
  protocol: number;
  /** Length of what follows the header. */
  payloadLength: number;
}

/** A 20-byte header without options. The kernel would fill the checksum anyway; we set it so the
 * same bytes are valid in tests and captures. */
export function encodeIpv4Header(h: Ipv4HeaderFields): Buffer {
  const b = Buffer.alloc(IPV4_HEADER_LEN);
  b[0] = 0x45; // version 4, IHL 5 words
  b[1] = h.tos;
  b.writeUInt16BE(IPV4_HEADER_LEN + h.payloadLength, 2);
  b.writeUInt16BE(0, 4); // id 0: the kernel picks one
  b.writeUInt16BE(0, 6); // no fragmentation flags (the packet is far below any MTU)
  b[8] = h.ttl;
  b[9] = h.protocol;
  writeIpv4(b, 12, h.src);
  writeIpv4(b, 16, h.dst);
  b.writeUInt16BE(internetChecksum(b), 10);
  return b;
}

export interface ParsedIpv4Header {
  headerLength: number;
  tos: number;
  totalLength: number;
  ttl: number;
  protocol: number;
  src: string;
  dst: string;
}

/** Parse the header of a received IPv4 packet; null when it is not a plausible IPv4 header. */
export function parseIpv4Header(buf: Buffer): ParsedIpv4Header | null {
  if (buf.length < IPV4_HEADER_LEN) return null;
  const version = buf[0]! >> 4;
  const headerLength = (buf[0]! & 0x0f) * 4;
  if (version !== 4 || headerLength < IPV4_HEADER_LEN || headerLength > buf.length) return null;
  return {
    headerLength,
    tos: buf[1]!,
    totalLength: buf.readUInt16BE(2),
    ttl: buf[8]!,
    protocol: buf[9]!,
    src: readIpv4(buf, 12),
    dst: readIpv4(buf, 16),
  };
}
