// auth_type AH is refused by `hakeep -t` with the reason and the fix (README, "Where hakeep refuses
// although keepalived runs"): RFC 3768 removed AH from VRRPv2 and keepalived's AH is its own scheme.
import { describe, expect, test } from 'vitest';
import { parseConfigText } from '../../src/config/index.js';

describe('auth_type AH', () => {
  test('an error at the auth_type line naming RFC 3768 and the fix; PASS in the same place is fine', () => {
    const conf = (t: string) => `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  authentication {
    auth_type ${t}
    auth_pass secret
  }
  virtual_ipaddress {
    10.0.0.1
  }
}
`;
    const ah = parseConfigText(conf('AH'), 'ah.conf', { configId: 'test' });
    const errs = ah.diagnostics.filter((d) => d.severity === 'error');
    expect(errs.map((d) => `${d.file}:${d.line}`)).toEqual(['ah.conf:5']);
    expect(errs[0]!.message).toMatch(/^\(VI_1\) auth_type AH is refused by hakeep: RFC 3768 removed the IPsec AH authentication .* Use auth_type PASS, or no authentication block, on every node/);
    expect(parseConfigText(conf('PASS'), 'pass.conf', { configId: 'test' }).errorCount).toBe(0);
  });
});
