// use_vmac: the pure plan (name, MAC, what to do with an existing link, sysctls), the config's
// corrections and `-t` note at file:line, how an instance is resolved onto its VMAC, and the
// manager's order of netlink calls and sysctl writes against a recording addon.
import { describe, expect, test } from 'vitest';
import { parseConfigText } from '../../src/config/index.js';
import { decideVmac, vmacAddress, vmacDefaultName, vmacSysctls } from '../../src/net/vmac-plan.js';
import { VmacManager, type VmacIo } from '../../src/net/vmac.js';
import { resolveInstance } from '../../src/vrrp/service.js';
import type { Logger } from '../../src/daemon/log.js';

const conf = (extra: string, vips = '10.0.0.1/24') => `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
${extra}
  virtual_ipaddress {
    ${vips}
  }
}
`;

function quietLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const f = (_o: unknown, msg?: string): void => { lines.push(String(msg ?? _o)); };
  return { lines, debug: f, info: f, warn: f, error: f, fatal: f, trace: f, child: () => quietLog() } as unknown as Logger & { lines: string[] };
}

describe('vmac plan', () => {
  test('RFC 3768 MAC and keepalived default name', () => {
    expect(vmacAddress(1)).toBe('00:00:5e:00:01:01');
    expect(vmacAddress(51)).toBe('00:00:5e:00:01:33');
    expect(vmacAddress(255)).toBe('00:00:5e:00:01:ff');
    expect(() => vmacAddress(0)).toThrow(RangeError);
    expect(() => vmacAddress(256)).toThrow(RangeError);
    expect(vmacDefaultName(51)).toBe('vrrp.51');
  });

  test('an existing link: created, adopted, updated, recreated or refused', () => {
    const want = { name: 'vrrp.51', baseIfindex: 2, mac: '00:00:5e:00:01:33' };
    expect(decideVmac(null, want)).toEqual({ action: 'create' });
    expect(decideVmac({ ifindex: 9, kind: 'macvlan', mode: 1, link: 2, mac: '00:00:5E:00:01:33' }, want)).toEqual({ action: 'adopt', ifindex: 9 });
    const upd = decideVmac({ ifindex: 9, kind: 'macvlan', mode: 1, link: 2, mac: '00:00:5e:00:01:34' }, want);
    expect(upd).toEqual({ action: 'update', ifindex: 9, why: 'MAC 00:00:5e:00:01:34 (want 00:00:5e:00:01:33)' });
    expect(decideVmac({ ifindex: 9, kind: 'macvlan', mode: 4, link: 2, mac: '00:00:5e:00:01:33' }, want)).toEqual({ action: 'update', ifindex: 9, why: 'mode 4 (want private)' });
    expect(decideVmac({ ifindex: 9, kind: 'macvlan', mode: 1, link: 3, mac: '00:00:5e:00:01:33' }, want).action).toBe('recreate');
    const veth = decideVmac({ ifindex: 9, kind: 'veth', mode: -1, link: 3, mac: '02:00:00:00:00:01' }, want);
    expect(veth.action).toBe('refuse');
    expect(veth.action === 'refuse' && veth.why).toMatch(/^vrrp\.51 already exists and is a veth interface: hakeep does not touch it .*conflicts with existing interface.*Rename or delete/);
    const nic = decideVmac({ ifindex: 9, kind: null, mode: -1, link: 0, mac: '02:00:00:00:00:01' }, want);
    expect(nic.action === 'refuse' && nic.why).toMatch(/is an interface that is not a macvlan/);
  });

  test('the sysctls keepalived sets, by path', () => {
    expect(vmacSysctls('vrrp.51', 'eth0')).toEqual({
      vmac: [
        { path: '/proc/sys/net/ipv4/conf/vrrp.51/arp_ignore', value: 1 },
        { path: '/proc/sys/net/ipv4/conf/vrrp.51/accept_local', value: 1 },
        { path: '/proc/sys/net/ipv4/conf/vrrp.51/rp_filter', value: 0 },
        { path: '/proc/sys/net/ipv4/conf/vrrp.51/promote_secondaries', value: 1 },
        { path: '/proc/sys/net/ipv6/conf/vrrp.51/disable_ipv6', value: 1 },
      ],
      base: [
        { path: '/proc/sys/net/ipv4/conf/eth0/arp_ignore', value: 1 },
        { path: '/proc/sys/net/ipv4/conf/eth0/arp_filter', value: 1 },
        { path: '/proc/sys/net/ipv4/conf/eth0/arp_announce', value: 2 },
      ],
    });
  });
});

