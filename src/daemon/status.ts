// The status socket: a Unix stream socket, root only (mode 0600). A client sends one request line
// and gets one answer, then the connection closes:
//   `status`                 → the raw status with the daemon's clock pair, as JSON; `hakeep status`
//                              builds the versioned document from it (status-format.ts)
//   `rs drain VS RS` / `rs enable VS RS` → `{"ok":…,"message":…}` (see src/daemon/drain.ts)
// A client that sends nothing gets the status when it half-closes (`socat - UNIX-CONNECT:… </dev/null`)
// or after SILENT_CLIENT_MS, as before commands existed.
//
// Every request other than `status` changes something (drain today, reload and plan next), so it
// is authorised by the peer's credentials as the kernel recorded them at connect() (SO_PEERCRED):
// root, or the user the daemon runs as. The file mode alone is not enough: a socket handed over,
// a directory with looser permissions, or a chmod by mistake would let anyone drain a pool. Node
// has no public API for SO_PEERCRED, so the addon's credListen accepts the connections and passes
// each fd with its credentials; Node's public `new net.Socket({ fd })` does the rest. With an
// addon built before credListen existed, status is still served and commands are refused.
import { chmodSync, mkdirSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from './log.js';
import { native, type NativeAddon, type NativeHandle } from '../net/native.js';
import { RateLimiter } from '../vrrp/rate-limit.js';
import { withDaemonClock } from './status-format.js';
import { statusParts } from './raw-json.js';

export type StatusSource = () => unknown;

/** Who is on the other end, as the kernel recorded it at connect(); -1 = unknown. */
export interface PeerCredentials {
  uid: number;
  gid: number;
  pid: number;
}

/** Answers a command line other than `status` (already authorised); resolves with what to send back. */
export type CommandHandler = (words: string[], peer: PeerCredentials | null) => Promise<{ ok: boolean; message: string }>;

export type CredListen = NonNullable<NativeAddon['credListen']>;

export interface StatusServerOptions {
  /** The listener that knows its peers (the addon's credListen); default: the addon's when it has
   * one. null: Node's own listener, which cannot tell who connects (commands are refused). */
  credListen?: CredListen | null;
  /** Shapes what `status` answers; default: the raw status with the daemon's clock (withDaemonClock;
   * the client builds the versioned document from it: status-format.ts). */
  format?: (raw: unknown) => unknown;
  /** The uid the daemon runs as, allowed to run commands besides root (default: process.geteuid()). */
  daemonUid?: number;
}

export interface StatusServer {
  close(): void;
}

/**
 * How long a client that sends nothing waits before it gets the status anyway (ms). Long enough
 * that a command line written late (a loaded host, or this loop stalled) is never mistaken for a
 * silent client: that once answered `rs drain` with the status and dropped the command. A client
 * that half-closes without a word gets the status at once.
 */
const SILENT_CLIENT_MS = 3000;
const MAX_REQUEST = 4096;
const SOCKET_MODE = 0o600;

/** Is a live daemon already answering on this path? (A stale socket file refuses connections.) */
function probe(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
}

/** null when `peer` may run `words`; otherwise why not, worded for the person who typed it. */
export function authorise(words: string[], peer: PeerCredentials | null, daemonUid: number): string | null {
  const what = `'${words.slice(0, 2).join(' ')}'`;
  if (peer === null || peer.uid < 0) {
    return `refused: ${what} changes the running daemon, and this hakeep cannot check who is asking (its native addon has no credListen: rebuild it with npm install in the hakeep directory)`;
  }
  if (peer.uid === 0 || peer.uid === daemonUid) return null;
  return `permission denied: ${what} changes the running daemon and needs root (uid 0${daemonUid !== 0 ? ` or hakeep's uid ${daemonUid}` : ''}); the request came from uid ${peer.uid} (pid ${peer.pid})`;
}

function defaultCredListen(): CredListen | null {
  // The status socket must work (status only) even without the addon.
  try {
    const a = native();
    return typeof a.credListen === 'function' ? a.credListen.bind(a) : null;
  } catch {
    return null;
  }
}

export async function serveStatus(path: string, source: StatusSource, log: Logger, commands?: CommandHandler, opts: StatusServerOptions = {}): Promise<StatusServer | null> {
  try {
    mkdirSync(dirname(path), { recursive: true });
    if (await probe(path)) {
      log.warn({ statusSocket: path }, `status socket ${path} is in use by another hakeep; this one serves no status socket (set [daemon] status_socket or --status-socket)`);
      return null;
    }
    try { unlinkSync(path); } catch { /* no stale socket */ }
    const format = opts.format ?? withDaemonClock;
    const daemonUid = opts.daemonUid ?? process.geteuid?.() ?? 0;
    const refusals = new RateLimiter(10_000);
    const statusText = (): string[] => {
      try {
        // Compact: with 10,000 real servers the indentation alone costs milliseconds on the VRRP
        // loop; `hakeep status --json` pretty-prints in its own process.
        return statusParts(format(source()));
      } catch (e) {
        return [JSON.stringify({ error: String(e) })];
      }
    };
    const serve = (conn: Socket, peer: PeerCredentials | null): void => {
      let buf = '';
      let answered = false;
      const answer = (text: string | string[]): void => {
        if (answered) return;
        answered = true;
        clearTimeout(silent);
        writeSliced(conn, [...(typeof text === 'string' ? [text] : text), '\n']);
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
          return;
        }
        const refused = authorise(words, peer, daemonUid);
        if (refused !== null) {
          const suppressed = refusals.admit(String(peer?.uid ?? 'unknown'), performance.now());
          if (suppressed !== null) {
            log.warn({ statusSocket: path, uid: peer?.uid ?? null, peerPid: peer?.pid ?? null, command: words.slice(0, 2).join(' '), suppressed },
              `status socket: refused '${words.slice(0, 2).join(' ')}' from uid ${peer?.uid ?? 'unknown'} (pid ${peer?.pid ?? 'unknown'}): not root`);
          }
          answer(JSON.stringify({ ok: false, message: refused }));
        } else if (!commands) {
          answer(JSON.stringify({ ok: false, message: `unknown command '${words.join(' ')}'` }));
        } else {
          clearTimeout(silent);
          commands(words, peer).then(
            (r) => answer(JSON.stringify(r)),
            (e: unknown) => answer(JSON.stringify({ ok: false, message: (e as Error).message })),
          );
        }
      });
      conn.on('end', () => { if (!answered && buf.trim() === '') answer(statusText()); });
      conn.on('error', () => { clearTimeout(silent); /* client went away */ });
    };

    const credListen = opts.credListen === undefined ? defaultCredListen() : opts.credListen;
    if (credListen) {
      const handle: NativeHandle = credListen(path, SOCKET_MODE, (fd, uid, gid, pid) => {
        let conn: Socket;
        try {
          conn = new Socket({ fd, readable: true, writable: true, allowHalfOpen: true });
        } catch (e) {
          log.warn({ statusSocket: path, err: (e as Error).message }, `status socket: cannot use an accepted connection: ${(e as Error).message}`);
          return false; // the addon closes the fd
        }
        serve(conn, { uid, gid, pid });
        return true;
      });
      return { close: () => handle.close() };
    }
    log.warn({ statusSocket: path }, `status socket ${path}: the native addon has no credListen (built before it existed, or not built), so the daemon cannot tell who connects: it answers status and refuses commands (rs drain|enable) until the addon is rebuilt (npm install)`);
    const server = createServer({ allowHalfOpen: true }, (conn) => serve(conn, null));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => { server.off('error', reject); resolve(); });
    });
    // Root only: the status shows the topology, and commands change the IPVS table.
    chmodSync(path, SOCKET_MODE);
    server.on('error', (e) => log.warn({ statusSocket: path }, `status socket error: ${e.message}`));
    return { close: () => server.close() };
  } catch (e) {
    // Status is for humans and tests; VRRP must run without it.
    log.warn({ statusSocket: path }, `cannot serve status on ${path}: ${(e as Error).message}`);
    return null;
  }
}

