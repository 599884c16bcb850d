// use_vmac, the I/O: create (or adopt) the macvlan carrying 00:00:5e:00:01:VRID through the
// addon (native/src/vmac.c), write the sysctls of vmac-plan.ts, and undo both on stop. Every
// call here is synchronous and happens at start, on a reload that adds or removes an instance,
// or at stop: never on the advert path.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Logger } from '../daemon/log.js';
import { native, type NativeAddon } from './native.js';
import { decideVmac, vmacAddress, vmacSysctls, type SysctlWrite } from './vmac-plan.js';

export interface VmacWant {
  instance: string;
  /** The VMAC's name (use_vmac NAME or vrrp.VRID). */
  name: string;
  /** The instance's interface, the macvlan's lower device. */
  base: string;
  vrid: number;
}

type VmacAddon = Required<Pick<NativeAddon, 'vmacLink' | 'vmacCreate' | 'vmacDelete'>>;

export interface VmacIo {
  addon: VmacAddon;
  readSysctl(path: string): number | null;
  writeSysctl(path: string, value: number): void;
}

const realIo = (): VmacIo => {
  const a = native();
  if (!a.vmacLink || !a.vmacCreate || !a.vmacDelete) {
    throw new Error('the native addon was built without use_vmac support: rebuild it (npm install, or node-gyp rebuild in native/)');
  }
  return {
    addon: { vmacLink: a.vmacLink, vmacCreate: a.vmacCreate, vmacDelete: a.vmacDelete },
    readSysctl(path) {
      try {
        const n = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
        return Number.isFinite(n) ? n : null;
      } catch {
        return null;
      }
    },
    writeSysctl(path, value) {
      writeFileSync(path, `${value}\n`);
    },
  };
};

interface Held {
  want: VmacWant;
  ifindex: number;
}

/** The VMACs this process runs, and the base interfaces whose ARP settings it changed. */
export class VmacManager {
  private readonly held = new Map<string, Held>();
  /** Per base interface: the values before we changed them, and how many VMACs use it. */
  private readonly bases = new Map<string, { saved: Array<SysctlWrite & { before: number | null }>; users: number }>();
  private io: VmacIo | null;

  constructor(private readonly log: Logger, io?: VmacIo) {
    this.io = io ?? null;
  }

  private get dev(): VmacIo {
    this.io ??= realIo();
    return this.io;
  }

  /** The VMAC exists, is up and carries the virtual MAC. Throws with what is wrong and what to do. */
  ensure(want: VmacWant): number {
    const prev = this.held.get(want.name);
    if (prev) return prev.ifindex;
    const { addon } = this.dev;
    const n = `(${want.instance})`;
    const baseLink = addon.vmacLink(want.base);
    if (baseLink === null) {
      throw new Error(`${n} cannot create VMAC ${want.name}: interface ${want.base} does not exist`);
    }
    const mac = vmacAddress(want.vrid);
    const existing = addon.vmacLink(want.name);
    const d = decideVmac(existing, { name: want.name, baseIfindex: baseLink.ifindex, mac });
    let ifindex: number;
    try {
      switch (d.action) {
        case 'refuse':
          throw new Error(`${n} use_vmac: ${d.why}`);
        case 'adopt':
          // Left by an earlier run (SIGKILL): exactly what we want, so VIPs on it stay put.
          this.log.info({ instance: want.instance, vmac: want.name }, `${n} adopting VMAC interface ${want.name} (${mac}) left on ${want.base}`);
          ifindex = addon.vmacCreate(want.name, baseLink.ifindex, mac, d.ifindex);
          break;
        case 'update':
          this.log.info({ instance: want.instance, vmac: want.name, why: d.why }, `${n} Update old VMAC interface ${want.name} due to wrong MAC/mode: ${d.why}`);
          ifindex = addon.vmacCreate(want.name, baseLink.ifindex, mac, d.ifindex);
          break;
        case 'recreate':
          this.log.info({ instance: want.instance, vmac: want.name, why: d.why }, `${n} Removing old VMAC interface ${want.name} due to conflicting interface: ${d.why}`);
          addon.vmacDelete(d.ifindex);
          ifindex = addon.vmacCreate(want.name, baseLink.ifindex, mac, 0);
          break;
        case 'create':
          ifindex = addon.vmacCreate(want.name, baseLink.ifindex, mac, 0);
          this.log.info({ instance: want.instance, vmac: want.name }, `${n} created VMAC interface ${want.name} (${mac}) on ${want.base}`);
          break;
      }
    } catch (e) {
      const err = e as Error & { code?: string };
      if (err.message.startsWith(n)) throw err;
      const hint = err.code === 'EPERM' ? ' (needs CAP_NET_ADMIN)' : err.code === 'EOPNOTSUPP' ? ' (the kernel has no macvlan support: modprobe macvlan)' : '';
      throw new Error(`${n} cannot create VMAC interface ${want.name} on ${want.base}: ${err.message}${hint}`, { cause: e });
    }
    this.held.set(want.name, { want, ifindex });
    this.applySysctls(want);
    return ifindex;
  }

