import { PgProtocolError } from './errors.ts';

/** Reads the fields of one message body in order; any overrun is a protocol violation. */
export class BodyReader {
  private at = 0;

  constructor(private readonly body: Buffer, private readonly what: string) {}

  get done(): boolean {
    return this.at >= this.body.length;
  }

  int16(): number {
    this.need(2);
    const value = this.body.readInt16BE(this.at);
    this.at += 2;
    return value;
  }

  int32(): number {
    this.need(4);
    const value = this.body.readInt32BE(this.at);
    this.at += 4;
    return value;
  }

  byte(): number {
    this.need(1);
    return this.body[this.at++]!;
  }

  /** A NUL-terminated string (UTF-8). */
  cstring(): string {
    const end = this.body.indexOf(0, this.at);
    if (end < 0) throw new PgProtocolError(`${this.what}: a string is not terminated`);
    const value = this.body.toString('utf8', this.at, end);
    this.at = end + 1;
    return value;
  }

  bytes(length: number): Buffer {
    this.need(length);
    const value = this.body.subarray(this.at, this.at + length);
    this.at += length;
    return value;
  }

  rest(): Buffer {
    const value = this.body.subarray(this.at);
    this.at = this.body.length;
    return value;
  }

  private need(n: number): void {
    if (n < 0 || this.at + n > this.body.length) throw new PgProtocolError(`${this.what}: the message is shorter than its fields`);
  }
}

/** Builds one message body; `message(type)` adds the type byte and the length. */
export class BodyWriter {
  private readonly parts: Buffer[] = [];
  private length = 0;

  int16(value: number): this {
    const b = Buffer.allocUnsafe(2);
    b.writeInt16BE(value);
    return this.push(b);
  }

  int32(value: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeInt32BE(value);
    return this.push(b);
  }

  byte(value: number): this {
    return this.push(Buffer.from([value]));
  }

  cstring(value: string): this {
    this.push(Buffer.from(value, 'utf8'));
    return this.push(NUL);
  }

  bytes(value: Buffer): this {
    return this.push(value);
  }

  /** A typed message: type byte, int32 length (itself included), body. */
  message(type: string): Buffer {
    const header = Buffer.allocUnsafe(5);
    header[0] = type.charCodeAt(0);
    header.writeInt32BE(this.length + 4, 1);
    return Buffer.concat([header, ...this.parts], this.length + 5);
  }

  /** An untyped startup-phase message: int32 length, body. */
  untyped(): Buffer {
    const header = Buffer.allocUnsafe(4);
    header.writeInt32BE(this.length + 4);
    return Buffer.concat([header, ...this.parts], this.length + 4);
  }

  private push(b: Buffer): this {
    this.parts.push(b);
    this.length += b.length;
    return this;
  }
}

const NUL = Buffer.from([0]);
