// track_interface: other interfaces an instance depends on, followed on the one rtnetlink feed
// (src/net/kernel-events.ts), no polling. Up means IFF_UP and IFF_RUNNING (keepalived's
// FLAGS_UP, LinkState.up). A missing interface counts as down: keepalived treats a tracked
// interface that goes away as going down (vrrp_if.c:1390-1412 cleanup_lost_interface); at start
// it refuses to track one that does not exist ("tracked interface X doesn't exist",
// vrrp_track.c:94-99) unless dynamic_interfaces is set, whereas hakeep tracks it as down and
// picks it up when it appears, as with dynamic_interfaces.
//
// Weights as for scripts (types.ts effectOf; keepalived_netlink.c:1537-1573,
// vrrp_track.c:717-748). Log lines: "Netlink reports eth1 down|up" (keepalived_netlink.c:1583)
// for interfaces that are not an instance's own (iface-watch logs those), and at start
// "(VI_1): entering FAULT state (interface eth1 down)" (vrrp_track.c:735).
import type { KernelEvent, LinkState } from '../../net/kernel-events.js';
import {
  bindingStatus, effectOf, Publisher, type Binding, type InterfaceTrackStatus, type TrackerContext,
} from './types.js';

/** What interface tracking needs from the kernel event feed (a fake in unit tests). */
export interface LinkView {
  link(name: string): LinkState | null;
  subscribe(fn: (ev: KernelEvent) => void): () => void;
}

type LinkWord = 'up' | 'down' | 'missing';

interface Tracked {
  name: string;
  bindings: readonly Binding[];
  pub: Publisher;
  state: LinkWord;
}

export class InterfaceTracker {
  private readonly byName = new Map<string, Tracked>();
  private unsubscribe: (() => void) | null = null;

  constructor(
    entries: ReadonlyArray<{ name: string; bindings: readonly Binding[] }>,
    private readonly ctx: TrackerContext,
    private readonly kernel: LinkView,
    /** Instances' own interfaces: iface-watch already logs their changes. */
    private readonly ownInterfaces: ReadonlySet<string> = new Set(),
  ) {
    for (const e of entries) {
      this.byName.set(e.name, {
        name: e.name, bindings: e.bindings, state: 'missing',
        pub: new Publisher(ctx, 'track_interface', e.name, `interface:${e.name}`),
      });
    }
  }

  start(): void {
    // Subscribe first: a change between reading and subscribing would otherwise be lost.
    this.unsubscribe = this.kernel.subscribe((ev) => this.onEvent(ev));
    for (const t of this.byName.values()) {
      t.state = this.read(t.name);
      if (t.state === 'missing') {
        this.ctx.log.warn({ interface: t.name }, `tracked interface ${t.name} does not exist (yet): it counts as down until it appears`);
      }
      for (const b of t.bindings) {
        this.apply(t, b);
        if (effectOf(b, t.state === 'up').fault) {
          this.ctx.log.info({ instance: b.instance, interface: t.name }, `(${b.instance}): entering FAULT state (interface ${t.name} ${t.state === 'up' ? 'up' : 'down'})`);
        }
      }
    }
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    for (const t of this.byName.values()) t.pub.withdraw();
  }

  status(): InterfaceTrackStatus[] {
    return [...this.byName.values()].map((t) => ({ name: t.name, state: t.state, bindings: t.bindings.map((b) => bindingStatus(b, t.pub)) }));
  }

  private read(name: string): LinkWord {
    const l = this.kernel.link(name);
    return l === null ? 'missing' : l.up ? 'up' : 'down';
  }

  private onEvent(ev: KernelEvent): void {
    switch (ev.type) {
      case 'link':
        if (ev.prev && ev.prev.name !== ev.link.name) this.update(ev.prev.name, 'renamed');
        this.update(ev.link.name, null);
        return;
      case 'link_deleted':
        this.update(ev.link.name, 'deleted');
        return;
      case 'resync':
        for (const name of this.byName.keys()) this.update(name, null);
        return;
      default:
    }
  }

  private update(name: string, gone: 'deleted' | 'renamed' | null): void {
    const t = this.byName.get(name);
    if (!t) return;
    const next = this.read(name);
    if (next === t.state) return;
    const wasUp = t.state === 'up';
    t.state = next;
    if (!this.ownInterfaces.has(name) && (next === 'up') !== wasUp) {
      this.ctx.log.info({ interface: name, up: next === 'up' }, next === 'missing' && gone
        ? `Interface ${name} ${gone}` : `Netlink reports ${name} ${next === 'up' ? 'up' : 'down'}`);
    }
    for (const b of t.bindings) this.apply(t, b);
  }

  private apply(t: Tracked, b: Binding): void {
    const up = t.state === 'up';
    const e = effectOf(b, up);
    t.pub.publish(b, e.fault ? (up ? 'up (weight 0 reverse)' : t.state) : null, e.weight);
  }
}
