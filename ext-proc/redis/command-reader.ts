import { encodeCommand, RespProtocolError } from '../../common/redis/resp.ts';

/** One client command: its arguments (args[0] the name, as sent) and the RESP bytes to forward; views of the chunk read. */
export interface ParsedCommand {
  args: Buffer[];
  /** RESP array bytes: as the client sent them, or an inline command re-encoded (redis_proxy reads arrays only). */
  raw: Buffer;
  /** The command's size as the client sent it. */
  bytes: number;
}

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

export const DEFAULT_COMMAND_LIMITS: CommandLimits = Object.freeze({ maxCommandBytes: 64 * 1024 * 1024, maxArgs: 1024 * 1024, maxLineBytes: 64 * 1024 });

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

  constructor(private readonly limits: CommandLimits = DEFAULT_COMMAND_LIMITS) {}

  /** Bytes held for a command not complete yet. */
  get buffered(): number {
    return this.#pending.length;
  }

  push(chunk: Buffer): ParsedCommand[] {
    const buf = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const commands: ParsedCommand[] = [];
    let at = 0;
    while (at < buf.length) {
      const parsed = buf[at] === 42 /* * */ ? this.#array(buf, at) : this.#inline(buf, at);
      if (parsed === null) break;
      if (parsed.command !== null) commands.push(parsed.command);
      at = parsed.end;
    }
    this.#pending = at === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(at));
    if (this.#pending.length > this.limits.maxCommandBytes) throw new RespProtocolError(`a command of more than ${this.limits.maxCommandBytes} bytes`);
    return commands;
  }

  #array(buf: Buffer, start: number): { command: ParsedCommand | null; end: number } | null {
    const count = this.#number(buf, start + 1);
    if (count === INCOMPLETE) return null;
    if (count > this.limits.maxArgs) throw new RespProtocolError(`a command of ${count} arguments is past the limit`);
    let at = this.#end;
    if (count <= 0) return { command: null, end: at }; // "*0" / "*-1": Redis ignores them too
    const args: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      if (at >= buf.length) return null;
      if (buf[at] !== 36 /* $ */) throw new RespProtocolError('a command argument that is not a bulk string');
      const length = this.#number(buf, at + 1);
      if (length === INCOMPLETE) return null;
      if (length < 0 || length > this.limits.maxCommandBytes) throw new RespProtocolError(`an argument of ${length} bytes`);
      const dataStart = this.#end;
      if (dataStart + length + 2 > buf.length) {
        if (dataStart + length - start > this.limits.maxCommandBytes) throw new RespProtocolError(`a command of more than ${this.limits.maxCommandBytes} bytes`);
        return null;
      }
      if (buf[dataStart + length] !== 13 || buf[dataStart + length + 1] !== 10) throw new RespProtocolError('an argument not ended by CRLF');
      args.push(buf.subarray(dataStart, dataStart + length));
      at = dataStart + length + 2;
    }
    // Views of the chunk, not copies: nothing keeps them past the chunk's own processing.
    const raw = buf.subarray(start, at);
    return { command: { args, raw, bytes: raw.length }, end: at };
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

  #inline(buf: Buffer, start: number): { command: ParsedCommand | null; end: number } | null {
    const lf = buf.indexOf(10, start);
    if (lf === -1) {
      if (buf.length - start > this.limits.maxLineBytes) throw new RespProtocolError('an inline command longer than the limit');
      return null;
    }
    if (lf - start > this.limits.maxLineBytes) throw new RespProtocolError('an inline command longer than the limit');
    const text = buf.toString('utf8', start, lf > start && buf[lf - 1] === 13 ? lf - 1 : lf);
    const words = text.split(/[ \t]+/).filter((w) => w.length > 0);
    if (words.length === 0) return { command: null, end: lf + 1 };
    const args = words.map((w) => Buffer.from(w, 'utf8'));
    return { command: { args, raw: encodeCommand(args), bytes: lf + 1 - start }, end: lf + 1 };
  }

}
