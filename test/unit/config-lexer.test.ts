import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { loadConfig, parseConfigText } from '../../src/config/index.js';
import { expandBraces } from '../../src/config/glob.js';

const dir = mkdtempSync(join(tmpdir(), 'hakeep-lex-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const errors = (r: ReturnType<typeof parseConfigText>) => r.diagnostics.filter((d) => d.severity === 'error');

const INSTANCE = (body: string) => `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
${body}
}`;

describe('lexing keepalived.conf', () => {
  test('! and # comments anywhere, but not inside quotes', () => {
    const r = parseConfigText(`! a comment
# another
vrrp_instance VI_1 { # trailing
  interface eth0 ! here too
  virtual_router_id 51
  priority 120   # comment after a value
  notify_master "/bin/echo #not-a-comment !nor-this"
  virtual_ipaddress {
    10.0.0.1
  }
}`);
    expect(errors(r)).toEqual([]);
    const inst = r.config.vrrpInstances[0]!;
    expect(inst.priority).toBe(120);
    expect(inst.interface).toBe('eth0');
    expect(inst.notifyMaster?.command).toBe('/bin/echo #not-a-comment !nor-this');
  });

  test('{ on the next line, } on the same line as the last statement, one-line blocks', () => {
    const r = parseConfigText(`vrrp_instance VI_1
{
  interface eth0
  virtual_router_id 51
  authentication { auth_type PASS
    auth_pass secret }
  virtual_ipaddress
  {
    10.0.0.1/24 }
}`);
    expect(errors(r)).toEqual([]);
    const inst = r.config.vrrpInstances[0]!;
    expect(inst.authType).toBe('PASS');
    expect(inst.authPass).toBe('secret');
    expect(inst.virtualIpaddress.map((v) => `${v.address}/${v.prefixLen}`)).toEqual(['10.0.0.1/24']);
  });

  test('single- and double-quoted strings keep a script and its arguments together', () => {
    const r = parseConfigText(INSTANCE(`  notify_master "/usr/local/bin/notify.sh master 'two words'" root
  notify_backup '/usr/local/bin/notify.sh backup "x y"'
  virtual_ipaddress { 10.0.0.1 }`));
    const inst = r.config.vrrpInstances[0]!;
    expect(inst.notifyMaster).toEqual({ command: "/usr/local/bin/notify.sh master 'two words'", user: 'root' });
    expect(inst.notifyBackup).toEqual({ command: '/usr/local/bin/notify.sh backup "x y"', user: null });
  });

  test('an unterminated quote is an error at its line', () => {
    const r = parseConfigText(INSTANCE('  notify_master "/bin/true\n  virtual_ipaddress { 10.0.0.1 }'), 'q.conf');
    expect(errors(r)).toContainEqual(expect.objectContaining({ file: 'q.conf', line: 4, message: expect.stringContaining('unterminated double-quoted string') }));
  });

  test('$NAME=value definitions, $NAME and ${NAME} substitution, \\ continuation lines', () => {
    const r = parseConfigText(`$IFACE=eth7
$PRIO=150
vrrp_instance VI_1 {
  interface $IFACE
  virtual_router_id 51
  priority \${PRIO}
  virtual_ipaddress {
    10.0.0.1 \\
      dev $IFACE
  }
}`);
    expect(errors(r)).toEqual([]);
    const inst = r.config.vrrpInstances[0]!;
    expect(inst.interface).toBe('eth7');
    expect(inst.priority).toBe(150);
    expect(inst.virtualIpaddress[0]!.dev).toBe('eth7');
  });

  test('@id / @^id conditional lines follow the config id', () => {
    const text = INSTANCE(`@high  priority 170
@low   priority 85
@^high advert_int 3
  virtual_ipaddress { 10.0.0.1 }`);
    const high = parseConfigText(text, 'c.conf', { configId: 'high' }).config.vrrpInstances[0]!;
    const low = parseConfigText(text, 'c.conf', { configId: 'low' }).config.vrrpInstances[0]!;
    expect([high.priority, high.advertInt]).toEqual([170, 1]);
    expect([low.priority, low.advertInt]).toEqual([85, 3]);
  });

  test('include: globs, braces, relative to the including file, nested; tokens keep their own file:line', () => {
    mkdirSync(join(dir, 'conf.d', 'inner'), { recursive: true });
    writeFileSync(join(dir, 'main.conf'), 'global_defs {\n  router_id main\n}\ninclude conf.d/*.conf\n');
    writeFileSync(join(dir, 'conf.d', 'a.conf'), INSTANCE('  virtual_ipaddress { 10.0.0.1 }\n  include inner/{x,y}.inc'));
    writeFileSync(join(dir, 'conf.d', 'inner', 'x.inc'), '  priority 140\n');
    writeFileSync(join(dir, 'conf.d', 'inner', 'y.inc'), '\n\n  bogus_keyword 1\n');
    const r = loadConfig(join(dir, 'main.conf'));
    expect(errors(r)).toEqual([]);
    expect(r.config.globalDefs.routerId).toBe('main');
    expect(r.config.vrrpInstances[0]!.priority).toBe(140);
    expect(r.diagnostics).toContainEqual(expect.objectContaining({
      severity: 'warning', file: join(dir, 'conf.d', 'inner', 'y.inc'), line: 3,
      message: expect.stringContaining("Unknown keyword 'bogus_keyword'"),
    }));
  });

  test('an include loop is reported, not followed forever', () => {
    writeFileSync(join(dir, 'loop-a.conf'), 'include loop-b.conf\n');
    writeFileSync(join(dir, 'loop-b.conf'), 'include loop-a.conf\n');
    const r = loadConfig(join(dir, 'loop-a.conf'));
    expect(errors(r)).toContainEqual(expect.objectContaining({ message: expect.stringContaining('include loop') }));
  });

  test('an include that matches nothing is a warning at the include line', () => {
    writeFileSync(join(dir, 'missing.conf'), '\ninclude nothing-here/*.conf\n');
    const r = loadConfig(join(dir, 'missing.conf'));
    expect(r.diagnostics).toContainEqual(expect.objectContaining({ severity: 'warning', line: 2, message: expect.stringContaining('matches no file') }));
  });

  test('csh brace expansion', () => {
    expect(expandBraces('/a/{b,c{d,e}}/f')).toEqual(['/a/b/f', '/a/cd/f', '/a/ce/f']);
    expect(expandBraces('/a/{b}/f')).toEqual(['/a/{b}/f']);
  });

  test('a missing main file is a clear error', () => {
    expect(() => loadConfig(join(dir, 'does-not-exist.conf'))).toThrow(/cannot read configuration file: no such file/);
  });
});
