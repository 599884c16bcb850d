// The wire: one raw IPv4 socket for protocol 112 per interface (raw-socket addon). We build the
// IP header ourselves (IP_HDRINCL) as keepalived does, so TOS, TTL and source are ours to set.
import { createRequire } from 'node:module';
import { IPPROTO_VRRP, ipv4ToInt, VRRP_TOS, VRRP_TTL } from './ipv4.js';

// Linux <netinet/in.h>, <asm-generic/socket.h>.
const SOL_SOCKET = 1;
const SO_BINDTODEVICE = 25;
const SO_RCVBUF = 8;
const IPPROTO_IP = 0;
const IP_TOS = 1;
const IP_HDRINCL = 3;
const IP_MULTICAST_TTL = 33;
const IP_MULTICAST_LOOP = 34;
const IP_ADD_MEMBERSHIP = 35;
const IP_DROP_MEMBERSHIP = 36;

/** raw-socket's native handle: `send` calls sendto(2) at once and throws on failure. */
interface RawSocketWrap {
  send(buf: Buffer, offset: number, length: number, address: string, cb: (bytes: number) => void): void;
  /** recvfrom(2) at once on the non-blocking socket; throws (EAGAIN text) when nothing is queued. */
  recv(buf: Buffer, cb: (buf: Buffer, bytes: number, source: string) => void): void;
}

/** The part of raw-socket's Socket we use. */
interface RawSocket {
  wrap: RawSocketWrap;
  setOption(level: number, option: number, value: number): void;
  setOption(level: number, option: number, value: Buffer, length: number): void;
  send(buf: Buffer, offset: number, length: number, address: string, cb: (err: Error | null, bytes: number) => void): void;
  buffer: Buffer;
  on(event: 'message', fn: (buf: Buffer, source: string) => void): void;
  /** raw-socket emits a poll failure with NO argument (its native side passes argc 1), then
   * closes the socket itself. */
  on(event: 'error', fn: (err?: unknown) => void): void;
  close(): void;
}
interface RawSocketModule {
  createSocket(opts: { protocol: number; addressFamily?: number; bufferSize?: number }): RawSocket;
  AddressFamily: { IPv4: number };
}

export interface PacketSocket {
  /** Send a complete IPv4 packet (our header included). Resolves when the kernel took it. */
  send(packet: Buffer, dst: string): Promise<void>;
  join(group: string): void;
  /** Read every packet already queued, synchronously, through onPacket. Returns how many. */
  drain(max?: number): number;
  close(): void;
}

export interface OpenOptions {
  ifname: string;
  /** The interface index: names the interface for multicast membership (no address needed). */
  ifindex: number;
  /** Every received packet (IP header included) with its monotonic arrival time. */
  onPacket(packet: Buffer, atMs: number): void;
  /** The socket failed and is closed: the owner opens a new one. */
  onError(err: Error): void;
}

/** Whatever an 'error' event carried, as an Error with a message. */
export function asError(e: unknown, fallback: string): Error {
  if (e instanceof Error) return e;
  if (e === undefined || e === null) return new Error(fallback);
  return new Error(typeof e === 'string' ? e : `${fallback}: ${String(e)}`);
}

export type SocketOpener = (opts: OpenOptions) => PacketSocket;

let rawModule: RawSocketModule | null = null;
function loadRawSocket(): RawSocketModule {
  if (!rawModule) {
    try {
      rawModule = createRequire(import.meta.url)('raw-socket') as RawSocketModule;
    } catch (e) {
      throw new Error(`the raw-socket module cannot be loaded (${(e as Error).message}): run npm install in the hakeep directory`, { cause: e });
    }
  }
  return rawModule;
}

/** struct ip_mreqn { in_addr multiaddr; in_addr address; int ifindex; }: joined by interface
 * index, so membership does not depend on the interface having (or keeping) an address. */
