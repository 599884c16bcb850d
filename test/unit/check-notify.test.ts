import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lookupUser, runScript } from '../../src/check/notify.js';

const PASSWD = 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n';
const GROUP = 'root:x:0:\nnogroup:x:65534:\nadm:x:4:\n';

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('notify scripts', () => {
  it('runs the command line through /bin/sh -c without waiting for it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hku-notify-'));
    const out = join(dir, 'out');
    const t0 = Date.now();
    runScript({ command: `sleep 0.3; echo "up $((1+1))" > ${out}`, user: null }, 'notify_up', () => undefined);
    expect(Date.now() - t0).toBeLessThan(200);
    expect(existsSync(out)).toBe(false);
    await waitFor(() => existsSync(out) && readFileSync(out, 'utf8') !== '');
    expect(readFileSync(out, 'utf8')).toBe('up 2\n');
  });

  it('logs a script it cannot run as that user', () => {
    const logs: string[] = [];
    runScript({ command: 'true', user: 'no-such-user-hku' }, 'notify_down', (_l, msg) => logs.push(msg));
    expect(logs).toEqual(['notify_down script "true": unknown user "no-such-user-hku"; not run']);
  });

  it('looks up user and group ids', () => {
    expect(lookupUser('nobody', PASSWD, GROUP)).toEqual({ uid: 65534, gid: 65534 });
    expect(lookupUser('nobody:adm', PASSWD, GROUP)).toEqual({ uid: 65534, gid: 4 });
    expect(lookupUser('nobody adm', PASSWD, GROUP)).toEqual({ uid: 65534, gid: 4 });
    expect(lookupUser('ghost', PASSWD, GROUP)).toBeNull();
    expect(lookupUser('nobody:ghosts', PASSWD, GROUP)).toBeNull();
  });
});
