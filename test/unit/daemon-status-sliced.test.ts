// The status socket writes a large answer in slices, one per event-loop turn (status.ts
// writeSliced), so that a 2.5 MB status at 10,000 real servers never holds the VRRP loop for one
// long copy-and-encode. Checked over a real Unix socket: the text arrives exactly (non-BMP
// characters straddling the slice boundaries included), and only one slice is written before
// writeSliced returns; then a whole status answer, with a raw checker text spliced in, through
// serveStatus.
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/daemon/log.js';
import { withRawTail } from '../../src/daemon/raw-json.js';
import { closeStatus, request, serveStatus, writeSliced, WRITE_SLICE } from '../../src/daemon/status.js';

const dir = mkdtempSync(join(tmpdir(), 'hakeep-sliced-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('status answers written in slices', () => {
  it('arrive exactly, one slice written before the call returns', async () => {
    // ~1 MB with a surrogate pair across every slice boundary, and text of several byte widths.
    let text = '';
    while (text.length < 16 * WRITE_SLICE) {
      text += 'x'.repeat(WRITE_SLICE - 1 - (text.length % WRITE_SLICE)) + '\u{1F600}é€';
    }
    const parts = [text.slice(0, 1000), text.slice(1000, 5 * WRITE_SLICE + 3), text.slice(5 * WRITE_SLICE + 3)];
    const path = join(dir, 'a.sock');
    let queuedAtReturn = -1;
    const server = createServer((conn: Socket) => {
      writeSliced(conn, parts);
      queuedAtReturn = conn.writableLength + conn.bytesWritten;
    });
    await new Promise<void>((r) => server.listen(path, () => r()));
    try {
      const got = await new Promise<string>((resolve, reject) => {
        const c = createConnection(path);
        const chunks: Buffer[] = [];
        c.on('data', (d: Buffer) => chunks.push(d));
        c.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        c.on('error', reject);
      });
      expect(got.length).toBe(text.length);
      expect(got === text).toBe(true);
      expect(queuedAtReturn).toBeGreaterThan(0);
      // One slice: at most WRITE_SLICE characters, at most 3 bytes each in UTF-8.
      expect(queuedAtReturn).toBeLessThanOrEqual(3 * WRITE_SLICE);
    } finally {
      server.close();
    }
  });

  it('a whole status answer with a 1 MB raw checker text reads back as JSON', async () => {
    const rs = Array.from({ length: 20_000 }, (_, i) => ({ rs: `[10.1.${i >> 8}.${i & 255}]:tcp:80`, alive: i % 3 !== 0, note: 'ünïcode \u{1F600}' }));
    const json = JSON.stringify({ virtualServers: [{ vs: '[10.0.0.1]:tcp:80', realServers: rs }] });
    expect(json.length).toBeGreaterThan(1_000_000);
    const check = withRawTail({ name: 'check', health: { ok: true } }, { json, keys: ['virtualServers'] });
    const path = join(dir, 'status.sock');
    const srv = await serveStatus(path, () => ({ version: 't', services: { check } }), silentLogger(), undefined, { credListen: null });
    try {
      const answer = await request(path, 'status', 20_000);
      const doc = JSON.parse(answer) as { daemonClock: unknown; services: { check: { name: string; health: unknown; virtualServers: unknown } } };
      expect(doc.services.check.name).toBe('check');
      expect(doc.services.check.health).toEqual({ ok: true });
      expect(doc.services.check.virtualServers).toEqual(JSON.parse(json).virtualServers);
      expect(doc.daemonClock).toBeDefined();
      expect(answer.endsWith('}\n')).toBe(true);
    } finally {
      closeStatus(srv, path);
    }
  });
});
