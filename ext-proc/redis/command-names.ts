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

  of(raw: Buffer): string {
    for (let i = 0; i < this.#bytes.length; i++) {
      if (sameBytes(this.#bytes[i]!, raw)) return this.#names[i]!;
    }
    const name = raw.toString('latin1').toUpperCase();
    if (raw.length <= 32) {
      // A copy: the raw bytes are a view of a chunk that must not be kept alive.
      this.#bytes[this.#next] = Buffer.from(raw);
      this.#names[this.#next] = name;
      this.#next = (this.#next + 1) % this.size;
    }
    return name;
  }
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
