// track_interface from scripted kernel events (a fake of the rtnetlink feed).
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/daemon/log.js';
import { parseConfigText } from '../../src/config/load.js';
import type { KernelEvent, LinkState } from '../../src/net/kernel-events.js';
import { startTrackers, type TrackerSink } from '../../src/vrrp/trackers/index.js';

const IFF_UP = 0x1;
const IFF_RUNNING = 0x40;

class FakeKernel {
  private readonly links = new Map<string, LinkState>();
  private readonly fns = new Set<(ev: KernelEvent) => void>();
  private next = 10;
  link(name: string): LinkState | null {
    return this.links.get(name) ?? null;
  }
  subscribe(fn: (ev: KernelEvent) => void): () => void {
    this.fns.add(fn);
    return () => this.fns.delete(fn);
  }
  set(name: string, state: 'up' | 'down' | 'noCarrier'): void {
    const prev = this.links.get(name) ?? null;
    const flags = state === 'up' ? IFF_UP | IFF_RUNNING : state === 'noCarrier' ? IFF_UP : 0;
    const link: LinkState = { ifindex: prev?.ifindex ?? this.next++, name, flags, up: state === 'up', mac: null };
    this.links.set(name, link);
    for (const fn of this.fns) fn({ type: 'link', link, prev });
  }
  remove(name: string): void {
    const link = this.links.get(name);
    if (!link) return;
    this.links.delete(name);
    for (const fn of this.fns) fn({ type: 'link_deleted', link });
  }
  get listeners(): number {
    return this.fns.size;
  }
}

class Sink implements TrackerSink {
  weights = new Map<string, number>();
  faults = new Map<string, string>();
  setWeight(i: string, k: string, w: number): void { if (w === 0) this.weights.delete(`${i} ${k}`); else this.weights.set(`${i} ${k}`, w); }
  setFault(i: string, src: string, subj: string, d: string): void { this.faults.set(`${i} ${src}:${subj}`, d); }
  clearFault(i: string, src: string, subj: string): void { this.faults.delete(`${i} ${src}:${subj}`); }
}

function setup(conf: string, kernel: FakeKernel) {
  const loaded = parseConfigText(conf);
  expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const sink = new Sink();
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (l: string) => { lines.push(String(JSON.parse(l).msg)); } } });
  const trackers = startTrackers(loaded.config, {
    sink, log, kernel, runner: { run: () => new Promise(() => {}) }, procEvents: null,
  });
  return { sink, lines, trackers, diagnostics: loaded.diagnostics };
}

const inst = (name: string, vrid: number, track: string): string =>
  `vrrp_instance ${name} {\n interface eth0\n virtual_router_id ${vrid}\n priority 100\n virtual_ipaddress { 10.0.0.${vrid} }\n track_interface {\n${track}\n }\n}\n`;