/** Characters written per event-loop turn (encoding 64 KiB takes well under a millisecond). */
export const WRITE_SLICE = 64 * 1024;

/**
 * Write `parts` and end the connection, one slice of at most WRITE_SLICE characters per
 * event-loop turn (and after 'drain' when the socket's buffer is full): at 10,000 real servers a
 * status answer is ~2.5 MB, and copying and encoding it in one go held the VRRP loop for tens of
 * milliseconds (more in a small VM), long enough to delay an advert that fell due meanwhile.
 */
export function writeSliced(conn: Socket, parts: readonly string[]): void {
  let p = 0;
  let at = 0;
  const next = (): string | null => {
    while (p < parts.length && at >= parts[p]!.length) { p++; at = 0; }
    if (p >= parts.length) return null;
    const s = parts[p]!;
    let end = Math.min(s.length, at + WRITE_SLICE);
    // Never split a surrogate pair (each half alone would be written as U+FFFD).
    if (end < s.length) {
      const c = s.charCodeAt(end - 1);
      if (c >= 0xd800 && c <= 0xdbff) end--;
    }
    const piece = s.slice(at, end);
    at = end;
    return piece;
  };
  const pump = (): void => {
    if (conn.destroyed) return;
    const piece = next();
    if (piece === null) {
      conn.end();
      return;
    }
    if (conn.write(piece)) setImmediate(pump);
    else conn.once('drain', pump);
  };
  pump();
}

export function closeStatus(server: StatusServer | null, path: string): void {
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
