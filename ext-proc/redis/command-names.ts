/**
 * A command's name as the policy reads it (upper case), without decoding the same bytes again
 * and again: a pipeline repeats a handful of names, so the last few are kept with their bytes and
 * compared byte by byte (cheaper than a string and its upper-casing per command).
 */
export class CommandNames {
  readonly #bytes: Buffer[] = [];
  readonly #names: string[] = [];
  #next = 0;

  constructor(private readonly size = 8) {}

  /** The name in buf[start, end). */
  of(buf: Buffer, start: number, end: number): string {
    for (let i = 0; i < this.#bytes.length; i++) {
      if (sameBytes(this.#bytes[i]!, buf, start, end)) return this.#names[i]!;
    }
    const name = buf.toString('latin1', start, end).toUpperCase();
    if (end - start <= 32) {
      // A copy: the bytes are a chunk's, which must not be kept alive.
      this.#bytes[this.#next] = Buffer.from(buf.subarray(start, end));
      this.#names[this.#next] = name;
      this.#next = (this.#next + 1) % this.size;
    }
    return name;
  }
}

function sameBytes(a: Buffer, buf: Buffer, start: number, end: number): boolean {
  if (a.length !== end - start) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== buf[start + i]) return false;
  return true;
}
