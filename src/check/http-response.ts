// Reading one HTTP_GET/SSL_GET response as keepalived does (check_http.c:1287-1460, lib/html.c),
// fed chunk by chunk, so a body of any size costs constant memory:
//   - the headers must end ("\r\n\r\n") within keepalived's 4,095-byte buffer; the status code is
//     the three digits after the first space, followed by a space (extract_status_code);
//     Content-Length is found case-sensitively, as strtoul reads it (extract_content_length);
//   - the MD5 digest covers the raw bytes after the headers, up to Content-Length when there is
//     one: chunked framing is hashed as received, exactly as keepalived and genhash hash it;
//   - a regex is matched against the response as received, headers included (keepalived's first
//     buffer holds them), with offsets from its first byte; a match may span reads as long as it
//     fits keepalived's 4,095-byte window (its partial-match limit).
// Unlike keepalived, reading stops as soon as the outcome is known (a wrong status, the
// Content-Length reached, the regex decided; only the status needed): keepalived reads to EOF.
import { createHash, type Hash } from 'node:crypto';
import type { HttpUrl } from '../config/model.js';

/** keepalived's MAX_BUFFER_LENGTH - 1 (check_http.h:132): the room the headers must fit in. */
export const HEADER_ROOM = 4095;
const CRLFCRLF = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = Buffer.from('Content-Length:');

export type ReadOutcome =
  | { ok: true; msg: 'HTTP status code' | 'MD5 digest' | 'Regex match' }
  | { ok: false; detail: string };

/** extract_status_code (lib/html.c): 0 when the status line does not read. */
export function extractStatusCode(buf: Buffer, end: number): number {
  let i = 0;
  while (i < end && buf[i] !== 0x20 && buf[i] !== 0x0d) i++;
  if (i >= end || buf[i] !== 0x20) return 0;
  i++;
  if (i + 3 >= end || buf[i] === 0x20 || buf[i + 3] !== 0x20) return 0;
  let code = 0;
  for (let k = 0; k < 3; k++) {
    const c = buf[i + k]!;
    if (c < 0x30 || c > 0x39) return 0;
    code = code * 10 + (c - 0x30);
  }
  return code;
}

/** extract_content_length (lib/html.c): null (keepalived's SIZE_MAX) when absent or unreadable. */
export function extractContentLength(buf: Buffer, end: number): number | null {
  // strstr on a NUL-terminated buffer: a NUL byte ends the search.
  const nul = buf.indexOf(0, 0);
  const limit = nul >= 0 && nul < end ? nul : end;
  const at = buf.subarray(0, limit).indexOf(CONTENT_LENGTH);
  if (at < 0) return null;
  let i = at + CONTENT_LENGTH.length;
  // strtoul: leading white space, an optional sign, digits.
  while (i < limit && (buf[i] === 0x20 || (buf[i]! >= 0x09 && buf[i]! <= 0x0d))) i++;
  if (buf[i] === 0x2b || buf[i] === 0x2d) i++;
  let n = 0;
  let digits = 0;
  while (i < limit && buf[i]! >= 0x30 && buf[i]! <= 0x39) { n = n * 10 + (buf[i]! - 0x30); i++; digits++; }
  if (digits === 0) i = at + CONTENT_LENGTH.length; // no number: strtoul's end pointer stays at its start
  const c = i < limit ? buf[i]! : 0;
  if (c !== 0 && c !== 0x0d && c !== 0x0a) return null;
  return digits === 0 ? 0 : n;
}

/** What one url check needs from a response. */
export interface ResponseNeeds {
  statusCodes: readonly [number, number][];
  /** Compute the digest (a url with `digest`, or genhash). */
  digest: boolean;
  regex: HttpUrl['regex'];
}

export class ResponseReader {
  /** The header bytes until "\r\n\r\n" (then the first buffer, as keepalived keeps it). */
  private head: Buffer = Buffer.allocUnsafe(0);
  private headLen = 0;
  private extracted = false;
  status = 0;
  contentLength: number | null = null;
  /** Body bytes received (keepalived's rx_bytes). */
  rxBytes = 0;
  private md5: Hash | null = null;
  digestHex: string | null = null;
  private statusOk = false;
  private re: RegExp | null = null;
  private reTail = '';
  /** Offset of reTail's first byte in the response. */
  private reBase = 0;
  private reDone = false;
  matched = false;
  /** Response bytes seen (headers included): the regex's subject offset. */
  private seen = 0;

  constructor(private readonly needs: ResponseNeeds) {
    if (needs.regex) this.re = new RegExp(needs.regex.pattern, needs.regex.flags.includes('g') ? needs.regex.flags : `${needs.regex.flags}g`);
    else this.reDone = true;
  }

  /** The headers have been read. */
  get headersDone(): boolean {
    return this.extracted;
  }

