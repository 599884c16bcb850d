// The status socket's request protocol: one line per connection, root-only, and a command written
// late is still a command (it once got the status instead and was dropped).
import { createConnection } from 'node:net';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/daemon/log.js';
import { closeStatus, request, serveStatus } from '../../src/daemon/status.js';

const dir = mkdtempSync(join(tmpdir(), 'hakeep-status-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function slowClient(path: string, delayMs: number, line: string | null): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = createConnection(path);
    let data = '';
    c.setEncoding('utf8');
    c.on('connect', () => setTimeout(() => { if (line === null) c.end(); else c.write(`${line}\n`); }, delayMs));
    c.on('data', (d: string) => { data += d; });
    c.on('end', () => resolve(data));
    c.on('error', reject);
  });
}

describe('status socket', () => {
  it('answers status, commands (even written late), and silent clients that half-close', async () => {
    const path = join(dir, 's.sock');
    const seen: string[][] = [];
    const server = await serveStatus(path, () => ({ hello: 'status' }), silentLogger(), async (words) => {
      seen.push(words);
      return { ok: true, message: `did ${words.join(' ')}` };
    });
    try {
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(JSON.parse(await request(path, 'status'))).toEqual({ hello: 'status' });
      expect(JSON.parse(await request(path, 'rs drain a b'))).toEqual({ ok: true, message: 'did rs drain a b' });
      // A command written 600 ms after connecting is still run as a command.
      expect(JSON.parse(await slowClient(path, 600, 'rs enable a b'))).toEqual({ ok: true, message: 'did rs enable a b' });
      expect(seen).toEqual([['rs', 'drain', 'a', 'b'], ['rs', 'enable', 'a', 'b']]);
      // A client that sends nothing and half-closes gets the status.
      expect(JSON.parse(await slowClient(path, 10, null))).toEqual({ hello: 'status' });
    } finally {
      closeStatus(server, path);
    }
  });
});
