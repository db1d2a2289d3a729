import { encodeCommand, RespProtocolError } from '../../common/redis/resp.ts';

export interface CommandLimits {
  /** Largest whole command (bytes); past it the connection is refused, never buffered without end. */
  maxCommandBytes: number;
  /** Most arguments of one command. */
  maxArgs: number;
  /** Longest inline command or header line. */
  maxLineBytes: number;
}

/** #number: the line has not all arrived (no header can hold it: at most 15 digits). */
const INCOMPLETE = Number.MIN_SAFE_INTEGER;
/** Numbers per command in a batch's table: first index into the offsets, argument count, raw start, raw end, size as sent. */
const META = 5;

export const DEFAULT_COMMAND_LIMITS: CommandLimits = Object.freeze({ maxCommandBytes: 64 * 1024 * 1024, maxArgs: 1024 * 1024, maxLineBytes: 64 * 1024 });

/**
 * The whole commands one client chunk completed, as offsets into the bytes they were read from:
 * command c is bytes(c)[rawStart(c), rawEnd(c)) (a RESP array, to forward as it is), its argument
 * a is bytes(c)[argStart(c, a), argEnd(c, a)) (argument 0: the name, as sent). Nothing is made
 * per command: a pipeline of 16 SETs is two arrays of numbers, not 80 Buffer views and 32 objects
 * (those were most of ext-proc's per-command garbage, measured). Views are made on demand
 * (arg(), args(), raw()) for the few commands that need them: AUTH, recorded values.
 */
export class CommandBatch {
  readonly #meta: readonly number[];
  readonly #offsets: readonly number[];
  /** Inline commands by index, re-encoded as RESP arrays (redis_proxy reads nothing else): their offsets point there. */
  readonly #inline: ReadonlyMap<number, Buffer> | null;

  constructor(readonly buf: Buffer, meta: readonly number[], offsets: readonly number[], inline: ReadonlyMap<number, Buffer> | null) {
    this.#meta = meta;
    this.#offsets = offsets;
    this.#inline = inline;
  }

  get length(): number {
    return this.#meta.length / META;
  }

  /** The bytes command c's offsets point into: the chunk read, or an inline command's re-encoding. */
  bytes(c: number): Buffer {
    return this.#inline?.get(c) ?? this.buf;
  }

  argc(c: number): number {
    return this.#meta[c * META + 1]!;
  }

  argStart(c: number, a: number): number {
    return this.#offsets[this.#meta[c * META]! + 2 * a]!;
  }

  argEnd(c: number, a: number): number {
    return this.#offsets[this.#meta[c * META]! + 2 * a + 1]!;
  }

  rawStart(c: number): number {
    return this.#meta[c * META + 2]!;
  }

  rawEnd(c: number): number {
    return this.#meta[c * META + 3]!;
  }

  /** The command's size as the client sent it. */
  sentBytes(c: number): number {
    return this.#meta[c * META + 4]!;
  }

  /** Argument a as text, without a view. */
  argText(c: number, a: number, encoding: 'latin1' | 'utf8' = 'latin1'): string {
    return this.bytes(c).toString(encoding, this.argStart(c, a), this.argEnd(c, a));
  }

  /** Argument a as a view of its bytes (a new object each call). */
  arg(c: number, a: number): Buffer {
    return this.bytes(c).subarray(this.argStart(c, a), this.argEnd(c, a));
  }

  args(c: number): Buffer[] {
    const out: Buffer[] = [];
    for (let a = 0; a < this.argc(c); a++) out.push(this.arg(c, a));
    return out;
  }

  /** The command's RESP bytes as a view. */
  raw(c: number): Buffer {
    return this.bytes(c).subarray(this.rawStart(c), this.rawEnd(c));
  }
}

/**
 * Client bytes → whole commands, however the bytes are split: RESP arrays of bulk strings
 * (what every client library sends, pipelined or not) and inline commands (a line of words, as
 * telnet users type). A command is handed out once all of it has arrived; the rest waits for
 * the next chunk. Anything else is a protocol error: the caller refuses the connection.
 */
export class CommandReader {
  #pending: Buffer = Buffer.alloc(0);
  /** Where the header line #number last read ends (past its CRLF). */
  #end = 0;
  // The batch being read.
  #meta: number[] = [];
  #offsets: number[] = [];
  #inline: Map<number, Buffer> | null = null;

  constructor(private readonly limits: CommandLimits = DEFAULT_COMMAND_LIMITS) {}

  /** Bytes held for a command not complete yet. */
  get buffered(): number {
    return this.#pending.length;
  }

