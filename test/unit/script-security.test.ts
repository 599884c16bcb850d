// keepalived's script checks (lib/notify.c check_script_secure/check_security/find_path) on real
// files: ownership and modes are set with chown/chmod in a private temp directory (needs root).
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkScriptSecurity, isExecutable, searchPath } from '../../src/script/security.js';

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

describe('isExecutable (lib/notify.c:373-381)', () => {
  const st = (mode: number, uid = 1000, gid = 1000) => ({ mode: 0o100000 | mode, uid, gid });
  it.each([
    // mode, file uid, file gid, run uid, run gid, expected
    [0o700, 1000, 1000, 0, 0, true], // root: any x bit
    [0o001, 1000, 1000, 0, 0, true],
    [0o644, 1000, 1000, 0, 0, false],
    [0o100, 1000, 1000, 1000, 5, true], // owner: u+x only
    [0o011, 1000, 1000, 1000, 1000, false],
    [0o010, 1000, 1000, 2000, 1000, true], // group
    [0o001, 1000, 1000, 2000, 1000, false], // in the group: o+x does not count
    [0o001, 1000, 1000, 2000, 3000, true], // others
  ])('mode %o file %i:%i as %i:%i → %s', (mode, fu, fg, uid, gid, want) => {
    expect(isExecutable(st(mode, fu, fg), uid, gid)).toBe(want);
  });
});

