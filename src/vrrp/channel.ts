// One socket per interface, shared by every instance on it: received packets are demultiplexed by
// VRID. A packet for a VRID nobody here serves, or one too mangled to carry a VRID, is handed to
// every instance on the interface as "not ours" so it is counted and (rate-limited) logged.
import { peekVrid } from './validate.js';
import type { PacketSocket, SocketOpener } from './raw-transport.js';

export interface ChannelMember {
  vrid: number;
  onPacket(packet: Buffer, atMs: number): void;
  /** A packet no instance on this interface claims (other VRID, or unreadable). */
  onUnclaimed(packet: Buffer, vrid: number | null, atMs: number): void;
  onSocketError(err: Error): void;
}

export class InterfaceChannel {
  private readonly members = new Map<number, ChannelMember>();
  private readonly socket: PacketSocket;

  constructor(readonly ifname: string, localIp: string, open: SocketOpener) {
    this.socket = open({
      ifname,
      localIp,
      onPacket: (packet, atMs) => this.dispatch(packet, atMs),
      onError: (err) => {
        for (const m of this.members.values()) m.onSocketError(err);
      },
    });
  }

  add(member: ChannelMember): void {
    if (this.members.has(member.vrid)) {
      throw new Error(`two vrrp_instances use virtual_router_id ${member.vrid} on ${this.ifname}: each needs its own VRID`);
    }
    this.members.set(member.vrid, member);
  }

  join(group: string): void {
    this.socket.join(group);
  }

  send(packet: Buffer, dst: string): Promise<void> {
    return this.socket.send(packet, dst);
  }

  close(): void {
    this.socket.close();
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
