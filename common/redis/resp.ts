import { SluiceError } from '../errors.ts';

/*
 * RESP (Redis serialization protocol, versions 2 and 3), as much as the gateway needs: where one
 * value ends (replies are counted and sized, never materialised) and the first line of a simple
 * reply. Bounded: a length, an element count or a nesting depth past the limits is a protocol
 * error, never a buffer grown without end.
 */

export interface RespLimits {
  /** Largest bulk string (bytes). Redis' own default proto-max-bulk-len is 512 MB. */
  maxBulkBytes: number;
  /** Most elements of one array, map, set or push. */
  maxElements: number;
  /** Deepest nesting of aggregates. */
  maxDepth: number;
}

export const DEFAULT_RESP_LIMITS: RespLimits = Object.freeze({ maxBulkBytes: 512 * 1024 * 1024, maxElements: 1024 * 1024, maxDepth: 32 });

/** Bytes that break the protocol (or its bounds); the connection cannot be read further. */
export class RespProtocolError extends SluiceError {
  constructor(message: string) {
    super('ERR_REDIS_PROTOCOL', message);
  }
}

const CR = 13;
const LF = 10;

/** The index of the CR of the line starting at `start`, or -1 when the line is not complete. */
export function lineEnd(buf: Buffer, start: number): number {
  const cr = buf.indexOf(CR, start);
  if (cr === -1 || cr + 1 >= buf.length) return -1;
  if (buf[cr + 1] !== LF) throw new RespProtocolError('a CR not followed by LF');
  return cr;
}

/** A decimal integer between start and end (an optional leading "-"). */
export function parseInteger(buf: Buffer, start: number, end: number): number {
  let i = start;
  let negative = false;
  if (buf[i] === 45 /* - */) {
    negative = true;
    i++;
  }
  if (i >= end || end - i > 15) throw new RespProtocolError('a length or integer that is not a number');
  let value = 0;
  for (; i < end; i++) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) throw new RespProtocolError('a length or integer that is not a number');
    value = value * 10 + d;
  }
  return negative ? -value : value;
}

/** One complete value found by scanValue: where it ends (exclusive) and its type byte ("+", "-", "$", "*", ...). */
export interface ScannedValue {
  end: number;
  type: string;
  /** An error reply ("-…" or "!…"). */
  error: boolean;
}

/**
 * Where the value starting at `start` ends, or null when `buf` does not hold all of it yet.
 * Iterative (an explicit count of values still owed per level), so a deep or wide reply costs
 * no stack. Throws RespProtocolError on bytes that are not RESP.
 */
export function scanValue(buf: Buffer, start: number, limits: RespLimits = DEFAULT_RESP_LIMITS): ScannedValue | null {
  const pending: number[] = [];
  let at = start;
  let first: { type: string; error: boolean } | undefined;
  for (;;) {
    if (at >= buf.length) return null;
    const type = buf[at]!;
    const cr = lineEnd(buf, at + 1);
    if (cr === -1) return null;
    first ??= { type: String.fromCharCode(type), error: type === 45 || type === 33 };
    let owed = 0;
    switch (type) {
      case 43: // + simple string
      case 45: // - error
      case 58: // : integer
      case 95: // _ null (RESP3)
      case 35: // # boolean
      case 44: // , double
      case 40: // ( big number
        at = cr + 2;
        break;
      case 36: // $ bulk string
      case 33: // ! bulk error
      case 61: { // = verbatim string
        const length = parseInteger(buf, at + 1, cr);
        if (length < -1 || length > limits.maxBulkBytes) throw new RespProtocolError(`a bulk string of ${length} bytes is past the limit`);
        if (length === -1) {
          at = cr + 2;
          break;
        }
        const endOfData = cr + 2 + length;
        if (endOfData + 2 > buf.length) return null;
        if (buf[endOfData] !== CR || buf[endOfData + 1] !== LF) throw new RespProtocolError('a bulk string not ended by CRLF');
        at = endOfData + 2;
        break;
      }
      case 42: // * array
      case 126: // ~ set
      case 62: // > push
      case 37: // % map (two values per entry)
      case 124: { // | attribute (precedes the value it describes)
        const count = parseInteger(buf, at + 1, cr);
        if (count < -1 || count > limits.maxElements) throw new RespProtocolError(`an aggregate of ${count} elements is past the limit`);
        owed = count <= 0 ? 0 : type === 37 || type === 124 ? count * 2 : count;
        if (type === 124) owed += 1;
        at = cr + 2;
        break;
      }
      default:
        throw new RespProtocolError(`unknown RESP type byte 0x${type.toString(16)}`);
    }
    if (owed > 0) {
      if (pending.length >= limits.maxDepth) throw new RespProtocolError('aggregates nested past the limit');
      pending.push(owed);
      continue;
    }
    // One value is complete: pay it off the innermost aggregate(s).
    while (pending.length > 0) {
      const left = pending[pending.length - 1]! - 1;
      if (left > 0) {
        pending[pending.length - 1] = left;
        break;
      }
      pending.pop();
    }
    if (pending.length === 0) return { end: at, ...first };
  }
}

/** The text of a simple string or error reply ("+OK", "-NOPERM …") that starts at `start`; '' for other types. */
export function simpleText(buf: Buffer, start: number): string {
  const type = buf[start];
  if (type !== 43 && type !== 45) return '';
  const cr = lineEnd(buf, start + 1);
  return cr === -1 ? '' : buf.toString('utf8', start + 1, cr);
}

/** A command as a RESP array of bulk strings, the way clients send it. */
export function encodeCommand(args: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === 'string' ? Buffer.from(arg, 'utf8') : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** An error reply as the client reads it: `-<text>\r\n`, the text kept to one line. */
export function encodeError(text: string): Buffer {
  return Buffer.from(`-${text.replace(/[\r\n]+/g, ' ')}\r\n`, 'utf8');
}
