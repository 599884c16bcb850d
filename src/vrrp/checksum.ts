// The Internet checksum (RFC 1071): 16-bit one's complement of the one's complement sum.
// VRRPv2 computes it over the VRRP message alone, with no pseudo-header (RFC 3768 §5.3.8).

export function internetChecksum(buf: Buffer, start = 0, end = buf.length): number {
  let sum = 0;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (i < end) sum += buf[i]! << 8; // odd length: pad with a zero byte
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
