/**
 * JSON string escapes, decoded for matching and kept for output.
 *
 * The masker matches what a JSON reader would see: `\u0034111 1111 1111 1111` is a card and
 * `jane\u0040example.com` an email. So a JSON body is decoded before matching (`\uXXXX`,
 * surrogate pairs, `\/`, `\"`, `\\`, `\n`, ...), and every escape it decoded is remembered as a
 * segment: where its decoded bytes sit, and the raw escape text. Output is then rebuilt from
 * that: decoded text outside segments is the raw text byte for byte, and a segment is written
 * back as its raw escape, so a body is only changed where something is masked. A replacement
 * that covers an escape is written JSON-escaped, so a `"` or a newline it keeps stays valid JSON.
 *
 * Escapes are decoded wherever they occur, without tracking whether the scanner is inside a
 * string: in valid JSON a backslash only occurs inside strings, and tracking quotes would cost
 * a scan of every byte while the common body has no backslash at all (that one indexOf is the
 * whole cost then). Text that is not a valid escape (`\x`, `\u12G4`) is left as it is, never
 * decoded; a lone surrogate (`\ud800`) is matched as U+FFFD and written back as it came.
 */

/** An escape, decoded to [start, end) of the decoded stream (absolute offsets), and its raw text. */
export interface EscapeSegment {
  readonly start: number;
  readonly end: number;
  readonly raw: Buffer;
}

const BACKSLASH = 0x5c;
const SIMPLE: Readonly<Record<number, number>> = {
  0x22: 0x22, // \"
  0x5c: 0x5c, // \\
  0x2f: 0x2f, // \/
  0x62: 0x08, // \b
  0x66: 0x0c, // \f
  0x6e: 0x0a, // \n
  0x72: 0x0d, // \r
  0x74: 0x09, // \t
};
/** The longest escape: a surrogate pair, `\uD83D\uDE00`. */
const LONGEST = 12;

