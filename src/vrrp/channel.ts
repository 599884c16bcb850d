// One socket per interface, shared by every instance on it: received packets are demultiplexed by
// VRID. A packet for a VRID nobody here serves, or one too mangled to carry a VRID, is handed to
// every instance on the interface as "not ours" so it is counted and (rate-limited) logged.
//
// The socket follows the interface's life: opened when the interface exists, closed when it is
// deleted, reopened on the new ifindex when it comes back (a bond or VLAN restart), and reopened
// with backoff after a socket error. The owner learns about each change through `onState` and
// turns "no socket" into a fault of the instances on the interface.
import { nodeTimers, type TimerApi } from './deadline-timer.js';
import { peekVrid } from './validate.js';
import type { PacketSocket, SocketOpener } from './raw-transport.js';

export interface ChannelMember {
  vrid: number;
  onPacket(packet: Buffer, atMs: number): void;
  /** A packet no instance on this interface claims (other VRID, or unreadable). */
  onUnclaimed(packet: Buffer, vrid: number | null, atMs: number): void;
  onSocketError(err: Error): void;
}

export interface ChannelOptions {
  /** Called when the socket opens (`null`) or cannot be used (`why`). */
  onState?(problem: string | null): void;
  timers?: TimerApi;
  /** Backoff between reopen attempts after a socket error (ms). */
  reopen?: { firstMs: number; maxMs: number };
}

export class InterfaceChannel {
  private readonly members = new Map<number, ChannelMember>();
  private readonly groups = new Set<string>();
  private socket: PacketSocket | null = null;
  private ifindex: number | null = null;
  private reopenTimer: unknown = null;
  private failures = 0;
  private closed = false;
  private readonly timers: TimerApi;

  constructor(readonly ifname: string, private readonly open: SocketOpener, private readonly opts: ChannelOptions = {}) {
    this.timers = opts.timers ?? nodeTimers;
  }

  get isOpen(): boolean {
    return this.socket !== null;
  }

  get index(): number | null {
    return this.ifindex;
  }

  add(member: ChannelMember): void {
    if (this.members.has(member.vrid)) {
      throw new Error(`two vrrp_instances use virtual_router_id ${member.vrid} on ${this.ifname}: each needs its own VRID`);
    }
    this.members.set(member.vrid, member);
  }

  /** An instance left (reload): its VRID is free again on this interface. */
  remove(vrid: number): void {
    this.members.delete(vrid);
  }

  /** The interface exists with this index: open the socket, or reopen it when the index changed. */
  attach(ifindex: number): void {
    if (this.closed) return;
    if (this.socket !== null && this.ifindex === ifindex) return;
    this.dropSocket();
    this.ifindex = ifindex;
    this.failures = 0;
    this.tryOpen();
  }

  /** The interface is gone: close the socket until it comes back. */
  detach(why: string): void {
    this.ifindex = null;
    this.cancelReopen();
    this.dropSocket();
    this.opts.onState?.(why);
  }

  /** Remember a multicast group; joined now if the socket is open, and on every reopen. */
  join(group: string): void {
    this.groups.add(group);
    this.socket?.join(group);
  }

  send(packet: Buffer, dst: string): Promise<void> {
    if (this.socket === null) return Promise.reject(new Error(`no VRRP socket on ${this.ifname} (interface down or missing)`));
    return this.socket.send(packet, dst);
  }

  /** Read what is already queued on the socket now (a late takeover decision). */
  drain(): number {
    return this.socket?.drain() ?? 0;
  }

  close(): void {
    this.closed = true;
    this.cancelReopen();
    this.dropSocket();
  }

  private tryOpen(): void {
    if (this.closed || this.ifindex === null) return;
    try {
      const sock = this.open({
        ifname: this.ifname,
        ifindex: this.ifindex,
        onPacket: (packet, atMs) => this.dispatch(packet, atMs),
        onError: (err) => this.onSocketError(sock, err),
      });
      for (const g of this.groups) sock.join(g);
      this.socket = sock;
      this.failures = 0;
      this.opts.onState?.(null);
    } catch (e) {
      this.dropSocket();
      this.opts.onState?.(`cannot open the VRRP socket: ${(e as Error).message}`);
      this.scheduleReopen();
    }
  }

  private onSocketError(sock: PacketSocket | undefined, err: Error): void {
    for (const m of this.members.values()) m.onSocketError(err);
    if (sock !== undefined && sock !== this.socket) return; // an old socket's last words
    this.dropSocket();
    this.opts.onState?.(`VRRP socket failed: ${err.message}`);
    this.scheduleReopen();
  }

  private scheduleReopen(): void {
    if (this.closed || this.ifindex === null || this.reopenTimer !== null) return;
    const { firstMs, maxMs } = this.opts.reopen ?? { firstMs: 100, maxMs: 5000 };
    const delay = Math.min(maxMs, firstMs * 2 ** this.failures);
    this.failures += 1;
    this.reopenTimer = this.timers.setTimeout(() => {
      this.reopenTimer = null;
      this.tryOpen();
    }, delay);
  }

  private cancelReopen(): void {
    if (this.reopenTimer !== null) this.timers.clearTimeout(this.reopenTimer);
    this.reopenTimer = null;
  }

  private dropSocket(): void {
    const s = this.socket;
    this.socket = null;
    if (s) {
      try { s.close(); } catch { /* already closed by its error path */ }
    }
  }

  private dispatch(packet: Buffer, atMs: number): void {
    const vrid = peekVrid(packet);
    const member = vrid === null ? undefined : this.members.get(vrid);
    if (member) {
      member.onPacket(packet, atMs);
      return;
    }
    for (const m of this.members.values()) m.onUnclaimed(packet, vrid, atMs);
  }
}
