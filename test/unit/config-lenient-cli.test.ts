// `hakeep -t` on the issue-12 configs (test/fixtures/lenient/): exit 0, with a warning naming each
// correction at its file:line; the refused ones exit 4 with the fix. The CLI is compiled from the
// sources into a temporary directory laid out like the package (the repository's dist/ belongs to
// other work), and run exactly as an operator would: node bin/hakeep.js -t -f FILE.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIX = join(ROOT, 'test/fixtures/lenient');
let root = '';

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'hakeep-lenient-cli-'));
  const r = spawnSync('npx', ['tsc', '--ignoreConfig', '--outDir', join(root, 'dist'), '--rootDir', join(ROOT, 'src'), '--module', 'nodenext',
    '--moduleResolution', 'nodenext', '--target', 'es2022', '--strict', '--skipLibCheck', '--types', 'node', join(ROOT, 'src/cli.ts')],
  { cwd: ROOT, encoding: 'utf8', timeout: 180_000 });
  if (!existsSync(join(root, 'dist/cli.js'))) throw new Error(`tsc did not produce dist/cli.js: ${r.stdout}${r.stderr}`);
  mkdirSync(join(root, 'bin'));
  copyFileSync(join(ROOT, 'bin/hakeep.js'), join(root, 'bin/hakeep.js'));
  writeFileSync(join(root, 'package.json'), '{ "type": "module", "version": "0.0.0-test" }\n');
  symlinkSync(join(ROOT, 'native'), join(root, 'native'));
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
}, 200_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

function hakeepT(file: string): { code: number | null; out: string } {
  const r = spawnSync('node', [join(root, 'bin/hakeep.js'), '-t', '-f', file], { cwd: FIX, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** `file:line: warning: …fragment…` is in the output. */
function has(out: string, file: string, line: number, severity: 'warning' | 'error' | 'note' | null, fragment: string): void {
  const tag = severity === 'error' || severity === null ? '' : `${severity}: `;
  const prefix = `${file}:${line}: ${tag}`;
  const ok = out.split('\n').some((l) => l.startsWith(prefix) && l.includes(fragment) && (severity !== 'error' || !/^[^:]+:\d+: (warning|note): /.test(l)));
  expect(ok, `expected "${prefix}…${fragment}…" in:\n${out}`).toBe(true);
}

describe('hakeep -t on configs keepalived 2.2.7 runs', () => {
  test('issue-12.conf: every case of the issue at once, exit 0, each correction named at its line', () => {
    const f = 'issue-12.conf';
    const { code, out } = hakeepT(f);
    expect(code, out).toBe(0);
    has(out, f, 14, 'warning', "(VI_1) unknown state 'SLAVE', defaulting to BACKUP");
    has(out, f, 22, 'warning', "(VI_1) auth_pass is longer than 8 characters: keepalived uses the first 8 ('12345678'");
    has(out, f, 24, 'warning', "(VI_1) unicast_src_ip 192.168.0.91/24: keepalived drops the prefix length '/24'");
    has(out, f, 26, 'warning', "(VI_1) unicast_peer 192.168.0.92/24: keepalived drops the prefix length '/24'");
    has(out, f, 29, 'warning', '(VI_1) notify_master is given again');
    has(out, f, 30, 'warning', '(VI_1) notify_master is given again');
    has(out, f, 39, 'warning', "lb_kind 'nat': keepalived knows only NAT, DR and TUN in capitals");
    has(out, f, 40, 'warning', "persistence_timeout '0' is out of range (1 to 2678400 seconds): keepalived ignores it (\"persistence_timeout invalid\"), so does hakeep; the service has no persistence, which is what 0 means");
    has(out, f, 41, 'warning', "quorum '0' is out of range (1 to 4294967295): keepalived ignores it (\"Quorum 0 must be in [1, 4294967295]. Setting to 1.\")");
    has(out, f, 56, 'warning', "ports don't match - resetting");
    expect(out).toMatch(/configuration OK \(\d+ warning\(s\)\)/);
    // smtp_server localhost and smtp_alert in the instance: accepted without a word of complaint.
    expect(out).not.toMatch(/issue-12\.conf:(9|19): warning: /);
  }, 60_000);

  const cases: [string, number, string][] = [
    ['auth-pass-long.conf', 7, "(VI_1) auth_pass is longer than 8 characters: keepalived uses the first 8 ('verysecr'"],
    ['persistence-quorum-zero.conf', 4, 'the service has no persistence, which is what 0 means'],
    ['persistence-quorum-zero.conf', 5, 'Setting to 1.'],
    ['unicast-prefix.conf', 5, "(VI_1) unicast_src_ip 192.168.0.91/24: keepalived drops the prefix length '/24' and uses the address 192.168.0.91"],
    ['unicast-prefix.conf', 7, "(VI_1) unicast_peer 192.168.0.92/24: keepalived drops the prefix length '/24'"],
    ['state-slave.conf', 3, "(VI_1) unknown state 'SLAVE', defaulting to BACKUP as keepalived does"],
    ['dr-port-mismatch.conf', 5, 'real_server 10.0.0.5 port 8080 differs from virtual_server 10.0.0.100:80\'s port with lb_kind DR'],
    ['lb-kind-nat-lowercase.conf', 5, "lb_kind 'nat': keepalived knows only NAT, DR and TUN in capitals"],
    ['notify-master-thrice.conf', 6, "(VI_1) notify_master is given again; keepalived keeps the first one ('/usr/bin/true one')"],
    ['notify-master-thrice.conf', 7, 'ignoring /usr/bin/true three'],
    ['smtp-server-name.conf', 8, 'smtp_connect_timeout 0: keepalived uses 1 second'],
  ];
  test.each(cases)('%s: exit 0, warning at line %i', (f, line, fragment) => {
    const { code, out } = hakeepT(f);
    expect(code, out).toBe(0);
    has(out, f, line, 'warning', fragment);
  }, 60_000);

  test('smtp-server-name.conf: smtp_server localhost resolves (a note, no warning)', () => {
    const { code, out } = hakeepT('smtp-server-name.conf');
    expect(code, out).toBe(0);
    expect(out).not.toMatch(/smtp-server-name\.conf:7: warning/);
  }, 60_000);

  test('refused/lb-kind-dr-lowercase.conf: exit 4, the error names what keepalived runs and both fixes', () => {
    const f = 'refused/lb-kind-dr-lowercase.conf';
    const { code, out } = hakeepT(f);
    expect(code, out).toBe(4);
    has(out, f, 6, 'error', "lb_kind 'dr' is not valid (keepalived is case-sensitive: NAT, DR or TUN): keepalived reports \"PARSER : unknown [dr] routing method for virtual server.\" and runs this virtual server with keepalived's default");
    has(out, f, 6, 'error', 'write lb_kind DR for what this line says, or lb_kind NAT for what keepalived runs');
  }, 60_000);
});
