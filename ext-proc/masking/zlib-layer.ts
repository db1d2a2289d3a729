import type { Transform } from 'node:stream';
import { SluiceError } from '../../common/errors.ts';

/** Running totals shared by every layer of one body, for the ratio check. */
export interface DecompressCounters {
  bytesIn: number;
}

export interface LayerLimits {
  maxOutputBytes: number;
  maxRatio: number;
  ratioGraceBytes: number;
}

/**
 * One zlib decoder driven chunk by chunk. The stream is read in paused mode as it produces
 * output: zlib stops inflating while its readable buffer is full, so a bomb only ever gets
 * ~one zlib chunk (16 KiB) ahead of the limit checks, and the first check that fails destroys
 * the stream. Output is counted per layer, so `gzip, gzip` cannot hide a bomb in the inner one.
 */
export class ZlibLayer {
  private failure: SluiceError | null = null;
  private out: Buffer[] = [];
  private bytesOut = 0;
  private reject: ((err: SluiceError) => void) | null = null;

  constructor(
    private readonly stream: Transform,
    private readonly coding: string,
    private readonly limits: LayerLimits,
    private readonly counters: DecompressCounters,
  ) {
    stream.on('readable', () => this.drain());
    stream.on('error', (err: Error) => {
      this.fail(new SluiceError('ERR_BODY_DECOMPRESSION_FAILED', `body is not valid ${coding} data`, {
        cause: err,
        details: { encoding: coding, reason: (err as NodeJS.ErrnoException).code ?? err.message },
      }));
    });
  }

  push(chunk: Buffer): Promise<Buffer> {
    return this.run((done) => this.stream.write(chunk, done));
  }

  end(): Promise<Buffer> {
    // 'finish' (the end() callback) comes before a truncation error is reported, so the end of
    // the body is only certain once the readable side has ended.
    return this.run((done) => {
      this.stream.once('end', () => done());
      this.stream.end();
      this.drain();
    });
  }

  destroy(): void {
    this.stream.destroy();
  }

  private run(start: (done: (err?: Error | null) => void) => void): Promise<Buffer> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.reject = reject;
      start((err) => {
        // An error here is reported through the 'error' event (or is the destroy we caused).
        if (err || this.failure !== null) return;
        this.drain();
        if (this.failure !== null) return;
        this.reject = null;
        const out = this.out.length === 1 ? this.out[0]! : Buffer.concat(this.out);
        this.out = [];
        resolve(out);
      });
    });
  }

  private drain(): void {
    if (this.failure !== null) return;
    let chunk: Buffer | null;
    while ((chunk = this.stream.read() as Buffer | null) !== null) {
      this.bytesOut += chunk.length;
      const { maxOutputBytes, maxRatio, ratioGraceBytes } = this.limits;
      if (this.bytesOut > maxOutputBytes) return this.limit('maxOutputBytes', `more than ${maxOutputBytes} bytes`);
      if (this.bytesOut > ratioGraceBytes && this.bytesOut > maxRatio * this.counters.bytesIn) {
        return this.limit('maxRatio', `more than ${maxRatio} times its compressed size`);
      }
      this.out.push(chunk);
    }
  }

  private limit(limit: string, what: string): void {
    this.fail(new SluiceError('ERR_BODY_DECOMPRESSION_LIMIT', `${this.coding} body decompresses to ${what}`, {
      details: { encoding: this.coding, limit, bytesIn: this.counters.bytesIn, bytesOut: this.bytesOut },
    }));
  }

  private fail(err: SluiceError): void {
    if (this.failure !== null) return;
    this.failure = err;
    this.out = [];
    this.stream.destroy();
    this.reject?.(err);
    this.reject = null;
  }
}
