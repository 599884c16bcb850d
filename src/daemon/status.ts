// The status socket: a Unix stream socket, root only (mode 0600). A client sends one request line
// and gets one answer, then the connection closes:
//   `status`                 → the status JSON (the same model the services expose)
//   `rs drain VS RS` / `rs enable VS RS` → `{"ok":…,"message":…}` (see src/daemon/drain.ts)
// A client that sends nothing gets the status when it half-closes (`socat - UNIX-CONNECT:… </dev/null`)
// or after SILENT_CLIENT_MS, as before commands existed.
import { chmodSync, mkdirSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from './log.js';

export type StatusSource = () => unknown;

/** Answers a command line other than `status`; resolves with what to send back. */
export type CommandHandler = (words: string[]) => Promise<{ ok: boolean; message: string }>;

/**
 * How long a client that sends nothing waits before it gets the status anyway (ms). Long enough
 * that a command line written late (a loaded host, or this loop stalled) is never mistaken for a
 * silent client: that once answered `rs drain` with the status and dropped the command. A client
 * that half-closes without a word gets the status at once.
 */
const SILENT_CLIENT_MS = 3000;
const MAX_REQUEST = 4096;

/** Is a live daemon already answering on this path? (A stale socket file refuses connections.) */
function probe(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
}

export async function serveStatus(path: string, source: StatusSource, log: Logger, commands?: CommandHandler): Promise<Server | null> {
  try {
    mkdirSync(dirname(path), { recursive: true });
    if (await probe(path)) {
      log.warn({ statusSocket: path }, `status socket ${path} is in use by another hakeep; this one serves no status socket (set [daemon] status_socket or --status-socket)`);
      return null;
    }
    try { unlinkSync(path); } catch { /* no stale socket */ }
    const statusText = (): string => {
      try {
        return JSON.stringify(source(), null, 2);
      } catch (e) {
        return JSON.stringify({ error: String(e) });
      }
    };
    const server = createServer((conn) => {
      let buf = '';
      let answered = false;
      const answer = (text: string): void => {
        if (answered) return;
        answered = true;
        clearTimeout(silent);
        conn.end(`${text}\n`);
      };
      const silent = setTimeout(() => answer(statusText()), SILENT_CLIENT_MS);
      conn.setEncoding('utf8');
      conn.on('data', (d: string) => {
        if (answered) return;
        buf += d;
        const nl = buf.indexOf('\n');
        if (nl < 0 && buf.length < MAX_REQUEST) return;
        const words = buf.slice(0, nl < 0 ? MAX_REQUEST : nl).trim().split(/\s+/).filter(Boolean);
        if (words.length === 0 || (words.length === 1 && words[0] === 'status')) {
          answer(statusText());
        } else if (!commands) {
          answer(JSON.stringify({ ok: false, message: `unknown command '${words.join(' ')}'` }));
        } else {
          clearTimeout(silent);
          commands(words).then(
            (r) => answer(JSON.stringify(r)),
            (e: unknown) => answer(JSON.stringify({ ok: false, message: (e as Error).message })),
          );
        }
      });
      conn.on('end', () => { if (!answered && buf.trim() === '') answer(statusText()); });
      conn.on('error', () => { clearTimeout(silent); /* client went away */ });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => { server.off('error', reject); resolve(); });
    });
    // Root only: the status shows the topology, and commands change the IPVS table.
    chmodSync(path, 0o600);
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

/** Client side: send one request line, return the answer. */
export function request(path: string, line: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = createConnection(path);
    let data = '';
    const timer = setTimeout(() => { c.destroy(); reject(new Error(`no answer from ${path} within ${timeoutMs} ms`)); }, timeoutMs);
    c.setEncoding('utf8');
    c.on('connect', () => c.write(`${line}\n`));
    c.on('data', (d: string) => { data += d; });
    c.on('end', () => { clearTimeout(timer); resolve(data); });
    c.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? 'is hakeep running? (check [daemon] status_socket / --status-socket)'
        : e.code === 'EACCES' ? 'permission denied: the status socket is root only' : e.message;
      reject(new Error(`cannot read status from ${path}: ${why}`));
    });
  });
}

/** Client side, for `hakeep status`. */
export function readStatus(path: string, timeoutMs = 3000): Promise<string> {
  return request(path, 'status', timeoutMs);
}