describe('checkScriptSecurity', () => {
  // A missing prerequisite fails the run; it never skips.
  beforeAll(() => { if (!isRoot) throw new Error('these tests need root (they chown files to other users): run the tests as root, as CI does'); });
  let dir = '';
  const script = (p: string, mode = 0o755): string => {
    writeFileSync(p, '#!/bin/sh\nexit 0\n');
    chmodSync(p, mode);
    return p;
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hk-sec-'));
    chmodSync(dir, 0o755);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts a root-owned script in root-owned, non-writable directories', () => {
    const p = script(join(dir, 'ok.sh'));
    expect(checkScriptSecurity(p, 0)).toEqual({ ok: true, path: p, searched: false, checked: true });
  });

  it('refuses a world-writable directory on the path, naming it, and accepts it once fixed', () => {
    const w = join(dir, 'ww');
    mkdirSync(w);
    chmodSync(w, 0o777);
    const p = script(join(w, 'check.sh'));
    expect(checkScriptSecurity(p, 0)).toMatchObject({ ok: false, problem: 'unsafe', unsafePath: w, why: expect.stringMatching(/world-writable/) });
    chmodSync(w, 0o1777); // sticky: allowed (lib/notify.c:677-678)
    expect(checkScriptSecurity(p, 0)).toMatchObject({ ok: true });
    chmodSync(w, 0o755);
    expect(checkScriptSecurity(p, 0)).toMatchObject({ ok: true, checked: true });
  });

  it('refuses a file writable by a non-root group or owned by a non-root user', () => {
    const g = script(join(dir, 'g.sh'), 0o775);
    chownSync(g, 0, NOBODY);
    expect(checkScriptSecurity(g, 0)).toMatchObject({ ok: false, problem: 'unsafe', unsafePath: g, why: `is writable by group ${NOBODY}` });
    chownSync(g, 0, 0); // group root may write
    expect(checkScriptSecurity(g, 0)).toMatchObject({ ok: true });
    const o = script(join(dir, 'o.sh'));
    chownSync(o, NOBODY, 0);
    expect(checkScriptSecurity(o, 0)).toMatchObject({ ok: false, problem: 'unsafe', unsafePath: o, why: `is owned by uid ${NOBODY}, not root` });
  });

  it('does not apply the rule to a script run as a non-root user (lib/notify.c:826-832), unless it is set-uid root', () => {
    const w = join(dir, 'ww2');
    mkdirSync(w);
    chmodSync(w, 0o777);
    const p = script(join(w, 'user.sh'));
    expect(checkScriptSecurity(p, NOBODY, { gid: NOBODY })).toMatchObject({ ok: true, checked: false });
    expect(checkScriptSecurity(p, NOBODY, { gid: 0 })).toMatchObject({ ok: false, problem: 'unsafe', unsafePath: w });
    chmodSync(p, 0o4755);
    expect(checkScriptSecurity(p, NOBODY, { gid: NOBODY })).toMatchObject({ ok: false, problem: 'unsafe', unsafePath: w });
  });

  it('follows symlinks: the target and the directories on its way are checked', () => {
    const bad = join(dir, 'bad');
    mkdirSync(bad);
    chmodSync(bad, 0o777);
    const target = script(join(bad, 'real.sh'));
    const link = join(dir, 'link.sh');
    symlinkSync(target, link);
    expect(checkScriptSecurity(link, 0)).toMatchObject({ ok: false, problem: 'unsafe', unsafePath: bad, path: target });
    // A link to a directory on the way
    const dlink = join(dir, 'dlink');
    symlinkSync(bad, dlink);
    expect(checkScriptSecurity(join(dlink, 'real.sh'), 0)).toMatchObject({ ok: false, unsafePath: bad });
  });

  it('keeps a renaming symlink\'s name when it resolves in the same directory (python3 → python3.11)', () => {
    const real = script(join(dir, 'tool-1.0'));
    symlinkSync('tool-1.0', join(dir, 'tool'));
    expect(checkScriptSecurity(join(dir, 'tool'), 0)).toEqual({ ok: true, path: join(dir, 'tool'), searched: false, checked: true });
    expect(real).toBe(join(dir, 'tool-1.0'));
  });

  it('reports missing, non-executable and wrong-type scripts whatever the security setting', () => {
    expect(checkScriptSecurity(join(dir, 'missing.sh'), 0)).toMatchObject({ ok: false, problem: 'not-found', why: 'not found' });
    const ne = script(join(dir, 'ne.sh'), 0o644);
    expect(checkScriptSecurity(ne, 0)).toMatchObject({ ok: false, problem: 'not-executable' });
    const onlyOwner = script(join(dir, 'oo.sh'), 0o700);
    expect(checkScriptSecurity(onlyOwner, NOBODY, { gid: NOBODY })).toMatchObject({ ok: false, problem: 'not-executable', why: `not executable for uid:gid ${NOBODY}:${NOBODY}` });
    const d = join(dir, 'adir');
    mkdirSync(d);
    expect(checkScriptSecurity(d, 0)).toMatchObject({ ok: false, problem: 'wrong-type', unsafePath: d });
  });

  it('searches PATH for a bare name like execvp and returns the full path', () => {
    const a = join(dir, 'pa');
    const b = join(dir, 'pb');
    mkdirSync(a);
    mkdirSync(b);
    script(join(a, 'hkprog'), 0o644); // first match not executable: skipped
    script(join(b, 'hkprog'));
    expect(checkScriptSecurity('hkprog', 0, { searchPath: `${join(dir, 'nope')}:${a}:${b}` }))
      .toEqual({ ok: true, path: join(b, 'hkprog'), searched: true, checked: true });
    expect(searchPath('hkprog', 0, 0, a)).toEqual({ ok: false, eacces: true });
    expect(checkScriptSecurity('hkprog', 0, { searchPath: a })).toMatchObject({ ok: false, problem: 'not-executable' });
    expect(checkScriptSecurity('no-such-prog-hk', 0, { searchPath: '/usr/bin:/bin' })).toMatchObject({ ok: false, problem: 'not-found', why: 'not found in PATH' });
    // /bin/sh is a link to dash on Debian: the name stays sh
    const sh = checkScriptSecurity('sh', 0, { searchPath: '/usr/bin:/bin' });
    expect(sh).toMatchObject({ ok: true, searched: true });
    expect(sh.ok && sh.path.endsWith('/sh')).toBe(true);
  });
});
