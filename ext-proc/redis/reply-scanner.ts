import { lineEnd, parseInteger, RespProtocolError } from '../../common/redis/resp.ts';

/** One whole reply found in a chunk: where it ends in that chunk, its size, whether it is an error. */
export interface ReplyEnd {
  /** Offset just past the reply, in the chunk that completed it. */
  end: number;
  bytes: number;
  error: boolean;
  /** First line of an error reply (e.g. "NOPERM …"), at most 200 characters; '' otherwise. */
  errorText: string;
}

const MAX_LINE = 64 * 1024;
const MAX_DEPTH = 64;

/**
 * Server bytes → reply boundaries, chunk by chunk, without holding the replies: only a header
 * line split across chunks is kept (bounded), bulk payloads are counted and skipped. So a 100 MB
 * value streams through as it comes, and the session still knows which command each reply
 * answers and how big it was.
 */
export class ReplyScanner {
  #line: Buffer | null = null;
  #skip = 0;
  #owed: number[] = [];
  #bytes = 0;
  #first: { error: boolean; text: string } | null = null;

  push(chunk: Buffer): ReplyEnd[] {
    const ends: ReplyEnd[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.#skip > 0) {
        const take = Math.min(this.#skip, chunk.length - at);
        this.#skip -= take;
        this.#bytes += take;
        at += take;
        if (this.#skip === 0) this.#valueDone(ends, at);
        continue;
      }
      // A header line: possibly begun in the previous chunk.
      let line: Buffer;
      let consumed: number;
      if (this.#line !== null) {
        const lf = chunk.indexOf(10, at);
        if (lf === -1) {
          this.#line = Buffer.concat([this.#line, chunk.subarray(at)]);
          if (this.#line.length > MAX_LINE) throw new RespProtocolError('a reply line longer than the limit');
          this.#bytes += chunk.length - at;
          return ends;
        }
        line = Buffer.concat([this.#line, chunk.subarray(at, lf + 1)]);
        consumed = lf + 1 - at;
        this.#line = null;
      } else {
        const cr = chunk.indexOf(13, at);
        if (cr === -1 || cr + 1 >= chunk.length) {
          this.#line = Buffer.from(chunk.subarray(at));
          if (this.#line.length > MAX_LINE) throw new RespProtocolError('a reply line longer than the limit');
          this.#bytes += chunk.length - at;
          return ends;
        }
        line = chunk.subarray(at, cr + 2);
        consumed = cr + 2 - at;
      }
      this.#bytes += consumed;
      at += consumed;
      this.#header(line, ends, at);
    }
    return ends;
  }

  #header(line: Buffer, ends: ReplyEnd[], at: number): void {
    const cr = lineEnd(line, 1);
    if (cr !== line.length - 2) throw new RespProtocolError('a reply line not ended by CRLF');
    const type = line[0]!;
    if (this.#first === null) {
      const error = type === 45 || type === 33;
      this.#first = { error, text: type === 45 ? line.toString('utf8', 1, Math.min(cr, 201)) : '' };
    }
    switch (type) {
      case 43: case 45: case 58: case 95: case 35: case 44: case 40:
        this.#valueDone(ends, at);
        return;
      case 36: case 33: case 61: {
        const length = parseInteger(line, 1, cr);
        if (length < -1) throw new RespProtocolError('a negative bulk length');
        if (length === -1) this.#valueDone(ends, at);
        else this.#skip = length + 2;
        return;
      }
      case 42: case 126: case 62: case 37: case 124: {
        const count = parseInteger(line, 1, cr);
        let owed = count <= 0 ? 0 : type === 37 || type === 124 ? count * 2 : count;
        if (type === 124) owed += 1;
        if (owed === 0) {
          this.#valueDone(ends, at);
          return;
        }
        if (this.#owed.length >= MAX_DEPTH) throw new RespProtocolError('replies nested past the limit');
        this.#owed.push(owed);
        return;
      }
      default:
        throw new RespProtocolError(`unknown RESP type byte 0x${type.toString(16)} in a reply`);
    }
  }

  #valueDone(ends: ReplyEnd[], at: number): void {
    while (this.#owed.length > 0) {
      const left = this.#owed[this.#owed.length - 1]! - 1;
      if (left > 0) {
        this.#owed[this.#owed.length - 1] = left;
        return;
      }
      this.#owed.pop();
    }
    ends.push({ end: at, bytes: this.#bytes, error: this.#first?.error ?? false, errorText: this.#first?.text ?? '' });
    this.#bytes = 0;
    this.#first = null;
  }
}
