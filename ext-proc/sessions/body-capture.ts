import { invalidOptions } from './errors.ts';
import type { CapturedBody } from './types.ts';

/** Default capture cap per body: enough for API payloads, small enough to queue thousands. */
export const DEFAULT_BODY_CAP_BYTES = 64 * 1024;

/**
 * Accumulates a streamed body up to `capBytes` and counts the rest. Chunks are copied (Envoy's
 * buffers may be reused), and never more than the cap is kept, however the body is split.
 */
export class BodyCapture {
  readonly capBytes: number;
  private readonly chunks: Buffer[] = [];
  private stored = 0;
  private seen = 0;

  constructor(capBytes: number = DEFAULT_BODY_CAP_BYTES) {
    if (!Number.isSafeInteger(capBytes) || capBytes < 0) throw invalidOptions('body capture', [`capBytes must be a non-negative integer, got ${String(capBytes)}`]);
    this.capBytes = capBytes;
  }

  push(chunk: Uint8Array): void {
    this.seen += chunk.byteLength;
    const room = this.capBytes - this.stored;
    if (room <= 0 || chunk.byteLength === 0) return;
    const part = Buffer.from(chunk.subarray(0, Math.min(room, chunk.byteLength)));
    this.chunks.push(part);
    this.stored += part.byteLength;
  }

  /** Counts bytes that are seen but not kept (a body the record may not hold); marks truncation. */
  skip(byteCount: number): void {
    this.seen += byteCount;
  }

  /** True once nothing more will be stored. */
  get full(): boolean {
    return this.stored >= this.capBytes;
  }

  /** Bytes seen so far, stored or not. */
  get bytes(): number {
    return this.seen;
  }

  get truncated(): boolean {
    return this.seen > this.stored;
  }

  /** The body as recorded: text or base64, the full size, and whether it was cut. */
  body(): CapturedBody {
    return encodeBody(Buffer.concat(this.chunks, this.stored), this.seen, this.truncated);
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Stored bytes → CapturedBody. Text when the bytes are UTF-8 without NUL (PostgreSQL's jsonb
 * cannot hold U+0000, and both stores must return the same thing); base64 otherwise. A cut body
 * first loses a trailing, incomplete UTF-8 sequence so that text cut at the cap stays text.
 */
export function encodeBody(stored: Uint8Array, bytes: number, truncated: boolean): CapturedBody {
  const keep = truncated ? completeUtf8Length(stored) : stored.byteLength;
  const text = decodeUtf8(stored.subarray(0, keep));
  if (text !== undefined && !text.includes('\u0000')) return { text, bytes, truncated };
  return { base64: Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength).toString('base64'), bytes, truncated };
}

/** The stored bytes of a captured body. */
export function bodyBytes(body: CapturedBody): Buffer {
  return 'text' in body ? Buffer.from(body.text, 'utf8') : Buffer.from(body.base64, 'base64');
}

/** `body` with at most `maxBytes` stored; `bytes` (the wire size) is kept. */
export function truncateBody(body: CapturedBody, maxBytes: number): CapturedBody {
  // A UTF-16 unit is at most 3 UTF-8 bytes: text this short is within the cap without encoding it.
  if ('text' in body && body.text.length * 3 <= maxBytes) return body;
  const stored = bodyBytes(body);
  if (stored.byteLength <= maxBytes) return body;
  return encodeBody(stored.subarray(0, maxBytes), Math.max(body.bytes, stored.byteLength), true);
}

function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Length of `bytes` without a trailing UTF-8 sequence that the cut left incomplete. */
function completeUtf8Length(bytes: Uint8Array): number {
  let start = bytes.byteLength - 1;
  let continuation = 0;
  while (start >= 0 && continuation < 3 && (bytes[start]! & 0xc0) === 0x80) {
    start -= 1;
    continuation += 1;
  }
  if (start < 0) return bytes.byteLength;
  const lead = bytes[start]!;
  const needed = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return bytes.byteLength - start < needed ? start : bytes.byteLength;
}
