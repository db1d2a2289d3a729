import type { Frame } from './framer.ts';
import { BodyReader, BodyWriter } from './reader.ts';

/** Messages a server sends, as far as the gateway reads them. */
export const B = {
  Authentication: 'R'.charCodeAt(0),
  ErrorResponse: 'E'.charCodeAt(0),
  NoticeResponse: 'N'.charCodeAt(0),
  ReadyForQuery: 'Z'.charCodeAt(0),
  RowDescription: 'T'.charCodeAt(0),
  DataRow: 'D'.charCodeAt(0),
  CommandComplete: 'C'.charCodeAt(0),
  ParameterStatus: 'S'.charCodeAt(0),
  BackendKeyData: 'K'.charCodeAt(0),
  CopyOutResponse: 'H'.charCodeAt(0),
  CopyInResponse: 'G'.charCodeAt(0),
  CopyBothResponse: 'W'.charCodeAt(0),
  CopyData: 'd'.charCodeAt(0),
  CopyDone: 'c'.charCodeAt(0),
  EmptyQueryResponse: 'I'.charCodeAt(0),
  ParseComplete: '1'.charCodeAt(0),
  BindComplete: '2'.charCodeAt(0),
  CloseComplete: '3'.charCodeAt(0),
  NoData: 'n'.charCodeAt(0),
  ParameterDescription: 't'.charCodeAt(0),
  PortalSuspended: 's'.charCodeAt(0),
} as const;

/** Authentication request codes (the int32 after 'R'). */
export const AUTH = { Ok: 0, CleartextPassword: 3, MD5Password: 5, SASL: 10, SASLContinue: 11, SASLFinal: 12 } as const;

export type AuthenticationMessage =
  | { code: typeof AUTH.Ok }
  | { code: typeof AUTH.CleartextPassword }
  | { code: typeof AUTH.MD5Password; salt: Buffer }
  | { code: typeof AUTH.SASL; mechanisms: string[] }
  | { code: typeof AUTH.SASLContinue; data: Buffer }
  | { code: typeof AUTH.SASLFinal; data: Buffer }
  | { code: number; other: true };

export function decodeAuthentication(frame: Frame): AuthenticationMessage {
  const r = new BodyReader(frame.payload, 'Authentication');
  const code = r.int32();
  switch (code) {
    case AUTH.Ok:
      return { code: AUTH.Ok };
    case AUTH.CleartextPassword:
      return { code: AUTH.CleartextPassword };
    case AUTH.MD5Password:
      return { code, salt: r.bytes(4) };
    case AUTH.SASL: {
      const mechanisms: string[] = [];
      while (true) {
        const m = r.cstring();
        if (m === '') break;
        mechanisms.push(m);
      }
      return { code, mechanisms };
    }
    case AUTH.SASLContinue:
      return { code: AUTH.SASLContinue, data: r.rest() };
    case AUTH.SASLFinal:
      return { code: AUTH.SASLFinal, data: r.rest() };
    default:
      return { code, other: true };
  }
}

export function encodeAuthentication(code: number, data?: Buffer): Buffer {
  const w = new BodyWriter().int32(code);
  if (data) w.bytes(data);
  return w.message('R');
}

/** ErrorResponse / NoticeResponse fields by their one-letter code (S severity, C SQLSTATE, M message…). */
export function decodeFields(frame: Frame): Map<string, string> {
  const r = new BodyReader(frame.payload, 'ErrorResponse');
  const fields = new Map<string, string>();
  while (!r.done) {
    const code = r.byte();
    if (code === 0) break;
    fields.set(String.fromCharCode(code), r.cstring());
  }
  return fields;
}

export interface ErrorFields {
  severity: 'ERROR' | 'FATAL';
  sqlstate: string;
  message: string;
  detail?: string;
  hint?: string;
}

export function encodeErrorResponse(error: ErrorFields): Buffer {
  const w = new BodyWriter()
    .byte(0x53).cstring(error.severity)
    .byte(0x56).cstring(error.severity)
    .byte(0x43).cstring(error.sqlstate)
    .byte(0x4d).cstring(error.message);
  if (error.detail) w.byte(0x44).cstring(error.detail);
  if (error.hint) w.byte(0x48).cstring(error.hint);
  return w.byte(0).message('E');
}

export function encodeReadyForQuery(status: 'I' | 'T' | 'E'): Buffer {
  return new BodyWriter().byte(status.charCodeAt(0)).message('Z');
}

export function decodeReadyForQuery(frame: Frame): 'I' | 'T' | 'E' {
  return String.fromCharCode(frame.payload[0] ?? 0x49) as 'I' | 'T' | 'E';
}

export function decodeCommandComplete(frame: Frame): string {
  return new BodyReader(frame.payload, 'CommandComplete').cstring();
}

export interface ColumnDescription {
  name: string;
  tableOid: number;
  attribute: number;
  typeOid: number;
  typeSize: number;
  typeModifier: number;
  format: 0 | 1;
}

export function decodeRowDescription(frame: Frame): ColumnDescription[] {
  const r = new BodyReader(frame.payload, 'RowDescription');
  const columns: ColumnDescription[] = [];
  for (let i = 0, n = r.int16(); i < n; i++) {
    columns.push({
      name: r.cstring(), tableOid: r.int32(), attribute: r.int16(), typeOid: r.int32(),
      typeSize: r.int16(), typeModifier: r.int32(), format: r.int16() === 1 ? 1 : 0,
    });
  }
  return columns;
}

export function encodeRowDescription(columns: readonly ColumnDescription[]): Buffer {
  const w = new BodyWriter().int16(columns.length);
  for (const c of columns) w.cstring(c.name).int32(c.tableOid).int16(c.attribute).int32(c.typeOid).int16(c.typeSize).int32(c.typeModifier).int16(c.format);
  return w.message('T');
}

export function decodeDataRow(frame: Frame): (Buffer | null)[] {
  const r = new BodyReader(frame.payload, 'DataRow');
  const values: (Buffer | null)[] = [];
  for (let i = 0, n = r.int16(); i < n; i++) {
    const length = r.int32();
    values.push(length < 0 ? null : r.bytes(length));
  }
  return values;
}

export function encodeDataRow(values: readonly (Buffer | null)[]): Buffer {
  let length = 4 + 2;
  for (const v of values) length += 4 + (v === null ? 0 : v.length);
  const out = Buffer.allocUnsafe(length + 1);
  out[0] = B.DataRow;
  out.writeInt32BE(length, 1);
  out.writeInt16BE(values.length, 5);
  let at = 7;
  for (const v of values) {
    if (v === null) {
      out.writeInt32BE(-1, at);
      at += 4;
    } else {
      out.writeInt32BE(v.length, at);
      v.copy(out, at + 4);
      at += 4 + v.length;
    }
  }
  return out;
}

export function encodeParameterStatus(name: string, value: string): Buffer {
  return new BodyWriter().cstring(name).cstring(value).message('S');
}

export function encodeCommandComplete(tag: string): Buffer {
  return new BodyWriter().cstring(tag).message('C');
}

/** The answer to SSLRequest / GSSENCRequest when the gateway does not speak it: one byte 'N'. */
export const ENCRYPTION_DECLINED = Buffer.from('N');