describe('use_vmac in the config', () => {
  test('default name: no "not implemented" warning, a note at the line saying what happens', () => {
    const res = parseConfigText(conf('  use_vmac'), 'v.conf', { configId: 'test' });
    expect(res.errorCount).toBe(0);
    expect(res.diagnostics.filter((d) => /not implemented|not applied/.test(d.message))).toEqual([]);
    const inst = res.config.vrrpInstances[0]!;
    expect(inst.useVmac).toBe('');
    const note = res.diagnostics.find((d) => /use_vmac:/.test(d.message))!;
    expect(`${note.file}:${note.line} ${note.severity}`).toBe('v.conf:5 note');
    expect(note.message).toMatch(/^\(VI_1\) use_vmac: hakeep creates the macvlan vrrp\.51 \(mode private, MAC 00:00:5e:00:01:33\) on eth0 .*adverts and gratuitous ARPs leave from vrrp\.51 with source MAC 00:00:5e:00:01:33; the VMAC is removed on stop$/);
  });

  test('a name, vmac_xmit_base, and a MAC of ones own refused at its line', () => {
    const named = parseConfigText(conf('  use_vmac vip51\n  vmac_xmit_base'), 'n.conf', { configId: 'test' });
    expect(named.errorCount).toBe(0);
    expect(named.config.vrrpInstances[0]!.useVmac).toBe('vip51');
    expect(named.config.vrrpInstances[0]!.vmacXmitBase).toBe(true);
    expect(named.diagnostics.find((d) => /use_vmac:/.test(d.message))!.message).toMatch(/adverts go out of eth0 \(vmac_xmit_base\)/);
    const mac = parseConfigText(conf('  use_vmac vip51 02:11:22:33:44:55'), 'm.conf', { configId: 'test' });
    const errs = mac.diagnostics.filter((d) => d.severity === 'error');
    expect(errs.map((d) => `${d.file}:${d.line}`)).toEqual(['m.conf:5']);
    expect(errs[0]!.message).toMatch(/a VMAC address of your own is not supported by hakeep; remove it/);
  });

  test('keepalived corrections: unicast sets vmac_xmit_base; strict mode clears it', () => {
    const uni = parseConfigText(conf('  use_vmac\n  unicast_peer {\n    10.0.0.3\n  }'), 'u.conf', { configId: 'test' });
    const w = uni.diagnostics.find((d) => /requires vmac_xmit_base/.test(d.message))!;
    expect(`${w.file}:${w.line} ${w.severity}`).toBe('u.conf:5 warning');
    expect(w.message).toMatch(/"unicast with use_vmac requires vmac_xmit_base - setting"/);
    expect(uni.config.vrrpInstances[0]!.vmacXmitBase).toBe(true);
    const strict = parseConfigText(conf('  use_vmac\n  vmac_xmit_base\n  strict_mode on'), 's.conf', { configId: 'test' });
    const s = strict.diagnostics.find((d) => /incompatible with strict mode/.test(d.message))!;
    expect(`${s.file}:${s.line}`).toBe('s.conf:6');
    expect(strict.config.vrrpInstances[0]!.vmacXmitBase).toBe(false);
  });

  test('resolved: VIPs without dev go on the VMAC, the socket on it unless vmac_xmit_base', () => {
    const two = '10.0.0.1/24\n    10.0.1.1/24 dev eth1';
    const res = parseConfigText(conf('  use_vmac', two), 'r.conf', { configId: 'test' });
    const spec = resolveInstance(res.config.vrrpInstances[0]!, res.config.globalDefs, quietLog());
    expect(spec.interface).toBe('vrrp.51');
    expect(spec.vips.map((v) => `${v.address} ${v.dev}`)).toEqual(['10.0.0.1 vrrp.51', '10.0.1.1 eth1']);
    const xb = parseConfigText(conf('  use_vmac\n  vmac_xmit_base', two), 'x.conf', { configId: 'test' });
    const xs = resolveInstance(xb.config.vrrpInstances[0]!, xb.config.globalDefs, quietLog());
    expect(xs.interface).toBe('eth0');
    expect(xs.vips.map((v) => v.dev)).toEqual(['vrrp.51', 'eth1']);
    const plain = parseConfigText(conf(''), 'p.conf', { configId: 'test' });
    expect(resolveInstance(plain.config.vrrpInstances[0]!, plain.config.globalDefs, quietLog()).vips[0]!.dev).toBe(null);
  });
});

