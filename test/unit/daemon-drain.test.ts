// `hakeep rs drain|enable`: resolving what an operator types, and the state file kept across a
// restart from the same configuration.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.js';
import { DrainStore, resolveDrainTarget } from '../../src/daemon/drain.js';

const conf = parseConfigText(`
virtual_server 10.0.0.100 80 {
  protocol TCP
  real_server 10.0.0.2 80 {
    TCP_CHECK {
    }
  }
  real_server 10.0.0.3 80 {
    TCP_CHECK {
    }
  }
}
virtual_server 10.0.0.100 80 {
  protocol UDP
  real_server 10.0.0.2 80 {
  }
}
virtual_server 2001:db8::100 443 {
  protocol TCP
  real_server 2001:db8::2 443 {
  }
}
virtual_server fwmark 7 {
  protocol TCP
  real_server 10.0.0.5 0 {
  }
}
`, 'k.conf').config;

const dir = mkdtempSync(join(tmpdir(), 'hakeep-drain-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('resolveDrainTarget', () => {
  it('names the real server as hakeep\'s logs do', () => {
    expect(resolveDrainTarget(conf, '10.0.0.100:80/tcp', '10.0.0.3:80')).toEqual({ vs: '[10.0.0.100]:tcp:80', rs: '[10.0.0.3]:tcp:80' });
    expect(resolveDrainTarget(conf, '[2001:DB8::100]:443', '[2001:db8:0::2]:443')).toEqual({ vs: '[2001:db8::100]:tcp:443', rs: '[2001:db8::2]:tcp:443' });
    expect(resolveDrainTarget(conf, 'fwmark:7', '10.0.0.5:0')).toEqual({ vs: 'FWM 7', rs: '[10.0.0.5]:none:0' });
  });

  it('says what is wrong: ambiguous protocol, unknown service or server, bad syntax', () => {
    expect((resolveDrainTarget(conf, '10.0.0.100:80', '10.0.0.2:80') as Error).message).toBe('10.0.0.100:80 names 2 virtual servers ([10.0.0.100]:tcp:80, [10.0.0.100]:udp:80): add /tcp, /udp or /sctp');
    expect((resolveDrainTarget(conf, '10.0.0.101:80', '10.0.0.2:80') as Error).message).toBe('no virtual_server 10.0.0.101:80 in k.conf');
    expect((resolveDrainTarget(conf, '10.0.0.100:80/tcp', '10.0.0.9:80') as Error).message).toMatch(/has no real_server 10\.0\.0\.9:80 \(it has \[10\.0\.0\.2\]:tcp:80, \[10\.0\.0\.3\]:tcp:80\)/);
    expect((resolveDrainTarget(conf, 'vip', '10.0.0.2:80') as Error).message).toMatch(/is not a virtual server address/);
  });
});

describe('DrainStore', () => {
  it('keeps drains across a restart from the same config file, root-only, and forgets them for another', () => {
    const path = join(dir, 'drained.json');
    const a = new DrainStore(path, '/etc/keepalived/keepalived.conf');
    expect(a.set({ vs: 'V', rs: 'R1' }, true)).toBe(true);
    expect(a.set({ vs: 'V', rs: 'R1' }, true)).toBe(false);
    a.set({ vs: 'V', rs: 'R2' }, true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const b = new DrainStore(path, '/etc/keepalived/keepalived.conf');
    expect(b.load()).toEqual([{ vs: 'V', rs: 'R1' }, { vs: 'V', rs: 'R2' }]);
    b.set({ vs: 'V', rs: 'R1' }, false);
    b.retain((k) => k.rs !== 'R2');
    expect(JSON.parse(readFileSync(path, 'utf8')).drained).toEqual([]);
    a.set({ vs: 'V', rs: 'R3' }, true);
    expect(new DrainStore(path, '/other.conf').load()).toEqual([]);
  });
});