function mreqn(group: string, ifindex: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt32BE(ipv4ToInt(group), 0);
  b.writeUInt32BE(0, 4);
  b.writeInt32LE(ifindex, 8);
  return b;
}

export const openRawVrrpSocket: SocketOpener = (opts) => {
  const raw = loadRawSocket();
  let sock: RawSocket;
  try {
    sock = raw.createSocket({ protocol: IPPROTO_VRRP, addressFamily: raw.AddressFamily.IPv4, bufferSize: 2048 });
  } catch (e) {
    const msg = (e as Error).message;
    const hint = /not permitted/i.test(msg) ? ' (raw sockets need root or CAP_NET_RAW)' : '';
    throw new Error(`cannot open a raw VRRP socket on ${opts.ifname}: ${msg}${hint}`, { cause: e });
  }
  const joined = new Set<string>();
  try {
    const dev = Buffer.from(`${opts.ifname}\0`);
    sock.setOption(SOL_SOCKET, SO_BINDTODEVICE, dev, dev.length);
    sock.setOption(SOL_SOCKET, SO_RCVBUF, 256 * 1024);
    sock.setOption(IPPROTO_IP, IP_HDRINCL, 1);
    sock.setOption(IPPROTO_IP, IP_TOS, VRRP_TOS);
    sock.setOption(IPPROTO_IP, IP_MULTICAST_TTL, VRRP_TTL);
    sock.setOption(IPPROTO_IP, IP_MULTICAST_LOOP, 0);
  } catch (e) {
    sock.close();
    throw new Error(`cannot set up the VRRP socket on ${opts.ifname}: ${(e as Error).message} (does the interface exist?)`, { cause: e });
  }
  let closed = false;
  sock.on('message', (buf) => opts.onPacket(buf, performance.now()));
  sock.on('error', (err) => {
    // raw-socket closes the socket after an error: report it once, as an Error.
    const first = !closed;
    closed = true;
    if (first) opts.onError(asError(err, `poll error on the VRRP socket of ${opts.ifname}`));
  });
  return {
    send(packet, dst) {
      return new Promise((resolve, reject) => {
        if (closed) {
          reject(new Error('socket closed'));
          return;
        }
        // Straight to sendto(2): raw-socket's own send() waits for the next poll cycle, which
        // would let a VIP change spawned in the same tick go first. A full socket buffer
        // (EAGAIN) or any other error takes the queued path, which reports real errors.
        try {
          sock.wrap.send(packet, 0, packet.length, dst, () => undefined);
          resolve();
          return;
        } catch {
          /* fall through */
        }
        sock.send(packet, 0, packet.length, dst, (err) => (err ? reject(err) : resolve()));
      });
    },
    drain(max = 256) {
      let n = 0;
      while (!closed && n < max) {
        let got: Buffer | null = null;
        try {
          sock.wrap.recv(sock.buffer, (buf, bytes) => { got = Buffer.from(buf.subarray(0, bytes)); });
        } catch {
          break; // EAGAIN: the queue is empty (any other error is reported by the poll path)
        }
        if (got === null) break;
        n += 1;
        opts.onPacket(got, performance.now());
      }
      return n;
    },
    join(group) {
      if (joined.has(group)) return;
      try {
        const m = mreqn(group, opts.ifindex);
        sock.setOption(IPPROTO_IP, IP_ADD_MEMBERSHIP, m, m.length);
      } catch (e) {
        throw new Error(`cannot join multicast group ${group} on ${opts.ifname}: ${(e as Error).message}`, { cause: e });
      }
      joined.add(group);
    },
    close() {
      if (closed) return;
      closed = true;
      for (const g of joined) {
        try {
          const m = mreqn(g, opts.ifindex);
          sock.setOption(IPPROTO_IP, IP_DROP_MEMBERSHIP, m, m.length);
        } catch { /* closing drops memberships anyway */ }
      }
      sock.close();
    },
  };
};
