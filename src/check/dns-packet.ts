// DNS_CHECK's packets (pure): keepalived's query (check_dns.c:250-295: recursion desired, one
// question, class IN) and the reading of the answer: the id must match and QR be set, else the
// datagram is ignored; a non-zero RCODE fails; hakeep also requires a record of the asked type in
// the answer section (keepalived 2.2.7 accepts any NOERROR answer, even an empty one).
import { DNS_TYPES, type DnsType } from '../config/model.js';

export function dnsQuery(id: number, name: string, type: DnsType): Buffer {
  const labels = name === '.' ? [] : name.replace(/\.$/, '').split('.');
  const parts: Buffer[] = [];
  const head = Buffer.alloc(12);
  head.writeUInt16BE(id & 0xffff, 0);
  head.writeUInt16BE(0x0100, 2); // RD
  head.writeUInt16BE(1, 4); // QDCOUNT
  parts.push(head);
  for (const l of labels) {
    const b = Buffer.from(l, 'latin1');
    parts.push(Buffer.from([Math.min(b.length, 63)]), b.subarray(0, 63));
  }
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(DNS_TYPES[type], 1);
  tail.writeUInt16BE(1, 3); // IN
  parts.push(tail);
  return Buffer.concat(parts);
}

export type DnsVerdict =
  | { kind: 'ignore' }
  | { kind: 'ok' }
  | { kind: 'fail'; detail: string };

/** Skip a (possibly compressed) name; -1 when it runs off the packet. */
function skipName(b: Buffer, off: number): number {
  for (let guard = 0; guard < 128; guard++) {
    if (off >= b.length) return -1;
    const len = b[off]!;
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2 <= b.length ? off + 2 : -1;
    off += 1 + len;
  }
  return -1;
}

export function readDnsAnswer(b: Buffer, id: number, type: DnsType): DnsVerdict {
  // check_dns.c:199-240: too short, another id or not a response: keep waiting.
  if (b.length < 12 || b.readUInt16BE(0) !== (id & 0xffff)) return { kind: 'ignore' };
  const flags = b.readUInt16BE(2);
  if ((flags & 0x8000) === 0) return { kind: 'ignore' };
  const rcode = flags & 0x000f;
  if (rcode !== 0) return { kind: 'fail', detail: `read error occurred. (rcode = ${rcode})` };
  const qd = b.readUInt16BE(4);
  const an = b.readUInt16BE(6);
  let off = 12;
  for (let i = 0; i < qd; i++) {
    off = skipName(b, off);
    if (off < 0 || off + 4 > b.length) return { kind: 'fail', detail: 'malformed answer' };
    off += 4;
  }
  const want = DNS_TYPES[type];
  for (let i = 0; i < an; i++) {
    off = skipName(b, off);
    if (off < 0 || off + 10 > b.length) return { kind: 'fail', detail: 'malformed answer' };
    const t = b.readUInt16BE(off);
    const rdlen = b.readUInt16BE(off + 8);
    if (t === want) return { kind: 'ok' };
    off += 10 + rdlen;
  }
  return { kind: 'fail', detail: `no ${type} record in the answer (${an} answer record(s))` };
}
