import { LRUCache } from 'lru-cache';

/**
 * Replaces the credential ext-proc injected wherever an upstream echoes it into a response body,
 * whatever the masking profile says: a workload must never see the real credential. A literal
 * search (Buffer.indexOf per form), so its cost on a body without echoes is one scan; it holds
 * back at most the longest form's length - 1 bytes, and only when a chunk ends in a form's start.
 */

/** What the caller gets in place of an echoed credential. */
export const CREDENTIAL_MARKER = '[credential removed by sluice]';

/**
 * The forms an echo would carry the secret in: as is, JSON-escaped (an upstream that answers its
 * request headers as JSON) and percent-encoded (one that echoes a URL). Base64 of the secret is
 * not covered: a Basic credential is stored already encoded, so "as is" is the echoed form.
 */
export function echoForms(secret: string): Buffer[] {
  if (secret === '') return [];
  const forms = new Set([secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)]);
  return [...forms].map((form) => Buffer.from(form, 'utf8'));
}

// One scrubber per exchange, but the forms depend only on the secret's value (rotation changes
// it): built once per value. The buffers are only read.
const FORMS = new LRUCache<string, readonly Buffer[]>({ max: 256 });

function formsFor(secret: string): readonly Buffer[] {
  let forms = FORMS.get(secret);
  if (forms === undefined) {
    // Longest first: at one position the longest form wins (a form may begin another).
    forms = echoForms(secret).sort((a, b) => b.length - a.length);
    FORMS.set(secret, forms);
  }
  return forms;
}

export class CredentialScrubber {
  private readonly forms: readonly Buffer[];
  private readonly marker = Buffer.from(CREDENTIAL_MARKER, 'utf8');
  private held: Buffer = Buffer.alloc(0);
  private found = 0;

  constructor(secret: string) {
    this.forms = formsFor(secret);
  }

  /** Echoes replaced so far. */
  get echoes(): number {
    return this.found;
  }

  /**
   * The bytes that are final now in place of `chunk`; the chunk itself (same object) when it
   * passes unchanged, so a caller can skip sending it back.
   */
  push(chunk: Buffer, last: boolean): Buffer {
    if (this.forms.length === 0) return chunk;
    const data = this.held.length === 0 ? chunk : Buffer.concat([this.held, chunk]);
    const parts: Buffer[] = [];
    let pos = 0;
    // Where bytes that could begin a form cut by the end of this chunk start (none at the end).
    let tail = last ? data.length : this.cutFormStart(data, 0);
    for (;;) {
      const hit = this.nextHit(data, pos);
      // A hit past the start of a cut form waits for the next chunk: that form may begin earlier.
      if (hit === undefined || hit.at >= tail) break;
      parts.push(data.subarray(pos, hit.at), this.marker);
      this.found++;
      pos = hit.at + hit.length;
      if (tail < pos) tail = last ? data.length : this.cutFormStart(data, pos);
    }
    const keepFrom = Math.max(pos, tail);
    this.held = keepFrom < data.length ? Buffer.from(data.subarray(keepFrom)) : Buffer.alloc(0);
    if (parts.length === 0 && keepFrom === data.length && data === chunk) return chunk;
    parts.push(data.subarray(pos, keepFrom));
    return Buffer.concat(parts);
  }

  private nextHit(data: Buffer, from: number): { at: number; length: number } | undefined {
    let best: { at: number; length: number } | undefined;
    for (const form of this.forms) {
      const at = data.indexOf(form, from);
      if (at >= 0 && (best === undefined || at < best.at)) best = { at, length: form.length };
    }
    return best;
  }

  /** The earliest start, at or after `from`, of a data tail that begins some form but is shorter than it. */
  private cutFormStart(data: Buffer, from: number): number {
    let earliest = data.length;
    for (const form of this.forms) {
      for (let len = Math.min(form.length - 1, data.length - from); len > 0; len--) {
        const at = data.length - len;
        if (at >= earliest) break;
        if (data.compare(form, 0, len, at, data.length) === 0) {
          earliest = at;
          break;
        }
      }
    }
    return earliest;
  }
}
