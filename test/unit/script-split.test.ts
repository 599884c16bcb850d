// Script strings split as keepalived 2.2.7 splits them (lib/parser.c alloc_strvec_quoted_escaped),
// checked against a table and, where keepalived and network namespaces are available, against
// keepalived itself: it runs each string as a vrrp_script that records its arguments.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needsShell, shellCommandString, splitCommand } from '../../src/script/split.js';
import { waitFor } from '../fixtures/scripts/build-spawner.js';

const TABLE: Array<[string, string[]]> = [
  ['/bin/true', ['/bin/true']],
  ['  /usr/bin/check   a  b  ', ['/usr/bin/check', 'a', 'b']],
  ['/x "a b" c', ['/x', 'a b', 'c']],
  ["/x 'a b' c", ['/x', 'a b', 'c']],
  ['/x a"b c"d', ['/x', 'ab cd']],
  ["/x \"it's\"", ['/x', "it's"]],
  ["/x 'say \"hi\"'", ['/x', 'say "hi"']],
  ['/x "" \'\' end', ['/x', '', '', 'end']],
  ['/x a\\ b', ['/x', 'a b']],
  ['/x a\\tb', ['/x', 'a\tb']],
  // Escapes work inside single quotes too (unlike sh).
  ["/x 'a\\nb'", ['/x', 'a\nb']],
  ['/x "a\\"b"', ['/x', 'a"b']],
  ['/x \\\\', ['/x', '\\']],
  ['/x \\x41\\x4a', ['/x', 'AJ']],
  // \x takes every following hex digit, keeping the low byte.
  ['/x \\x414', ['/x', '\x14']],
  ['/x \\xg', ['/x', 'xg']],
  ['/x \\101\\0601', ['/x', 'A01']],
  ['/x \\cA\\cz', ['/x', '\x01\x1a']],
  ['/x \\a\\b\\E\\f\\r\\v\\q', ['/x', '\x07\b\x1b\f\r\vq']],
  // A NUL ends the word (keepalived copies words with strndup).
  ['/x a\\0z b', ['/x', 'a', 'b']],
  // Shell metacharacters are plain text: keepalived execve()s the words.
  ['/bin/echo a > /tmp/x; rm -rf $HOME | cat &', ['/bin/echo', 'a', '>', '/tmp/x;', 'rm', '-rf', '$HOME', '|', 'cat', '&']],
  ['/x\ta\nb\rc\fd\ve', ['/x', 'a', 'b', 'c', 'd', 'e']],
  // keepalived's documentation examples
  ['/usr/local/bin/notify.sh', ['/usr/local/bin/notify.sh']],
  ["killall -0 haproxy", ['killall', '-0', 'haproxy']],
  ['</dev/tcp/127.0.0.1/80', ['</dev/tcp/127.0.0.1/80']],
];

