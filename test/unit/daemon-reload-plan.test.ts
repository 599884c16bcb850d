// Reload as a diff of two configurations: which instances are kept, changed in place, restarted
// or stopped/started, and the plan text `hakeep plan` prints.
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.js';
import { formatVrrpPlan, planVrrpReload } from '../../src/daemon/reload-plan.js';

const inst = (name: string, body: string) => `vrrp_instance ${name} {\n  interface eth0\n${body}\n}\n`;
const load = (text: string) => {
  const r = parseConfigText(text, 'k.conf');
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(errors.map((d) => d.message).join('; '));
  return r.config;
};
const base = (over: { prio?: number; vip?: string; vrid?: number; iface?: string; extra?: string } = {}) =>
  `  virtual_router_id ${over.vrid ?? 51}\n  priority ${over.prio ?? 100}\n  virtual_ipaddress {\n    ${over.vip ?? '10.0.0.100/24'}\n  }\n${over.extra ?? ''}`.replace('interface eth0', `interface ${over.iface ?? 'eth0'}`);

describe('planVrrpReload', () => {
  it('the same file (moved lines included) keeps everything', () => {
    const a = load(inst('VI_1', base()));
    const b = load(`\n\n! a comment\n${inst('VI_1', base())}`);
    expect(planVrrpReload(a, b).instances).toEqual([{ kind: 'kept', name: 'VI_1' }]);
    expect(formatVrrpPlan(planVrrpReload(a, b))).toEqual(['instance VI_1: unchanged (keeps its state, timers and VIPs)']);
  });

  it('priority, VIPs and timers change in place; VIPs added and removed are listed', () => {
    const a = load(inst('VI_1', base()));
    const b = load(inst('VI_1', base({ prio: 120, vip: '10.0.0.101/24', extra: '  advert_int 2\n' })));
    const p = planVrrpReload(a, b);
    expect(p.instances).toEqual([{ kind: 'changed', name: 'VI_1', changes: ['priority', 'advertInt', 'virtual_ipaddress'], vipsAdded: ['10.0.0.101/24'], vipsRemoved: ['10.0.0.100/24'] }]);
    expect(formatVrrpPlan(p)).toEqual([
      'instance VI_1: changed in place: priority, advertInt, virtual_ipaddress',
      '  VIP 10.0.0.101/24: added (when master)',
      '  VIP 10.0.0.100/24: removed',
    ]);
  });

  it('a new identity on the wire (VRID, interface, unicast, owner) stops the old router and starts the new', () => {
    const a = load(inst('VI_1', base()));
    expect(planVrrpReload(a, load(inst('VI_1', base({ vrid: 52 })))).instances).toEqual([{ kind: 'restarted', name: 'VI_1', why: ['virtualRouterId'] }]);
    expect(planVrrpReload(a, load(inst('VI_1', base({ prio: 255 })))).instances).toEqual([{ kind: 'restarted', name: 'VI_1', why: ['address owner (priority 255)'] }]);
    const uni = load(inst('VI_1', base({ extra: '  unicast_src_ip 10.0.0.1\n  unicast_peer {\n    10.0.0.2\n  }\n' })));
    expect(planVrrpReload(a, uni).instances).toEqual([{ kind: 'restarted', name: 'VI_1', why: ['multicast → unicast'] }]);
  });

  it('instances removed and added by name', () => {
    const a = load(inst('VI_1', base()) + inst('VI_2', base({ vrid: 52, vip: '10.0.1.100/24' })));
    const b = load(inst('VI_1', base()) + inst('VI_3', base({ vrid: 53, vip: '10.0.2.100/24' })));
    expect(planVrrpReload(a, b).instances).toEqual([{ kind: 'kept', name: 'VI_1' }, { kind: 'stopped', name: 'VI_2' }, { kind: 'started', name: 'VI_3' }]);
  });
});
