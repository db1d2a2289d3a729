import type { StatementLog } from './statement-log.ts';
import { B, decodeCommandComplete, decodeDataRow, decodeFields, decodeRowDescription, encodeDataRow, type ColumnDescription } from './wire/backend.ts';
import { BodyReader } from './wire/reader.ts';
import { PgProtocolError } from './wire/errors.ts';
import { Framer, type Frame } from './wire/framer.ts';
import { ChunkOutput } from './output.ts';
import type { ResultContext } from './result-context.ts';
import { ResultUnmaskableError } from './result-masking.ts';

/** Masks the rows of one result (RowDescription → DataRows). */
export interface ResultRowMasker {
  readonly active: boolean;
  maskRow(values: (Buffer | null)[]): { values: (Buffer | null)[]; changed: boolean };
}

/** Masks the CopyData rows of one COPY … TO STDOUT. */
export interface CopyMasker {
  readonly active: boolean;
  maskData(row: Buffer): Buffer;
}

/**
 * The session's masking profile, as the result flow uses it. Both factories may throw a
 * PgProtocolError with ERR_PG_RESULT_UNMASKABLE: a result the profile could apply to but the
 * gateway cannot read (a binary column of an unknown type, binary COPY) ends the session rather
 * than pass unmasked.
 */
export interface RowMaskerSource {
  /** The profile's name, for the record. */
  readonly profile: string;
  rows(columns: readonly ColumnDescription[]): ResultRowMasker;
  copy(format: 'text' | 'csv' | 'binary'): CopyMasker;
  /** Masks a statement's text or a parameter for the session record. */
  text(value: string): string;
  /** Result values masked so far in the session, by recognizer / pattern / column rule. */
  matches(): Record<string, number>;
}

export interface ResultFlowOptions {
  log: StatementLog;
  maskers: RowMaskerSource | null;
  /** With maskers: which columns rows belong to when no RowDescription precedes them (prepared statements). */
  context: ResultContext | null;
  maxMessageBytes: number;
}

/**
 * What the server sends back, on its way to the client. Every message is seen (command tags,
 * errors and ReadyForQuery feed the statement log); with a masking profile, DataRows and CopyData
 * are rewritten value by value, everything else passes as the bytes it came in. Without one, the
 * chunk leaves untouched and only the few small messages the log needs are read: the scanner
 * skips row bodies without copying them.
 */
export class ResultFlow {
  private readonly framer: Framer | null;
  private readonly scanner: Scanner | null;
  private rows: ResultRowMasker | null = null;
  private copy: CopyMasker | null = null;

  constructor(private readonly options: ResultFlowOptions) {
    if (options.maskers) {
      this.framer = new Framer({ startup: false, maxMessageBytes: options.maxMessageBytes });
      this.scanner = null;
    } else {
      this.framer = null;
      this.scanner = new Scanner((frame) => this.observe(frame), options.maxMessageBytes);
    }
  }

  /** The bytes to send the client for one chunk from the server. */
  chunk(data: Buffer): Buffer {
    if (this.scanner) {
      this.scanner.push(data);
      return data;
    }
    const out = new ChunkOutput();
    for (const frame of this.framer!.push(data)) this.mask(frame, out);
    return out.take();
  }

  /** No message is half-delivered to the client: a FATAL may be sent now. */
  get atBoundary(): boolean {
    return this.scanner ? this.scanner.atBoundary : this.framer!.pendingBytes === 0;
  }

  private mask(frame: Frame, out: ChunkOutput): void {
    switch (frame.type) {
      case B.RowDescription: {
        const columns = decodeRowDescription(frame);
        const live = this.options.context ? this.options.context.rowDescription(columns) : columns;
        if (live !== null) this.rows = this.options.maskers!.rows(live);
        out.keep(frame.bytes);
        return;
      }
      case B.NoData:
        this.options.context?.noData();
        return out.keep(frame.bytes);
      case B.ParseComplete:
        this.options.context?.answered('parse');
        return out.keep(frame.bytes);
      case B.BindComplete:
        this.options.context?.answered('bind');
        return out.keep(frame.bytes);
      case B.CloseComplete:
        this.options.context?.answered('close');
        return out.keep(frame.bytes);
      case B.DataRow: {
        if (this.rows === null) {
          // Rows of a prepared statement's Execute: their columns came with an earlier Describe.
          const context = this.options.context;
          const columns = context?.executionColumns();
          if (columns !== undefined) {
            this.rows = this.options.maskers!.rows(columns);
          } else if (context?.executionIsText()) {
            // An Execute nobody described: no names or types, but every value is text, so the
            // recognizers still apply (a column rule for any name applies to these unnamed ones too).
            const values = new BodyReader(frame.payload, 'DataRow').int16();
            this.rows = this.options.maskers!.rows(Array.from({ length: values }, () => UNNAMED_TEXT_COLUMN));
          } else {
            throw new ResultUnmaskableError(null, null, 'rows arrived whose columns the gateway cannot place');
          }
        }
        if (!this.rows.active) return out.keep(frame.bytes);
        const values = decodeDataRow(frame);
        const masked = this.rows.maskRow(values);
        if (!masked.changed) return out.keep(frame.bytes);
        let changed = 0;
        for (let i = 0; i < values.length; i++) if (masked.values[i] !== values[i]) changed++;
        this.options.log.masked(changed);
        return out.replace(encodeDataRow(masked.values));
      }
      case B.CopyOutResponse: {
        const format = new BodyReader(frame.payload, 'CopyOutResponse').byte() === 1 ? 'binary' : (this.options.log.current?.copyFormat ?? 'text');
        this.copy = this.options.maskers!.copy(format);
        out.keep(frame.bytes);
        return;
      }
      case B.CopyData: {
        if (!this.copy?.active) return out.keep(frame.bytes);
        const row = this.copy.maskData(frame.payload);
        if (row === frame.payload || row.equals(frame.payload)) return out.keep(frame.bytes);
        this.options.log.masked(1);
        return out.replace(copyData(row));
      }
      case B.CopyDone:
        this.copy = null;
        out.keep(frame.bytes);
        return;
      default:
        this.observe(frame);
        out.keep(frame.bytes);
    }
  }

