// Which VRRP instances wait for the checker side: those whose VIPs carry a virtual server.
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.js';
import { frontingInstances } from '../../src/vrrp/fronting.js';

const inst = (name: string, vrid: number, vip: string) => `vrrp_instance ${name} {
  interface eth0
  virtual_router_id ${vrid}
  virtual_ipaddress {
    ${vip}
  }
}
`;
const vs = (head: string) => `virtual_server ${head} {
  protocol TCP
  real_server 10.0.0.2 80 {
    TCP_CHECK {
      connect_timeout 1
    }
  }
}
`;
const load = (text: string) => {
  const r = parseConfigText(text, 'k.conf');
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(errors.map((d) => d.message).join('; '));
  return r.config;
};

describe('frontingInstances', () => {
  it('the instances whose VIPs carry a virtual server address', () => {
    const c = load(inst('VI_1', 51, '10.0.0.100/24') + inst('VI_2', 52, '10.0.1.100/24') + vs('10.0.0.100 80'));
    expect([...frontingInstances(c)]).toEqual(['VI_1']);
  });

  it('through a virtual_server_group', () => {
    const c = load(inst('VI_1', 51, '10.0.0.100/24') + inst('VI_2', 52, '10.0.1.100/24')
      + 'virtual_server_group G {\n  10.0.1.100 80\n}\n' + vs('group G'));
    expect([...frontingInstances(c)]).toEqual(['VI_2']);
  });

  it('every instance for a fwmark service, or when no VIP matches (keepalived would exit: all drop)', () => {
    const two = inst('VI_1', 51, '10.0.0.100/24') + inst('VI_2', 52, '10.0.1.100/24');
    expect([...frontingInstances(load(two + vs('fwmark 7')))]).toEqual(['VI_1', 'VI_2']);
    expect([...frontingInstances(load(two + vs('10.9.9.9 80')))]).toEqual(['VI_1', 'VI_2']);
  });

  it('none without virtual servers', () => {
    expect(frontingInstances(load(inst('VI_1', 51, '10.0.0.100/24'))).size).toBe(0);
  });
});