describe('VmacManager (recording addon)', () => {
  function recorder(links: Record<string, { ifindex: number; kind: string | null; mode: number; link: number; mac: string | null }>, sysctl: Record<string, number>) {
    const calls: string[] = [];
    let next = 20;
    const io: VmacIo = {
      addon: {
        vmacLink: (name) => (links[name] ? { ...links[name]!, up: true } : null),
        vmacCreate: (name, base, mac, upd) => { calls.push(`create ${name} base=${base} ${mac} update=${upd}`); return upd || next++; },
        vmacDelete: (i) => { calls.push(`delete ${i}`); },
      },
      readSysctl: (p) => sysctl[p] ?? null,
      writeSysctl: (p, v) => { calls.push(`write ${p}=${v}`); sysctl[p] = v; },
    };
    return { io, calls, sysctl };
  }

  test('create, sysctls, and on remove the base restored before the link goes', () => {
    const r = recorder({ eth0: { ifindex: 2, kind: 'veth', mode: -1, link: 3, mac: '02:00:00:00:00:02' } }, {
      '/proc/sys/net/ipv4/conf/eth0/arp_ignore': 0, '/proc/sys/net/ipv4/conf/eth0/arp_filter': 0,
      '/proc/sys/net/ipv4/conf/eth0/arp_announce': 0,
    });
    const m = new VmacManager(quietLog(), r.io);
    expect(m.ensure({ instance: 'VI_1', name: 'vrrp.51', base: 'eth0', vrid: 51 })).toBe(20);
    expect(m.ensure({ instance: 'VI_1', name: 'vrrp.51', base: 'eth0', vrid: 51 })).toBe(20); // held: no second create
    expect(r.calls).toEqual([
      'create vrrp.51 base=2 00:00:5e:00:01:33 update=0',
      'write /proc/sys/net/ipv4/conf/vrrp.51/arp_ignore=1',
      'write /proc/sys/net/ipv4/conf/vrrp.51/accept_local=1',
      'write /proc/sys/net/ipv4/conf/vrrp.51/rp_filter=0',
      'write /proc/sys/net/ipv4/conf/vrrp.51/promote_secondaries=1',
      'write /proc/sys/net/ipv6/conf/vrrp.51/disable_ipv6=1',
      'write /proc/sys/net/ipv4/conf/eth0/arp_ignore=1',
      'write /proc/sys/net/ipv4/conf/eth0/arp_filter=1',
      'write /proc/sys/net/ipv4/conf/eth0/arp_announce=2',
    ]);
    r.calls.length = 0;
    m.removeAll();
    expect(r.calls).toEqual([
      'write /proc/sys/net/ipv4/conf/eth0/arp_ignore=0',
      'write /proc/sys/net/ipv4/conf/eth0/arp_filter=0',
      'write /proc/sys/net/ipv4/conf/eth0/arp_announce=0',
      'delete 20',
    ]);
    expect(m.names).toEqual([]);
  });

  test('a left-over VMAC with the right MAC is adopted; a non-macvlan of that name is an error naming both', () => {
    const r = recorder({
      eth0: { ifindex: 2, kind: 'veth', mode: -1, link: 3, mac: '02:00:00:00:00:02' },
      'vrrp.51': { ifindex: 7, kind: 'macvlan', mode: 1, link: 2, mac: '00:00:5e:00:01:33' },
      'vrrp.52': { ifindex: 8, kind: 'veth', mode: -1, link: 0, mac: '02:00:00:00:00:08' },
    }, {});
    const log = quietLog();
    const m = new VmacManager(log, r.io);
    expect(m.ensure({ instance: 'VI_1', name: 'vrrp.51', base: 'eth0', vrid: 51 })).toBe(7);
    expect(r.calls[0]).toBe('create vrrp.51 base=2 00:00:5e:00:01:33 update=7');
    expect(log.lines).toContain('(VI_1) adopting VMAC interface vrrp.51 (00:00:5e:00:01:33) left on eth0');
    expect(() => m.ensure({ instance: 'VI_2', name: 'vrrp.52', base: 'eth0', vrid: 52 })).toThrow(/^\(VI_2\) use_vmac: vrrp\.52 already exists and is a veth interface: hakeep does not touch it/);
    expect(() => m.ensure({ instance: 'VI_3', name: 'vrrp.53', base: 'eth9', vrid: 53 })).toThrow(/^\(VI_3\) cannot create VMAC vrrp\.53: interface eth9 does not exist$/);
  });
});

