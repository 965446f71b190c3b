/**
 * A byte-capped buffer that keeps the end of a stream: hooks may print
 * without limit, the request stores only the last part.
 */

/** Keeps the last `limit` bytes written to it. */
export class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = false;

  constructor(private readonly limit: number) {}

  /** Appends a chunk, dropping the oldest bytes beyond the limit. */
  push(chunk: Buffer | string): void {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.chunks.push(buffer);
    this.size += buffer.length;
    while (this.size > this.limit && this.chunks.length > 0) {
      const first = this.chunks[0] as Buffer;
      const excess = this.size - this.limit;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
      }
      this.dropped = true;
    }
  }

  /** True once anything was dropped. */
  get truncated(): boolean {
    return this.dropped;
  }

  /** The kept text; a character cut in half at the start is dropped. */
  toString(): string {
    const text = Buffer.concat(this.chunks).toString('utf8');
    return this.dropped ? text.replace(/^\uFFFD+/, '') : text;
  }

  /** The last non-empty line, trimmed (for one-line error messages). */
  lastLine(): string {
    const lines = this.toString().split(/\r?\n/).map((line) => line.trim());
    return lines.filter((line) => line.length > 0).pop() ?? '';
  }
}

/** Keeps the last `limit` bytes of a text (for joined outputs). */
export function tailOf(text: string, limit: number): string {
  const tail = new OutputTail(limit);
  tail.push(text);
  return tail.truncated ? `[…]${tail.toString()}` : tail.toString();
}
