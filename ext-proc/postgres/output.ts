/**
 * The bytes one chunk turns into. Unchanged messages are views into the chunk; runs of them that
 * sit side by side in the same buffer are kept as one view, so a chunk that passes untouched
 * leaves as the very bytes it arrived in.
 */
export class ChunkOutput {
  private parts: Buffer[] = [];
  private last: Buffer | null = null;
  changed = false;

  keep(bytes: Buffer): void {
    const last = this.last;
    if (last !== null && last.buffer === bytes.buffer && last.byteOffset + last.length === bytes.byteOffset) {
      this.last = Buffer.from(last.buffer, last.byteOffset, last.length + bytes.length);
      return;
    }
    this.flushLast();
    this.last = bytes;
  }

  replace(bytes: Buffer): void {
    this.changed = true;
    this.flushLast();
    this.parts.push(bytes);
  }

  /** Everything so far, and start over. */
  take(): Buffer {
    this.flushLast();
    const parts = this.parts;
    this.parts = [];
    this.changed = false;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  get empty(): boolean {
    return this.last === null && this.parts.length === 0;
  }

  private flushLast(): void {
    if (this.last !== null) this.parts.push(this.last);
    this.last = null;
  }
}