describe('reload with use_vmac', () => {
  test('adding, renaming or removing use_vmac, or toggling vmac_xmit_base, restarts the instance', async () => {
    const { planVrrpReload } = await import('../../src/daemon/reload-plan.js');
    const cfg = (extra: string) => parseConfigText(conf(extra), 'r.conf', { configId: 'test' }).config;
    const kinds = (a: string, b: string) => planVrrpReload(cfg(a), cfg(b)).instances.map((c) => `${c.name} ${c.kind}`);
    expect(kinds('', '  use_vmac')).toEqual(['VI_1 restarted']);
    expect(kinds('  use_vmac', '  use_vmac other')).toEqual(['VI_1 restarted']);
    expect(kinds('  use_vmac', '  use_vmac\n  vmac_xmit_base')).toEqual(['VI_1 restarted']);
    expect(kinds('  use_vmac', '')).toEqual(['VI_1 restarted']);
    expect(kinds('  use_vmac', '  use_vmac')).toEqual(['VI_1 kept']);
  });
});

describe('hakeep cleanup and a left VMAC', () => {
  test('deletes a macvlan with the virtual MAC; leaves anything else of that name; says when it cannot', async () => {
    const { releaseLeftVmac } = await import('../../src/net/vmac.js');
    const deleted: number[] = [];
    const links: Record<string, { ifindex: number; kind: string | null; mode: number; link: number; mac: string | null; up: boolean }> = {
      'vrrp.51': { ifindex: 7, kind: 'macvlan', mode: 1, link: 2, mac: '00:00:5e:00:01:33', up: true },
      'vrrp.52': { ifindex: 8, kind: 'macvlan', mode: 1, link: 2, mac: '02:00:00:00:00:08', up: true },
      'vrrp.53': { ifindex: 9, kind: 'macvlan', mode: 1, link: 2, mac: '00:00:5e:00:01:35', up: true },
    };
    const io: VmacIo = {
      addon: {
        vmacLink: (n) => links[n] ?? null,
        vmacCreate: () => { throw new Error('not expected'); },
        vmacDelete: (i) => { if (i === 9) throw Object.assign(new Error('ifindex 9: Operation not permitted (RTM_DELLINK)'), { code: 'EPERM' }); deleted.push(i); },
      },
      readSysctl: () => null,
      writeSysctl: () => { throw new Error('not expected'); },
    };
    expect(releaseLeftVmac({ name: 'VI_1', vrid: 51, vmac: 'vrrp.51' }, io)).toEqual({ ok: true, line: '(VI_1) removed VMAC interface vrrp.51 (and the VIPs on it), left by a hakeep that did not stop cleanly' });
    expect(releaseLeftVmac({ name: 'VI_2', vrid: 52, vmac: 'vrrp.52' }, io)).toEqual({ ok: true, line: '(VI_2) vrrp.52 is not a VMAC with 00:00:5e:00:01:34; left alone' });
    expect(releaseLeftVmac({ name: 'VI_3', vrid: 53, vmac: 'vrrp.53' }, io)).toEqual({ ok: false, line: '(VI_3) cannot remove VMAC interface vrrp.53: ifindex 9: Operation not permitted (RTM_DELLINK)' });
    expect(releaseLeftVmac({ name: 'VI_4', vrid: 54, vmac: 'vrrp.54' }, io)).toBe(null);
    expect(deleted).toEqual([7]);
  });
});