describe('track_interface', () => {
  it('weight 0: FAULT while the interface is down (IFF_UP and IFF_RUNNING), logged at start as keepalived does', () => {
    const k = new FakeKernel();
    k.set('eth0', 'up');
    k.set('eth1', 'down');
    const s = setup(inst('VI_1', 1, 'eth1'), k);
    expect(s.sink.faults.get('VI_1 track_interface:eth1')).toBe('down');
    expect(s.lines).toContain('(VI_1): entering FAULT state (interface eth1 down)');
    k.set('eth1', 'noCarrier'); // up but no carrier: still down for keepalived
    expect(s.sink.faults.get('VI_1 track_interface:eth1')).toBe('down');
    k.set('eth1', 'up');
    expect(s.sink.faults.size).toBe(0);
    expect(s.lines).toContain('Netlink reports eth1 up');
    k.set('eth1', 'down');
    expect(s.sink.faults.get('VI_1 track_interface:eth1')).toBe('down');
    expect(s.lines).toContain('Netlink reports eth1 down');
  });

  it('a missing interface counts as down, and is picked up when it appears; deletion is down again', () => {
    const k = new FakeKernel();
    k.set('eth0', 'up');
    const s = setup(inst('VI_1', 1, 'eth9'), k);
    expect(s.sink.faults.get('VI_1 track_interface:eth9')).toBe('missing');
    expect(s.lines.some((l) => l.includes('tracked interface eth9 does not exist'))).toBe(true);
    k.set('eth9', 'up');
    expect(s.sink.faults.size).toBe(0);
    k.remove('eth9');
    expect(s.sink.faults.get('VI_1 track_interface:eth9')).toBe('missing');
  });

  it('weights: >0 adds while up, <0 subtracts while down, reverse flips, weight 0 reverse faults while up', () => {
    const k = new FakeKernel();
    k.set('eth0', 'up');
    for (const n of ['a1', 'a2', 'a3', 'a4', 'a5']) k.set(n, 'up');
    const s = setup(inst('VI_1', 1, 'a1 weight 10\na2 weight -20\na3 weight 10 reverse\na4 weight -20 reverse\na5 weight 0 reverse'), k);
    const w = (n: string): number => s.sink.weights.get(`VI_1 interface:${n}`) ?? 0;
    expect([w('a1'), w('a2'), w('a3'), w('a4')]).toEqual([10, 0, -10, 0]);
    expect(s.sink.faults.get('VI_1 track_interface:a5')).toBe('up (weight 0 reverse)');
    for (const n of ['a1', 'a2', 'a3', 'a4', 'a5']) k.set(n, 'down');
    expect([w('a1'), w('a2'), w('a3'), w('a4')]).toEqual([0, -20, 0, 20]);
    expect(s.sink.faults.size).toBe(0);
  });

  it('resync re-reads every tracked interface; a rename away is a loss', () => {
    const k = new FakeKernel();
    k.set('eth0', 'up');
    k.set('eth1', 'up');
    const s = setup(inst('VI_1', 1, 'eth1 weight -50'), k);
    expect(s.sink.weights.size).toBe(0);
    // a rename: the link keeps its index, its name changes
    const link = k.link('eth1')!;
    (k as unknown as { links: Map<string, LinkState> }).links.delete('eth1');
    const renamed = { ...link, name: 'eth1old' };
    (k as unknown as { links: Map<string, LinkState> }).links.set('eth1old', renamed);
    for (const fn of (k as unknown as { fns: Set<(ev: KernelEvent) => void> }).fns) fn({ type: 'link', link: renamed, prev: link });
    expect(s.sink.weights.get('VI_1 interface:eth1')).toBe(-50);
    (k as unknown as { links: Map<string, LinkState> }).links.set('eth1', { ...link });
    for (const fn of (k as unknown as { fns: Set<(ev: KernelEvent) => void> }).fns) fn({ type: 'resync', reason: 'test' });
    expect(s.sink.weights.size).toBe(0);
  });

  it('sync group track_interface applies to every member; own interface is ignored with a warning', async () => {
    const k = new FakeKernel();
    k.set('eth0', 'up');
    k.set('eth1', 'down');
    const conf = `vrrp_sync_group G {\n group {\n VI_1\n VI_2\n }\n track_interface {\n eth1\n }\n}\n${inst('VI_1', 1, 'eth0')}${inst('VI_2', 2, 'eth1')}`;
    const s = setup(conf, k);
    expect(s.diagnostics.some((d) => d.message.includes('Ignoring track_interface eth0 since own interface'))).toBe(true);
    expect(s.diagnostics.some((d) => d.message.includes('track_interface eth1 is configured on VRRP instance and sync group'))).toBe(true);
    expect([...s.sink.faults.keys()].sort()).toEqual(['VI_1 track_interface:eth1', 'VI_2 track_interface:eth1']);
    expect(s.trackers.plan.interfaces.map((i) => i.name)).toEqual(['eth1']);
    await s.trackers.stop();
    expect(k.listeners).toBe(0);
    expect(s.sink.faults.size).toBe(0);
  });
});
