// The status socket: a Unix stream socket that answers every connection with one JSON document
// (the same status model the services expose) and closes. `hakeep status` reads it.
import { mkdirSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from './log.js';

export type StatusSource = () => unknown;

/** Is a live daemon already answering on this path? (A stale socket file refuses connections.) */
function probe(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
}

export async function serveStatus(path: string, source: StatusSource, log: Logger): Promise<Server | null> {
  try {
    mkdirSync(dirname(path), { recursive: true });
    if (await probe(path)) {
      log.warn({ statusSocket: path }, `status socket ${path} is in use by another hakeep; this one serves no status socket (set [daemon] status_socket or --status-socket)`);
      return null;
    }
    try { unlinkSync(path); } catch { /* no stale socket */ }
    const server = createServer((conn) => {
      let body: string;
      try {
        body = JSON.stringify(source(), null, 2);
      } catch (e) {
        body = JSON.stringify({ error: String(e) });
      }
      conn.end(`${body}\n`);
      conn.on('error', () => { /* client went away */ });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => { server.off('error', reject); resolve(); });
    });
    server.on('error', (e) => log.warn({ statusSocket: path }, `status socket error: ${e.message}`));
    return server;
  } catch (e) {
    // Status is for humans and tests; VRRP must run without it.
    log.warn({ statusSocket: path }, `cannot serve status on ${path}: ${(e as Error).message}`);
    return null;
  }
}

export function closeStatus(server: Server | null, path: string): void {
  if (!server) return;
  server.close();
  try { unlinkSync(path); } catch { /* gone */ }
}

/** Client side, for `hakeep status`. */
export function readStatus(path: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = createConnection(path);
    let data = '';
    const timer = setTimeout(() => { c.destroy(); reject(new Error(`no answer from ${path} within ${timeoutMs} ms`)); }, timeoutMs);
    c.setEncoding('utf8');
    c.on('data', (d: string) => { data += d; });
    c.on('end', () => { clearTimeout(timer); resolve(data); });
    c.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? 'is hakeep running? (check [daemon] status_socket / --status-socket)' : e.message;
      reject(new Error(`cannot read status from ${path}: ${why}`));
    });
  });
}
