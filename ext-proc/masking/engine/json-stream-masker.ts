import { SluiceError } from '../../../common/errors.ts';
import type { MaskerStats, StreamMasker } from '../types.ts';
import type { EnginePlan } from './engine-plan.ts';
import { JsonUnescaper, RawWriter } from './json-unescape.ts';
import { StreamingMasker } from './stream-masker.ts';

/**
 * Masks a JSON body as a JSON reader reads its strings: escapes are decoded in front of the
 * engine (json-unescape.ts), the engine matches the decoded text, and its output is written
 * back with the raw escapes wherever nothing was masked. A body without a backslash costs one
 * indexOf per chunk over the plain engine and comes out byte for byte as plain masking would.
 *
 * Memory: the engine's window (decoded bytes) plus the raw text of the escapes inside it (at
 * most 6 raw bytes per decoded byte, for `\u0041`) plus an escape cut by a chunk end (< 12 bytes).
 */
export class JsonStreamMasker implements StreamMasker {
  private readonly unescaper = new JsonUnescaper();
  private readonly engine: StreamingMasker;
  private bytesIn = 0;
  private peak = 0;
  private ended = false;

  constructor(plan: EnginePlan) {
    this.engine = new StreamingMasker(plan, new RawWriter(this.unescaper.segments));
  }

  push(chunk: Buffer): Buffer {
    if (this.ended) throw new SluiceError('ERR_INTERNAL', 'masker: push after end');
    this.bytesIn += chunk.length;
    const out = this.engine.push(this.unescaper.push(chunk));
    this.peak = Math.max(this.peak, this.held());
    return out;
  }

  end(): Buffer {
    if (this.ended) return Buffer.alloc(0);
    this.ended = true;
    const rest = this.engine.push(this.unescaper.end());
    return Buffer.concat([rest, this.engine.end()]);
  }

  stats(): MaskerStats {
    return { ...this.engine.stats(), bytesIn: this.bytesIn, bufferedBytes: this.held(), peakBufferedBytes: this.peak };
  }

  /** Input held back, counted as decoded bytes in the window plus the escape cut short. */
  private held(): number {
    return this.engine.bufferedBytes + this.unescaper.carriedBytes;
  }
}
