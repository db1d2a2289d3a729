import { PgProtocolError } from './errors.ts';

/**
 * One complete protocol message, as views into the bytes that carried it (no copy).
 * `type` is the message's type byte, or 0 for the untyped messages a client sends before its
 * StartupMessage is accepted (SSLRequest, GSSENCRequest, CancelRequest, StartupMessage).
 */
export interface Frame {
  readonly type: number;
  /** The message body: what follows the type byte and the length. */
  readonly payload: Buffer;
  /** The whole message, header included, exactly as it arrived. */
  readonly bytes: Buffer;
}

export interface FramerOptions {
  /** Frontend framers start untyped (startup phase); backend ones are typed from the first byte. */
  readonly startup: boolean;
  /** Largest message accepted; a longer one is a protocol violation (the connection is refused). */
  readonly maxMessageBytes: number;
}

/**
 * Cuts a byte stream into PostgreSQL messages. Chunks from Envoy arrive at any boundary: push()
 * returns the messages completed by a chunk and keeps the incomplete rest. A message that lies
 * inside one chunk is a view into that chunk; only a message split across chunks is copied.
 */
export class Framer {
  private pending: Buffer | null = null;
  private untyped: boolean;

  constructor(private readonly options: FramerOptions) {
    this.untyped = options.startup;
  }

  /** Bytes of an incomplete message held for the next chunk. */
  get pendingBytes(): number {
    return this.pending === null ? 0 : this.pending.length;
  }

  /** Hands over the incomplete rest (the next reader continues from it) and forgets it. */
  takePending(): Buffer | null {
    const pending = this.pending;
    this.pending = null;
    return pending;
  }

  /** The client's startup is over (StartupMessage accepted): from now on every message is typed. */
  startTyped(): void {
    this.untyped = false;
  }

  push(chunk: Buffer): Frame[] {
    const data = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = null;
    const frames: Frame[] = [];
    let at = 0;
    while (true) {
      const headerBytes = this.untyped ? 4 : 5;
      if (data.length - at < headerBytes) break;
      const type = this.untyped ? 0 : data[at]!;
      const length = data.readInt32BE(this.untyped ? at : at + 1);
      const minLength = this.untyped ? 8 : 4;
      if (length < minLength) throw new PgProtocolError(`message length ${length} is below the minimum ${minLength}`);
      const total = length + (this.untyped ? 0 : 1);
      if (total > this.options.maxMessageBytes) {
        throw new PgProtocolError(`message of ${total} bytes exceeds the limit of ${this.options.maxMessageBytes}`, 'ERR_PG_MESSAGE_TOO_LARGE');
      }
      if (data.length - at < total) break;
      const bytes = data.subarray(at, at + total);
      frames.push({ type, payload: bytes.subarray(headerBytes), bytes });
      at += total;
      // Only a StartupMessage ends the untyped phase; the caller says so (startTyped) once it
      // has read it, because an SSLRequest is followed by another untyped message.
      if (this.untyped && frames.length > 0 && isStartupMessage(bytes)) this.untyped = false;
    }
    if (at < data.length) this.pending = Buffer.from(data.subarray(at));
    return frames;
  }
}

export const PROTOCOL_3_0 = 196608;
export const SSL_REQUEST_CODE = 80877103;
export const GSSENC_REQUEST_CODE = 80877104;
export const CANCEL_REQUEST_CODE = 80877102;

function isStartupMessage(bytes: Buffer): boolean {
  const code = bytes.readInt32BE(4);
  return code !== SSL_REQUEST_CODE && code !== GSSENC_REQUEST_CODE && code !== CANCEL_REQUEST_CODE;
}