  /** Feed received bytes; returns true when nothing more is needed (the caller may stop reading). */
  feed(chunk: Buffer): boolean {
    if (!this.extracted) {
      const room = HEADER_ROOM - this.headLen;
      const take = chunk.length <= room ? chunk : chunk.subarray(0, room);
      this.head = this.headLen === 0 ? Buffer.from(take) : Buffer.concat([this.head.subarray(0, this.headLen), take]);
      this.headLen = this.head.length;
      const scanFrom = Math.max(0, this.headLen - take.length - 3);
      const at = this.head.indexOf(CRLFCRLF, scanFrom);
      if (at < 0) {
        // Headers beyond keepalived's buffer: it reads 0 bytes next, which it takes as EOF.
        return this.headLen >= HEADER_ROOM;
      }
      this.extracted = true;
      const bodyStart = at + 4;
      this.status = extractStatusCode(this.head, this.headLen);
      this.contentLength = extractContentLength(this.head, this.headLen);
      this.statusOk = this.needs.statusCodes.some(([lo, hi]) => this.status >= lo && this.status <= hi);
      if (this.needs.digest) this.md5 = createHash('md5');
      const firstBody = this.head.subarray(bodyStart, this.headLen);
      // keepalived's first buffer holds the headers too: the regex sees them.
      this.regexFeed(this.head.subarray(0, this.headLen));
      this.body(firstBody);
      const rest = take.length < chunk.length ? chunk.subarray(take.length) : null;
      if (rest) {
        this.regexFeed(rest);
        this.body(rest);
      }
      return this.complete();
    }
    this.regexFeed(chunk);
    this.body(chunk);
    return this.complete();
  }

  private body(b: Buffer): void {
    if (b.length === 0) return;
    if (this.md5) {
      const cl = this.contentLength;
      if (cl === null || cl > this.rxBytes) {
        const n = cl === null || cl >= this.rxBytes + b.length ? b.length : cl - this.rxBytes;
        this.md5.update(n === b.length ? b : b.subarray(0, n));
      }
    }
    this.rxBytes += b.length;
  }

  private regexFeed(b: Buffer): void {
    const start = this.seen;
    this.seen += b.length;
    if (this.reDone || b.length === 0) return;
    const rx = this.needs.regex!;
    const re = this.re!;
    const text = this.reTail + b.toString(rx.flags.includes('u') ? 'utf8' : 'latin1');
    const base = start - this.reTail.length;
    re.lastIndex = Math.max(0, rx.minOffset - base);
    if (re.lastIndex > text.length) {
      this.reTail = '';
      this.reBase = this.seen;
      return;
    }
    const m = re.exec(text);
    if (m) {
      const at = base + m.index;
      // A match past regex_max_offset does not count, and no later one can come earlier.
      this.matched = rx.maxOffset === null || at <= rx.maxOffset;
      this.reDone = true;
      return;
    }
    if (rx.maxOffset !== null && this.seen > rx.maxOffset + HEADER_ROOM) {
      this.reDone = true;
      return;
    }
    this.reTail = text.length > HEADER_ROOM ? text.slice(text.length - HEADER_ROOM) : text;
    this.reBase = this.seen - this.reTail.length;
  }

  /** Whether the outcome is settled without reading further. */
  private complete(): boolean {
    if (!this.extracted) return false;
    if (!this.statusOk) return true;
    const digestDone = !this.md5 || (this.contentLength !== null && this.rxBytes >= this.contentLength);
    return digestDone && this.reDone;
  }

  /** The response ended (EOF, or the caller stopped once feed() said so): the check's outcome. */
  finish(expectedDigest: string | null): ReadOutcome {
    if (this.md5) {
      this.digestHex = this.md5.digest('hex');
      this.md5 = null;
    }
    // http_handle_response (check_http.c:1313-1385), in its order.
    if (!this.extracted) return { ok: false, detail: 'Read, no data received from' };
    if (!this.statusOk) return { ok: false, detail: 'HTTP status code error to' };
    let msg: 'HTTP status code' | 'MD5 digest' | 'Regex match' = 'HTTP status code';
    if (expectedDigest !== null) {
      if (this.digestHex !== expectedDigest) return { ok: false, detail: 'MD5 digest error to' };
      msg = 'MD5 digest';
    }
    if (this.needs.regex) {
      if (this.matched === this.needs.regex.noMatch) return { ok: false, detail: 'Regex match failed' };
      msg = 'Regex match';
    }
    return { ok: true, msg };
  }

  /** keepalived logs a Content-Length that differs from the bytes received (not a failure). */
  lengthMismatch(): number | null {
    if (this.contentLength === null || this.contentLength === this.rxBytes) return null;
    return this.contentLength - this.rxBytes;
  }
}