describe('splitCommand', () => {
  it.each(TABLE)('%j', (cmd, words) => {
    expect(splitCommand(cmd)).toEqual({ ok: true, args: words });
  });

  it('rejects an unterminated quote, a trailing backslash and an empty command', () => {
    expect(splitCommand('/x "a b')).toMatchObject({ ok: false, error: expect.stringMatching(/missing terminating "/) });
    expect(splitCommand("/x 'a")).toMatchObject({ ok: false, error: expect.stringMatching(/missing terminating '/) });
    expect(splitCommand('/x a\\')).toMatchObject({ ok: false });
    expect(splitCommand('   ')).toEqual({ ok: false, error: 'empty command' });
  });
});

describe('shell use', () => {
  it('is only for the "</file" test (lib/notify.c:715-717)', () => {
    expect(needsShell(['</etc/passwd'])).toBe(true);
    expect(needsShell(['< \t/etc/passwd'])).toBe(true);
    expect(needsShell(['<', '/etc/passwd'])).toBe(false);
    expect(needsShell(['/bin/echo', 'a|b', '>', 'x'])).toBe(false);
    expect(needsShell(['<x'])).toBe(false);
  });

  it('quotes every word but a leading redirection, as cmd_str_r()', () => {
    expect(shellCommandString(['</dev/tcp/h/80', 'a b', 'MASTER'])).toBe("</dev/tcp/h/80 'a b' 'MASTER'");
    expect(shellCommandString(['/bin/x', 'y'])).toBe("'/bin/x' 'y'");
  });
});

// The same strings through real keepalived. Needs root, iproute2 and keepalived; skipped otherwise.
const KA_CASES = TABLE.map(([c]) => c).filter((c) => c.startsWith('/x') && !/[!#\n\r\f\v]/.test(c))
  .concat(["/x a\\tb 'c d' x\\x41y '' e\"f g\"h \\101 \\cA\\q"]);
const canRunKeepalived = process.getuid?.() === 0 && ['/usr/sbin/keepalived', '/sbin/keepalived'].some(existsSync)
  && (() => { try { execFileSync('ip', ['-V']); return true; } catch { return false; } })();

describe('against keepalived 2.2.7', () => {
  // A missing prerequisite fails the run; it never skips.
  beforeAll(() => { if (!canRunKeepalived) throw new Error('needs root, iproute2 and keepalived 2.2.7: apt-get install -y keepalived iproute2 and run as root (scripts/setup.sh installs them)'); });
  const dir = mkdtempSync(join(tmpdir(), 'hk-split-'));
  const ns = `hksplit${process.pid}`;
  afterAll(() => {
    try { execFileSync('ip', ['netns', 'del', ns]); } catch { /* not created */ }
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives every string the same words', async () => {
    chmodSync(dir, 0o755);
    const rec = join(dir, 'argv.sh');
    // Writes each argument as hex, one per line, after the count.
    writeFileSync(rec, '#!/bin/sh\nout=$1; shift\n{ echo $#; for a in "$@"; do printf %s "$a" | od -An -tx1 | tr -d " \\n"; echo; done; } > "$out.$$" && mv "$out.$$" "$out"\n', { mode: 0o755 });
    // First level of keepalived's parsing (the whole config line) must hand over the string as is.
    const quote = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
    const scripts = KA_CASES.map((c, i) => `vrrp_script chk_${i} {\n  script ${quote(c.replace(/^\/x/, `${rec} ${join(dir, `out${i}`)}`))}\n  interval 1\n}\n`);
    const conf = join(dir, 'ka.conf');
    writeFileSync(conf, `global_defs {\n  script_user root\n}\n${scripts.join('')}vrrp_instance VI_1 {\n  state BACKUP\n  interface v0\n  virtual_router_id 51\n  priority 100\n  advert_int 1\n  virtual_ipaddress {\n    10.99.0.1/24\n  }\n  track_script {\n${KA_CASES.map((_, i) => `    chk_${i}\n`).join('')}  }\n}\n`);
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'v0', 'up']);
    const ka = spawn('ip', ['netns', 'exec', ns, 'keepalived', '-n', '-l', '-f', conf,
      '-p', join(dir, 'k.pid'), '-r', join(dir, 'v.pid'), '-c', join(dir, 'c.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let kaLog = '';
    ka.stdout.on('data', (d: Buffer) => { kaLog += String(d); });
    ka.stderr.on('data', (d: Buffer) => { kaLog += String(d); });
    try {
      await waitFor(() => KA_CASES.every((_, i) => existsSync(join(dir, `out${i}`))), 30_000);
      expect(KA_CASES.filter((_, i) => !existsSync(join(dir, `out${i}`))), `strings keepalived did not run; its log:\n${kaLog}`).toEqual([]);
    } finally {
      ka.kill('SIGTERM');
      await waitFor(() => ka.exitCode !== null || ka.signalCode !== null, 5000);
      if (ka.exitCode === null && ka.signalCode === null) ka.kill('SIGKILL');
    }
    KA_CASES.forEach((c, i) => {
      const [count, ...hex] = readFileSync(join(dir, `out${i}`), 'utf8').split('\n');
      const theirs = hex.slice(0, Number(count)).map((h) => Buffer.from(h, 'hex').toString('latin1'));
      const ours = splitCommand(c);
      expect(ours.ok, c).toBe(true);
      expect(ours.ok && ours.args.slice(1), c).toEqual(theirs);
    });
  });
});