function hex4(buf: Buffer, at: number): number {
  let v = 0;
  for (let i = at; i < at + 4; i++) {
    const c = buf[i]!;
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : (c | 0x20) >= 0x61 && (c | 0x20) <= 0x66 ? (c | 0x20) - 0x57 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/**
 * The escape at `at` (buf[at] is a backslash): its raw length and decoded code point, 0 when it
 * is not a valid escape, or -1 when it may be one but the buffer ends first.
 */
function escapeAt(buf: Buffer, at: number, final: boolean): { length: number; code: number } {
  const more = { length: -1, code: 0 };
  const invalid = { length: 0, code: 0 };
  if (at + 1 >= buf.length) return final ? invalid : more;
  const kind = buf[at + 1]!;
  const simple = SIMPLE[kind];
  if (simple !== undefined) return { length: 2, code: simple };
  if (kind !== 0x75) return invalid;
  if (at + 6 > buf.length) return final ? invalid : partialHex(buf, at + 2, buf.length) ? more : invalid;
  const unit = hex4(buf, at + 2);
  if (unit < 0) return invalid;
  if (unit < 0xd800 || unit > 0xdfff) return { length: 6, code: unit };
  // A surrogate is a character only as a high one followed by a low one. Alone it is still a
  // valid escape, with no UTF-8 form: it reads as U+FFFD, as UTF-8 JSON readers decode it, so
  // no match can start inside its raw text.
  const lone = { length: 6, code: 0xfffd };
  if (unit >= 0xdc00) return lone;
  const tail = buf.subarray(at + 6, Math.min(buf.length, at + LONGEST));
  if (tail.length < 6) {
    const cut = (tail.length < 1 || tail[0] === BACKSLASH) && (tail.length < 2 || tail[1] === 0x75) && partialHex(buf, at + 8, buf.length);
    return !final && cut ? more : lone;
  }
  const low = tail[0] === BACKSLASH && tail[1] === 0x75 ? hex4(buf, at + 8) : -1;
  if (low < 0xdc00 || low > 0xdfff) return lone;
  return { length: 12, code: 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00) };
}

function partialHex(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = buf[i]! | 0x20;
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

/**
 * Decodes one body's escapes as it streams. `push` returns the decoded bytes that are final
 * (an escape cut by the chunk end waits, at most 11 bytes), and `segments` holds the escapes
 * decoded so far and not yet dropped by the output side.
 */
export class JsonUnescaper {
  /** Raw bytes of an escape the last chunk cut short. */
  private carry: Buffer | null = null;
  /** Absolute offset, in the decoded stream, of the next decoded byte. */
  private decoded = 0;
  readonly segments: EscapeSegment[] = [];

  /** Bytes held back waiting for the rest of an escape. */
  get carriedBytes(): number {
    return this.carry === null ? 0 : this.carry.length;
  }

  push(chunk: Buffer): Buffer {
    return this.decode(chunk, false);
  }

  end(): Buffer {
    return this.decode(Buffer.alloc(0), true);
  }

  private decode(chunk: Buffer, final: boolean): Buffer {
    const buf = this.carry === null ? chunk : Buffer.concat([this.carry, chunk]);
    this.carry = null;
    let at = buf.indexOf(BACKSLASH);
    if (at === -1) {
      this.decoded += buf.length;
      return buf;
    }
    const pieces: Buffer[] = [];
    let from = 0;
    while (at !== -1) {
      const { length, code } = escapeAt(buf, at, final);
      if (length < 0) {
        this.carry = Buffer.from(buf.subarray(at));
        break;
      }
      if (length === 0) {
        at = buf.indexOf(BACKSLASH, at + 1);
        continue;
      }
      if (at > from) pieces.push(buf.subarray(from, at));
      this.decoded += at - from;
      const bytes = Buffer.from(String.fromCodePoint(code), 'utf8');
      pieces.push(bytes);
      this.segments.push({ start: this.decoded, end: this.decoded + bytes.length, raw: Buffer.from(buf.subarray(at, at + length)) });
      this.decoded += bytes.length;
      from = at + length;
      at = buf.indexOf(BACKSLASH, from);
    }
    const stop = this.carry === null ? buf.length : buf.length - this.carry.length;
    if (stop > from) pieces.push(buf.subarray(from, stop));
    this.decoded += stop - from;
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
  }
}

/**
 * Writes decoded text back as raw JSON text, for the engine's output (emit-kept.ts). `at` is
 * how far (decoded offset) output has been written. An escape is written raw only when output
 * covers all of it; one that a replacement touches is swallowed by that replacement, so masking
 * never leaves part of a masked value behind as its escape.
 */
export class RawWriter {
  private at = 0;
  private first = 0;

  constructor(private readonly segments: EscapeSegment[]) {}

  /** Output up to decoded offset `to`; `text` holds the decoded stream from offset `base`. */
  copy(text: Buffer, base: number, to: number, pieces: Buffer[]): void {
    const segs = this.segments;
    let at = this.at;
    let i = this.first;
    for (; i < segs.length && segs[i]!.start < to; i++) {
      const seg = segs[i]!;
      if (seg.end <= at) continue;
      if (seg.end > to) break; // written whole by the next copy, or swallowed by a replacement
      if (seg.start > at) pieces.push(text.subarray(at - base, seg.start - base));
      pieces.push(seg.raw);
      at = seg.end;
    }
    const stop = i < segs.length && segs[i]!.start < to ? segs[i]!.start : to;
    if (stop > at) {
      pieces.push(text.subarray(at - base, stop - base));
      at = stop;
    }
    this.at = Math.max(this.at, at);
    this.forget(i);
  }

  /** A replacement for decoded [from, to): raw text up to it, then `rendered`, JSON-escaped if it covers an escape. */
  replace(text: Buffer, base: number, from: number, to: number, rendered: Buffer, pieces: Buffer[]): void {
    this.copy(text, base, from, pieces);
    const segs = this.segments;
    let i = this.first;
    while (i < segs.length && segs[i]!.end <= this.at) i++;
    let end = to;
    let escaped = false;
    for (; i < segs.length && segs[i]!.start < end; i++) {
      escaped = true;
      end = Math.max(end, segs[i]!.end);
    }
    pieces.push(escaped ? jsonEscape(rendered) : rendered);
    this.at = Math.max(this.at, end);
    this.forget(i);
  }

  /** Drops segments already written, so memory stays within the engine's window. */
  private forget(upTo: number): void {
    let i = this.first;
    while (i < upTo && this.segments[i]!.end <= this.at) i++;
    this.first = i;
    if (this.first > 64 && this.first * 2 > this.segments.length) {
      this.segments.splice(0, this.first);
      this.first = 0;
    }
  }
}

/** `"`, `\` and control bytes escaped, so a replacement is valid inside a JSON string. */
export function jsonEscape(value: Buffer): Buffer {
  let needs = false;
  for (const b of value) if (b < 0x20 || b === 0x22 || b === 0x5c) needs = true;
  if (!needs) return value;
  const out: number[] = [];
  for (const b of value) {
    if (b === 0x22 || b === 0x5c) out.push(0x5c, b);
    else if (b < 0x20) for (const c of Buffer.from(`\\u${b.toString(16).padStart(4, '0')}`)) out.push(c);
    else out.push(b);
  }
  return Buffer.from(out);
}
