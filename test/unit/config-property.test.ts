// Whatever bytes arrive, the parser answers with a model plus diagnostics, never another exception.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ConfigError, parseConfigText } from '../../src/config/index.js';

// Included files are never read from disk here: every include fails as unreadable.
const opts = { configId: 'fuzz', readFile: (p: string): string => { throw Object.assign(new Error(`no ${p}`), { code: 'ENOENT' }); } };

function parsesOrConfigError(text: string): void {
  try {
    const r = parseConfigText(text, 'fuzz.conf', opts);
    expect(Array.isArray(r.diagnostics)).toBe(true);
    expect(r.errorCount).toBe(r.diagnostics.filter((d) => d.severity === 'error').length);
    for (const d of r.diagnostics) {
      expect(typeof d.message).toBe('string');
      expect(d.message.length).toBeGreaterThan(0);
    }
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
  }
}

const WORDS = [
  '{', '}', '"', "'", '!', '#', '\\', '\n', ' ', '@', '@^', '$X=', '$X', '${X}', 'include', '*',
  'global_defs', 'vrrp_instance', 'VI_1', 'vrrp_script', 'vrrp_sync_group', 'group', 'virtual_server',
  'virtual_server_group', 'real_server', 'TCP_CHECK', 'HTTP_GET', 'url', 'path', 'MISC_CHECK', 'misc_path',
  'interface', 'eth0', 'virtual_router_id', 'priority', 'advert_int', 'state', 'MASTER', 'BACKUP', 'nopreempt',
  'authentication', 'auth_type', 'PASS', 'auth_pass', 'virtual_ipaddress', 'track_script', 'track_interface',
  'weight', 'lb_algo', 'lb_kind', 'DR', 'NAT', 'protocol', 'TCP', 'fwmark', 'sorry_server', 'quorum',
  '10.0.0.1', '10.0.0.1/24', '10.0.0.3-9', '2001:db8::1', 'fe80::1-ff', 'brd', 'dev', 'scope', 'label', 'link',
  '80', '0', '-1', '256', '1.5', '99999999999999999999', 'nb_get_retry', 'lvs_sched', 'connect_timeout',
];

describe('parser robustness (property tests)', () => {
  test('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
      parsesOrConfigError(Buffer.from(bytes).toString('latin1'));
    }), { numRuns: 400 });
  });

  test('random unicode text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 1000, unit: 'grapheme' }), parsesOrConfigError), { numRuns: 300 });
  });

  test('random token soups of keepalived words, braces, quotes and comments', () => {
    const soup = fc.array(fc.constantFrom(...WORDS), { maxLength: 400 }).map((ws) =>
      ws.map((w) => (w === '\n' || w === ' ' ? w : `${w} `)).join(''));
    fc.assert(fc.property(soup, parsesOrConfigError), { numRuns: 500 });
  });

  test('structured-looking configs with random values', () => {
    const value = fc.oneof(fc.constantFrom(...WORDS), fc.integer().map(String), fc.string({ maxLength: 12 }));
    const stmt = fc.tuple(fc.constantFrom(...WORDS), fc.array(value, { maxLength: 4 })).map(([k, vs]) => `  ${k} ${vs.join(' ')}\n`);
    const block = fc.tuple(fc.constantFrom('vrrp_instance VI_1', 'virtual_server 10.0.0.1 80', 'global_defs', 'vrrp_script s'), fc.array(stmt, { maxLength: 20 }))
      .map(([head, body]) => `${head} {\n${body.join('')}}\n`);
    fc.assert(fc.property(fc.array(block, { maxLength: 6 }), (blocks) => parsesOrConfigError(blocks.join(''))), { numRuns: 300 });
  });
});