  /** The messages the statement log follows. */
  private observe(frame: Frame): void {
    switch (frame.type) {
      case B.CommandComplete:
        this.rows = null;
        this.options.context?.executionEnded();
        this.options.log.complete(decodeCommandComplete(frame));
        return;
      case B.ErrorResponse: {
        this.rows = null;
        this.copy = null;
        this.options.context?.error();
        const fields = decodeFields(frame);
        // A server message can quote values ("invalid input syntax for type integer: \"4111 …\""):
        // the record keeps it masked like the statement text it came from.
        const message = fields.get('M') ?? '';
        this.options.log.error(fields.get('C') ?? 'XX000', this.options.maskers ? this.options.maskers.text(message) : message);
        return;
      }
      case B.ReadyForQuery:
        this.rows = null;
        this.options.context?.ready();
        this.options.log.ready();
        return;
      case B.EmptyQueryResponse:
      case B.PortalSuspended:
        this.rows = null;
        this.options.context?.executionEnded();
        this.options.log.executionEnded();
        return;
    }
  }
}

const UNNAMED_TEXT_COLUMN: ColumnDescription = { name: '', tableOid: 0, attribute: 0, typeOid: 25, typeSize: -1, typeModifier: -1, format: 0 };

const OBSERVED = new Set<number>([B.CommandComplete, B.ErrorResponse, B.ReadyForQuery, B.EmptyQueryResponse, B.PortalSuspended]);

/**
 * Follows message boundaries in a stream without holding it: headers are read (a split header is
 * kept, 5 bytes at most), bodies of the messages the log needs are gathered (they are small, and
 * capped), every other body is skipped by count.
 */
class Scanner {
  private header = Buffer.alloc(5);
  private headerHave = 0;
  private skip = 0;
  private gather: { type: number; parts: Buffer[]; need: number; have: number } | null = null;

  constructor(private readonly onFrame: (frame: Frame) => void, private readonly maxMessageBytes: number) {}

  get atBoundary(): boolean {
    return this.headerHave === 0 && this.skip === 0 && this.gather === null;
  }

  push(data: Buffer): void {
    let at = 0;
    while (at < data.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, data.length - at);
        this.skip -= n;
        at += n;
        continue;
      }
      if (this.gather) {
        const g = this.gather;
        const n = Math.min(g.need - g.have, data.length - at);
        g.parts.push(data.subarray(at, at + n));
        g.have += n;
        at += n;
        if (g.have === g.need) {
          this.gather = null;
          const payload = g.parts.length === 1 ? g.parts[0]! : Buffer.concat(g.parts);
          this.onFrame({ type: g.type, payload, bytes: payload });
        }
        continue;
      }
      const n = Math.min(5 - this.headerHave, data.length - at);
      data.copy(this.header, this.headerHave, at, at + n);
      this.headerHave += n;
      at += n;
      if (this.headerHave < 5) break;
      this.headerHave = 0;
      const type = this.header[0]!;
      const length = this.header.readInt32BE(1);
      if (length < 4) throw new PgProtocolError(`server message length ${length} is below the minimum 4`);
      const body = length - 4;
      if (OBSERVED.has(type)) {
        if (body + 1 > this.maxMessageBytes) throw new PgProtocolError(`server message of ${body + 5} bytes exceeds the limit`, 'ERR_PG_MESSAGE_TOO_LARGE');
        if (body === 0) this.onFrame({ type, payload: Buffer.alloc(0), bytes: Buffer.alloc(0) });
        else this.gather = { type, parts: [], need: body, have: 0 };
      } else {
        this.skip = body;
      }
    }
  }
}

function copyData(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + payload.length);
  out[0] = B.CopyData;
  out.writeInt32BE(4 + payload.length, 1);
  payload.copy(out, 5);
  return out;
}
