import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseArgs, UsageError } from '../../src/cli-args.js';
import { settingsFromIni, SettingsError } from '../../src/daemon/settings.js';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '../..');
const BIN = join(ROOT, 'bin/hakeep.js');
const dir = mkdtempSync(join(tmpdir(), 'hakeep-cli-'));

async function hakeep(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist/cli.js'))) throw new Error('dist/ is not built: run `npm run build` (npm test does it)');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('command-line parsing', () => {
  test('keepalived flag spellings', () => {
    expect(parseArgs(['-f', 'a.conf']).configFile).toBe('a.conf');
    expect(parseArgs(['-fa.conf']).configFile).toBe('a.conf');
    expect(parseArgs(['--use-file=a.conf']).configFile).toBe('a.conf');
    expect(parseArgs(['--use-file', 'a.conf']).configFile).toBe('a.conf');
    const t = parseArgs(['-tb.conf']);
    expect([t.configTest, t.configFile]).toEqual([true, 'b.conf']);
    expect(parseArgs(['--config-test=c.conf']).configFile).toBe('c.conf');
    const b = parseArgs(['-nlD', '-P', '-i', 'lb1', '-p', '/run/x.pid']);
    expect(b).toMatchObject({ logDetail: true, vrrpOnly: true, configId: 'lb1', pidFile: '/run/x.pid' });
    expect(parseArgs(['-C']).checkOnly).toBe(true);
    expect(parseArgs(['-S', '7', '-G', '-R', '-r', 'x', '-c', 'y']).ignored).toEqual(['-S', '-G', '-R', '-r', '-c']);
  });

  test('bad flags are usage errors that say what to do', () => {
    expect(() => parseArgs(['-Z'])).toThrow(UsageError);
    expect(() => parseArgs(['-f'])).toThrow('-f needs a value');
    expect(() => parseArgs(['-P', '-C'])).toThrow('exclude each other');
    expect(() => parseArgs(['--log-format', 'xml'])).toThrow('use json or text');
  });
});

describe('hakeep.ini settings', () => {
  test('values and defaults', () => {
    const s = settingsFromIni('[log]\nlevel = debug\nformat = text\n[daemon]\npid_file = /tmp/h.pid\n[metrics]\nlisten = 127.0.0.1:9650\n');
    expect(s).toMatchObject({ logLevel: 'debug', logFormat: 'text', pidFile: '/tmp/h.pid', metricsListen: '127.0.0.1:9650' });
    expect(settingsFromIni('').logFormat).toBe('json');
  });
  test('bad values name the file and the key', () => {
    expect(() => settingsFromIni('[log]\nlevel = loud\n', '/etc/hakeep/hakeep.ini')).toThrow(SettingsError);
    expect(() => settingsFromIni('[log]\nlevel = loud\n', '/etc/hakeep/hakeep.ini')).toThrow('/etc/hakeep/hakeep.ini: [log] level = loud');
  });
  test('the shipped example parses', async () => {
    const { readFileSync } = await import('node:fs');
    expect(settingsFromIni(readFileSync(join(ROOT, 'examples/hakeep.ini'), 'utf8')).logLevel).toBe('info');
  });
});