  push(chunk: Buffer): CommandBatch {
    const buf = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    this.#meta = [];
    this.#offsets = [];
    this.#inline = null;
    let at = 0;
    while (at < buf.length) {
      const end = buf[at] === 42 /* * */ ? this.#array(buf, at) : this.#inlineCommand(buf, at);
      if (end === -1) break;
      at = end;
    }
    this.#pending = at === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(at));
    if (this.#pending.length > this.limits.maxCommandBytes) throw new RespProtocolError(`a command of more than ${this.limits.maxCommandBytes} bytes`);
    return new CommandBatch(buf, this.#meta, this.#offsets, this.#inline);
  }

  /** One RESP array from `start` into the batch: where it ends, or -1 when it has not all arrived. */
  #array(buf: Buffer, start: number): number {
    const count = this.#number(buf, start + 1);
    if (count === INCOMPLETE) return -1;
    if (count > this.limits.maxArgs) throw new RespProtocolError(`a command of ${count} arguments is past the limit`);
    let at = this.#end;
    if (count <= 0) return at; // "*0" / "*-1": Redis ignores them too
    const offsets = this.#offsets;
    const first = offsets.length;
    for (let i = 0; i < count; i++) {
      const length = at < buf.length ? this.#bulkLength(buf, at) : INCOMPLETE;
      if (length === INCOMPLETE) {
        offsets.length = first;
        return -1;
      }
      const dataStart = this.#end;
      if (dataStart + length + 2 > buf.length) {
        offsets.length = first;
        if (dataStart + length - start > this.limits.maxCommandBytes) throw new RespProtocolError(`a command of more than ${this.limits.maxCommandBytes} bytes`);
        return -1;
      }
      if (buf[dataStart + length] !== 13 || buf[dataStart + length + 1] !== 10) throw new RespProtocolError('an argument not ended by CRLF');
      offsets.push(dataStart, dataStart + length);
      at = dataStart + length + 2;
    }
    this.#meta.push(first, count, start, at, at - start);
    return at;
  }

  /** A "$<length>" line at `at`: the length (its data starts at #end), or INCOMPLETE. */
  #bulkLength(buf: Buffer, at: number): number {
    if (buf[at] !== 36 /* $ */) throw new RespProtocolError('a command argument that is not a bulk string');
    const length = this.#number(buf, at + 1);
    if (length !== INCOMPLETE && (length < 0 || length > this.limits.maxCommandBytes)) throw new RespProtocolError(`an argument of ${length} bytes`);
    return length;
  }

  /**
   * The decimal of a header line ("*3", "$5") whose digits start at `from`, read in one pass (a
   * pipeline has three such lines per SET); #end is then past its CRLF. INCOMPLETE when the line
   * has not all arrived. At most 15 digits, so a header line is bounded without its own limit.
   */
  #number(buf: Buffer, from: number): number {
    let i = from;
    const negative = buf[i] === 45; /* - */
    if (negative) i++;
    const digitsFrom = i;
    let value = 0;
    for (; i < buf.length; i++) {
      const c = buf[i]!;
      if (c === 13) break;
      const d = c - 48;
      if (d < 0 || d > 9 || i - digitsFrom >= 15) throw new RespProtocolError('a length or integer that is not a number');
      value = value * 10 + d;
    }
    if (i + 1 >= buf.length) return INCOMPLETE;
    if (buf[i + 1] !== 10) throw new RespProtocolError('a CR not followed by LF');
    if (i === digitsFrom) throw new RespProtocolError('a length or integer that is not a number');
    this.#end = i + 2;
    return negative ? -value : value;
  }

  /** An inline command (a line of words) from `start`, re-encoded into the batch: where its line ends, or -1. */
  #inlineCommand(buf: Buffer, start: number): number {
    const lf = buf.indexOf(10, start);
    if (lf === -1) {
      if (buf.length - start > this.limits.maxLineBytes) throw new RespProtocolError('an inline command longer than the limit');
      return -1;
    }
    if (lf - start > this.limits.maxLineBytes) throw new RespProtocolError('an inline command longer than the limit');
    const text = buf.toString('utf8', start, lf > start && buf[lf - 1] === 13 ? lf - 1 : lf);
    const words = text.split(/[ \t]+/).filter((w) => w.length > 0);
    if (words.length === 0) return lf + 1;
    const args = words.map((w) => Buffer.from(w, 'utf8'));
    const encoded = encodeCommand(args);
    const first = this.#offsets.length;
    // Each argument's data follows its "$<length>\r\n" line in the re-encoding.
    let at = encoded.indexOf(10) + 1;
    for (const arg of args) {
      at = encoded.indexOf(10, at) + 1;
      this.#offsets.push(at, at + arg.length);
      at += arg.length + 2;
    }
    (this.#inline ??= new Map()).set(this.#meta.length / META, encoded);
    this.#meta.push(first, args.length, 0, encoded.length, lf + 1 - start);
    return lf + 1;
  }
}
