// What a script prints: the last bytes kept for the result, and complete lines handed to the log
// up to a per-run budget. Everything is always read (the pipe never fills, so a chatty script
// never blocks on write); only what is kept and logged is bounded.
import { StringDecoder } from 'node:string_decoder';

/** A line longer than this is logged cut, with a marker. */
export const MAX_LINE_CHARS = 1024;

export class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    if (this.limit <= 0) return;
    if (chunk.length >= this.limit) {
      this.chunks = [chunk.subarray(chunk.length - this.limit)];
      this.size = this.limit;
      return;
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - this.chunks[0]!.length >= this.limit) this.size -= this.chunks.shift()!.length;
  }

  /** The last `limit` bytes as text; a character cut at the start decodes as U+FFFD. */
  text(): string {
    const all = Buffer.concat(this.chunks, this.size);
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}

/** Splits a byte stream into lines (\n, with a trailing \r dropped) for the log. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  /** Part of an over-long line already emitted: the rest of it is skipped up to its newline. */
  private skipping = false;

  constructor(private readonly emit: (line: string) => void) {}

  push(chunk: Buffer): void {
    this.feed(this.decoder.write(chunk));
  }

  /** At end of stream: the last line even without a newline. */
  end(): void {
    this.feed(this.decoder.end());
    if (this.partial !== '' && !this.skipping) this.emit(stripCr(this.partial));
    this.partial = '';
    this.skipping = false;
  }

  private feed(text: string): void {
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      const line = this.partial + text.slice(start, nl);
      this.partial = '';
      start = nl + 1;
      if (this.skipping) this.skipping = false;
      else this.emit(line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}… (cut)` : stripCr(line));
    }
    if (this.skipping) return;
    this.partial += text.slice(start);
    if (this.partial.length > MAX_LINE_CHARS) {
      this.emit(`${this.partial.slice(0, MAX_LINE_CHARS)}… (cut)`);
      this.partial = '';
      this.skipping = true;
    }
  }
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