describe('hakeep binary', () => {
  test('--version and --help', async () => {
    const v = await hakeep('--version');
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^hakeep v\d+\.\d+\.\d+/);
    const h = await hakeep('--help');
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('--config-test');
  });

  test('-t exits 0 on a valid config and 4 on errors, listing each as file:line', async () => {
    const good = join(dir, 'good.conf');
    writeFileSync(good, 'vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  virtual_ipaddress { 10.0.0.1/24 }\n}\n');
    const ok = await hakeep('-t', '-f', good);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toContain('configuration OK');

    const bad = join(dir, 'bad.conf');
    writeFileSync(bad, 'vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 300\n  priority 0\n  virtual_ipaddress { 10.0.0.1/24 }\n}\n');
    const ko = await hakeep('-t', '-f', bad);
    expect(ko.code).toBe(4);
    expect(ko.stderr).toContain(`${bad}:3: virtual_router_id 300 is out of range; use 1-255`);
    // keepalived runs priority 0 as 100 ("Using default 100"): a warning, as keepalived.
    expect(ko.stderr).toContain(`${bad}:4: warning: (VI_1) priority '0' is out of range (1 to 255)`);
    expect(ko.stderr).toContain('1 error(s)');
  });

  test('-t on a missing file exits 4 with a clear message', async () => {
    const r = await hakeep('-t', '-f', join(dir, 'nope.conf'));
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('cannot read configuration file: no such file');
  });

  test('-d prints the normalized model as JSON', async () => {
    const f = join(dir, 'dump.conf');
    writeFileSync(f, 'virtual_server 10.0.0.100 80 {\n  protocol TCP\n  real_server 10.0.0.5 80 {\n    TCP_CHECK {\n    }\n  }\n}\n');
    const r = await hakeep('-d', '-f', f);
    expect(r.code, r.stderr).toBe(0);
    const model = JSON.parse(r.stdout) as { virtualServers: { lbAlgo: string; realServers: { checkers: { connectTimeout: number }[] }[] }[] };
    expect(model.virtualServers[0]!.lbAlgo).toBe('wlc');
    expect(model.virtualServers[0]!.realServers[0]!.checkers[0]!.connectTimeout).toBe(5);
  });

  test('the daemon refuses to start on a config with errors (exit 4), naming the fix', async () => {
    const bad = join(dir, 'bad2.conf');
    writeFileSync(bad, 'vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 0\n}\n');
    const r = await hakeep('-n', '-f', bad, '--log-format', 'text', '-p', join(dir, 'x.pid'));
    expect(r.code).toBe(4);
    expect(r.stdout).toContain('not starting. Run hakeep -t');
  });

  test('the daemon serves its status on a Unix socket, `hakeep status` reads it, SIGTERM exits 0', async () => {
    const { spawn } = await import('node:child_process');
    const f = join(dir, 'idle.conf');
    writeFileSync(f, 'global_defs {\n  router_id idle\n}\n');
    const sock = join(dir, 'status.sock');
    const pid = join(dir, 'idle.pid');
    const child = spawn(process.execPath, [BIN, '-n', '-f', f, '--log-format', 'text', '-p', pid, '--status-socket', sock], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    try {
      const deadline = Date.now() + 10_000;
      while (!existsSync(sock)) {
        if (Date.now() > deadline) throw new Error(`no status socket after 10 s; daemon output:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const st = await hakeep('status', '--json', '--status-socket', sock);
      expect(st.code, st.stderr).toBe(0);
      const doc = JSON.parse(st.stdout) as { schemaVersion: number; pid: number; configFile: string; services: Record<string, unknown> };
      expect(doc.schemaVersion).toBe(1);
      expect(doc.pid).toBe(child.pid);
      expect(doc.configFile).toBe(f);
      const table = await hakeep('status', '--status-socket', sock);
      expect(table.code, table.stderr).toBe(0);
      expect(table.stdout).toContain(`pid ${child.pid}`);
      expect(table.stdout).toContain('Health: OK (exit 0)');
      expect(existsSync(pid)).toBe(true);
    } finally {
      child.kill('SIGTERM');
    }
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code, out).toBe(0);
    expect(out).toContain('Starting hakeep v');
    expect(out).toContain('Stopped hakeep v');
    expect(existsSync(pid)).toBe(false);
    expect(existsSync(sock)).toBe(false);
    const gone = await hakeep('status', '--status-socket', sock);
    expect(gone.code).toBe(3);
    expect(gone.stderr).toContain('is hakeep running?');
  });

  test('an unknown option exits 3', async () => {
    const r = await hakeep('--frobnicate');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('unknown option --frobnicate');
  });

  test('every examples/*.conf passes -t with no errors', async () => {
    const confs = readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.conf'));
    expect(confs.length).toBeGreaterThan(0);
    for (const c of confs) {
      const r = await hakeep('-t', '-f', join(ROOT, 'examples', c));
      expect(r.code, `${c}:\n${r.stderr}`).toBe(0);
    }
  });
});

describe('runtime commands and IPVS flags', () => {
  test('hakeep rs drain|enable VS RS, and -I/--dont-release-ipvs', () => {
    expect(parseArgs(['rs', 'drain', '10.0.0.100:80', '10.0.0.2:80']).rsCommand).toEqual({ action: 'drain', vs: '10.0.0.100:80', rs: '10.0.0.2:80' });
    expect(parseArgs(['rs', 'enable', 'fwmark:7', '10.0.0.2:0', '--status-socket', '/tmp/s']).rsCommand).toMatchObject({ action: 'enable' });
    expect(() => parseArgs(['rs', 'pause', 'a', 'b'])).toThrow(/usage: hakeep rs drain\|enable VS RS/);
    expect(parseArgs(['-I']).dontReleaseIpvs).toBe(true);
    expect(parseArgs(['--dont-release-ipvs']).ignored).toEqual([]);
  });
});

describe('--signum (keepalived\'s signal numbers)', () => {
  test('prints the same number as keepalived 2.2.7 for every signal function', async () => {
    const ka = await run('keepalived', ['--version']).catch(() => null);
    if (ka === null) throw new Error('keepalived is missing: apt-get install -y keepalived (the reference for --signum)');
    for (const name of ['STOP', 'RELOAD', 'DATA', 'STATS', 'STATS_CLEAR', 'JSON']) {
      const ours = await hakeep(`--signum=${name}`);
      const theirs = await run('keepalived', [`--signum=${name}`]);
      expect(ours.code, name).toBe(0);
      expect(ours.stdout, name).toBe(theirs.stdout);
    }
    const bad = await hakeep('--signum=NOPE');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('Unknown sigfunc NOPE\n');
  });
});

describe('hakeep cleanup', () => {
  test('refuses while a hakeep is alive on the pid file, and does nothing when the VIPs are not here', async () => {
    const conf = join(dir, 'cleanup.conf');
    writeFileSync(conf, 'vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  virtual_ipaddress {\n    10.254.254.254/32\n  }\n}\n');
    // A pid file naming a live process whose command line contains "hakeep".
    const { spawn } = await import('node:child_process');
    const fake = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)', 'hakeep-test'], { stdio: 'ignore' });
    try {
      const pidFile = join(dir, 'live.pid');
      writeFileSync(pidFile, `${fake.pid}\n`);
      const r = await hakeep('cleanup', '-f', conf, '-p', pidFile);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/hakeep is running \(pid \d+, .*live\.pid\); not removing its VIPs/);
    } finally {
      fake.kill('SIGKILL');
    }
    const stale = join(dir, 'stale.pid');
    writeFileSync(stale, '999999\n');
    const r = await hakeep('cleanup', '-f', conf, '-p', stale);
    expect(r).toMatchObject({ code: 0, stderr: '' });
  });
});
