// The unit and the installer without a running systemd: scripts/install.sh staged with --destdir
// (the same build as a real install: the clone's sources compiled, the addon and the production
// dependencies copied), then `systemd-analyze verify` on the unit it installed. verify checks that
// ExecStart= and friends are executables, so the staged unit is verified with its /usr/sbin/hakeep
// pointing at the staged wrapper; everything else is the file as installed. An existing
// keepalived.conf in the staged /etc/hakeep must come out untouched.
// Under a real systemd (PID 1 in User Mode Linux): test/systemd/systemd-uml.test.ts.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'hk-install-'));
const root = join(dir, 'root');
const MY_CONF = '! the operator\'s own file: install.sh must not touch it\nglobal_defs {\n    router_id mine\n}\n';
let install: ReturnType<typeof spawnSync>;

beforeAll(() => {
  mkdirSync(join(root, 'etc/hakeep'), { recursive: true });
  writeFileSync(join(root, 'etc/hakeep/keepalived.conf'), MY_CONF, { mode: 0o600 });
  install = spawnSync('bash', [join(REPO, 'scripts/install.sh'), '--destdir', root, '--no-apt'], { encoding: 'utf8', timeout: 170_000 });
}, 180_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('scripts/install.sh --destdir', () => {
  it('installs the package, the wrapper, the unit and the settings, and keeps an existing config', () => {
    expect(install.status, `${String(install.stdout)}\n${String(install.stderr)}`).toBe(0);
    for (const f of ['usr/lib/hakeep/bin/hakeep.js', 'usr/lib/hakeep/dist/cli.js', 'usr/lib/hakeep/dist/daemon/systemd.js',
      'usr/lib/hakeep/native/build/Release/hakeep_native.node', 'usr/lib/hakeep/node_modules/pino/package.json',
      'usr/sbin/hakeep', 'etc/systemd/system/hakeep.service', 'etc/hakeep/hakeep.ini']) {
      expect(existsSync(join(root, f)), f).toBe(true);
    }
    // Production dependencies only.
    expect(existsSync(join(root, 'usr/lib/hakeep/node_modules/vitest')), 'vitest is a devDependency').toBe(false);
    expect(existsSync(join(root, 'usr/lib/hakeep/node_modules/typescript'))).toBe(false);
    const wrapper = readFileSync(join(root, 'usr/sbin/hakeep'), 'utf8');
    expect(wrapper).toMatch(/^exec \/\S*node \/usr\/lib\/hakeep\/bin\/hakeep\.js "\$@"$/m);
    expect(statSync(join(root, 'usr/sbin/hakeep')).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(root, 'etc/hakeep/keepalived.conf'), 'utf8')).toBe(MY_CONF);
    expect(statSync(join(root, 'etc/hakeep/keepalived.conf')).mode & 0o777).toBe(0o600);
    expect(String(install.stdout)).toMatch(/kept .*etc\/hakeep\/keepalived\.conf \(exists\)/);
    expect(readFileSync(join(root, 'etc/hakeep/hakeep.ini'), 'utf8')).toMatch(/^format = text$/m);
    expect(readFileSync(join(root, 'etc/systemd/system/hakeep.service'), 'utf8')).toBe(readFileSync(join(REPO, 'examples/hakeep.service'), 'utf8'));
  });

  it('the staged hakeep runs: --version, and -t on the operator\'s config', () => {
    const v = spawnSync('node', [join(root, 'usr/lib/hakeep/bin/hakeep.js'), '--version'], { encoding: 'utf8' });
    expect(v.status, v.stderr).toBe(0);
    const t = spawnSync('node', [join(root, 'usr/lib/hakeep/bin/hakeep.js'), '-t', '-f', join(root, 'etc/hakeep/keepalived.conf')], { encoding: 'utf8' });
    expect(t.status, t.stderr).toBe(0);
    expect(t.stderr).toMatch(/configuration OK/);
  });
});

describe('systemd-analyze verify', () => {
  it('passes on the installed unit, with nothing to say', () => {
    const which = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
    if (which.error) throw new Error(`systemd-analyze is needed for this test: apt-get install -y systemd (${which.error.message})`);
    const unit = readFileSync(join(root, 'etc/systemd/system/hakeep.service'), 'utf8');
    expect(unit).toMatch(/^Type=notify$/m);
    expect(unit).toMatch(/^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    expect(unit).toMatch(/^WatchdogSec=\S+$/m);
    const vdir = join(dir, 'verify');
    mkdirSync(vdir);
    const path = join(vdir, 'hakeep.service');
    writeFileSync(path, unit.replaceAll('/usr/sbin/hakeep', join(root, 'usr/sbin/hakeep')));
    const r = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8' });
    // Unknown keys and bad values are warnings with exit 0: any output is a failure.
    expect({ status: r.status, out: `${r.stdout}${r.stderr}`.trim() }).toEqual({ status: 0, out: '' });
  });

  it('catches a broken unit (the check is not empty)', () => {
    const path = join(dir, 'verify', 'broken.service');
    writeFileSync(path, '[Service]\nType=notify\nWatchdogSecs=5\nExecStart=/bin/true\n');
    const r = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toMatch(/Unknown key 'WatchdogSecs'/);
  });
});
