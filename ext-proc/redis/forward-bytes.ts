import type { CommandBatch } from './command-reader.ts';

const EMPTY = Buffer.alloc(0);

/**
 * What one client chunk sends on to redis_proxy, in order: commands of the chunk as they came and
 * bytes of the gateway's own (stand-ins for refusals). Commands that follow each other in the
 * same bytes stay one range, so a chunk whose commands all pass goes on as the chunk itself, and
 * one with a refusal as a few views of it around the stand-in: nothing is copied per command.
 */
export class ForwardBytes {
  #parts: Buffer[] = [];
  #buf: Buffer | null = null;
  #start = 0;
  #end = 0;

  /** Command c of the batch, as the client sent it (inline commands: re-encoded). */
  command(batch: CommandBatch, c: number): void {
    const buf = batch.bytes(c);
    const start = batch.rawStart(c);
    if (this.#buf === buf && start === this.#end) {
      this.#end = batch.rawEnd(c);
      return;
    }
    this.#flush();
    this.#buf = buf;
    this.#start = start;
    this.#end = batch.rawEnd(c);
  }

  /** Bytes of the gateway's own. */
  bytes(bytes: Buffer): void {
    this.#flush();
    this.#parts.push(bytes);
  }

  /** Everything added since the last take, as one buffer. */
  take(): Buffer {
    this.#flush();
    const parts = this.#parts;
    if (parts.length === 0) return EMPTY;
    this.#parts = [];
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  #flush(): void {
    const buf = this.#buf;
    if (buf === null) return;
    this.#buf = null;
    if (this.#end === this.#start) return;
    this.#parts.push(this.#start === 0 && this.#end === buf.length ? buf : buf.subarray(this.#start, this.#end));
  }
}