  private applySysctls(want: VmacWant): void {
    const io = this.dev;
    const plan = vmacSysctls(want.name, want.base);
    for (const w of plan.vmac) this.write(want, w);
    const b = this.bases.get(want.base);
    if (b) {
      b.users += 1;
      return;
    }
    const saved = plan.base.map((w) => ({ ...w, before: io.readSysctl(w.path) }));
    for (const w of saved) if (w.before !== w.value) this.write(want, w);
    this.bases.set(want.base, { saved, users: 1 });
  }

  private write(want: VmacWant, w: SysctlWrite): void {
    try {
      this.dev.writeSysctl(w.path, w.value);
    } catch (e) {
      // keepalived logs and goes on ("Unable to set parameters for …"); a VMAC without them may
      // let the base answer ARP for the VIPs with its own MAC, so say which one failed.
      this.log.warn({ instance: want.instance, path: w.path, err: (e as Error).message }, `(${want.instance}) Unable to set ${w.path} to ${w.value} for VMAC ${want.name}: ${(e as Error).message}`);
    }
  }

  /** Delete the VMAC (its VIPs go with it) and restore the base's ARP settings when it was the last. */
  remove(name: string): void {
    const h = this.held.get(name);
    if (!h) return;
    this.held.delete(name);
    const b = this.bases.get(h.want.base);
    if (b && --b.users === 0) {
      this.bases.delete(h.want.base);
      for (const w of b.saved) {
        if (w.before !== null && w.before !== w.value) this.write(h.want, { path: w.path, value: w.before });
      }
    }
    try {
      this.dev.addon.vmacDelete(h.ifindex);
      this.log.info({ instance: h.want.instance, vmac: name }, `(${h.want.instance}) removed VMAC interface ${name}`);
    } catch (e) {
      const err = e as Error & { code?: string };
      if (err.code === 'ENODEV') return; // already gone (deleted by someone else)
      this.log.error({ instance: h.want.instance, vmac: name, err: err.message }, `(${h.want.instance}) Error removing VMAC interface ${name}: ${err.message}`);
    }
  }

  removeAll(): void {
    for (const name of [...this.held.keys()]) this.remove(name);
  }

  get names(): string[] {
    return [...this.held.keys()];
  }
}

/**
 * `hakeep cleanup` (ExecStopPost after a SIGKILL): delete the VMAC a dead daemon left, with the
 * VIPs on it, when it is a macvlan carrying the instance's virtual MAC (anything else of that
 * name is not ours and stays). The base's ARP settings cannot be restored here: what they were
 * before is known only to the daemon that changed them. Returns a line to print, or null when
 * there was nothing to remove.
 */
export function releaseLeftVmac(inst: { name: string; vrid: number; vmac: string }, io?: VmacIo): { ok: boolean; line: string } | null {
  const { addon } = io ?? realIo();
  const l = addon.vmacLink(inst.vmac);
  if (l === null) return null;
  const mac = vmacAddress(inst.vrid);
  if (l.kind !== 'macvlan' || (l.mac ?? '').toLowerCase() !== mac) {
    return { ok: true, line: `(${inst.name}) ${inst.vmac} is not a VMAC with ${mac}; left alone` };
  }
  try {
    addon.vmacDelete(l.ifindex);
    return { ok: true, line: `(${inst.name}) removed VMAC interface ${inst.vmac} (and the VIPs on it), left by a hakeep that did not stop cleanly` };
  } catch (e) {
    return { ok: false, line: `(${inst.name}) cannot remove VMAC interface ${inst.vmac}: ${(e as Error).message}` };
  }
}
