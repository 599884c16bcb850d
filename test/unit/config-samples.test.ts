// keepalived's own sample configs (../shared/keepalived-samples, see SOURCE.md there) must go
// through the parser without a crash: errors only where keepalived 2.2.7 also reports one.
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadConfig, formatDiagnostic } from '../../src/config/index.js';

const SAMPLES = resolve(__dirname, '../../../shared/keepalived-samples');

/** Errors keepalived -t also reports for these files (`VRRP parsed invalid IP 192.168.100./24`). */
const EXPECTED_ERRORS: Record<string, number[]> = {
  'keepalived.conf.vrrp.rules': [11, 26],
};

/** keepalived's conditional sample says to run it with -i high or -i low. */
const CONFIG_IDS: Record<string, string[]> = {
  'keepalived.conf.conditional_conf': ['high', 'low'],
};

describe('keepalived sample corpus', () => {
  const present = existsSync(SAMPLES);
  test('the corpus folder is present', () => {
    expect(present, `${SAMPLES} is missing: it ships beside the project as ../shared/keepalived-samples (copy it there)`).toBe(true);
  });
  const files = present ? readdirSync(SAMPLES).filter((f) => f.startsWith('keepalived.conf.')).sort() : [];
  test('the corpus has the upstream samples', () => {
    expect(files.length).toBeGreaterThanOrEqual(20);
  });
  for (const f of files) {
    for (const id of CONFIG_IDS[f] ?? ['samplehost']) {
      test(`${f} (config id ${id})`, () => {
        const r = loadConfig(join(SAMPLES, f), { configId: id });
        // Differs from keepalived on purpose: a checker type hakeep does not run yet is an error
        // (a server nobody checks must not count as healthy); keepalived runs it. Those errors
        // are checked to be exactly that, and set apart from the comparison with keepalived.
        const unrun = r.diagnostics.filter((d) => d.severity === 'error' && / is not run by hakeep yet, so real_server /.test(d.message));
        for (const d of unrun) expect(d.message).toMatch(/^(HTTP_GET|SSL_GET|MISC_CHECK|SMTP_CHECK|DNS_CHECK|UDP_CHECK|PING_CHECK|FILE_CHECK|BFD_CHECK) is not run by hakeep yet/);
        // Also on purpose: auth_type AH is refused (README: RFC 3768 removed it; keepalived runs it).
        const refused = r.diagnostics.filter((d) => d.severity === 'error' && /auth_type AH is refused by hakeep: RFC 3768 removed/.test(d.message));
        const errs = r.diagnostics.filter((d) => d.severity === 'error' && !unrun.includes(d) && !refused.includes(d));
        expect(errs.map((d) => d.line), errs.map(formatDiagnostic).join('\n')).toEqual(EXPECTED_ERRORS[f] ?? []);
        // Every diagnostic points into the file it is about.
        for (const d of r.diagnostics) expect(d.line).toBeGreaterThan(0);
      });
    }
  }
});
