import { PgProtocolError } from './errors.ts';
import { CANCEL_REQUEST_CODE, GSSENC_REQUEST_CODE, PROTOCOL_3_0, SSL_REQUEST_CODE, type Frame } from './framer.ts';
import { BodyReader, BodyWriter } from './reader.ts';

/** Messages a client sends, as far as the gateway reads them. Type bytes as characters. */
export const F = {
  Query: 'Q'.charCodeAt(0),
  Parse: 'P'.charCodeAt(0),
  Bind: 'B'.charCodeAt(0),
  Execute: 'E'.charCodeAt(0),
  Describe: 'D'.charCodeAt(0),
  Close: 'C'.charCodeAt(0),
  Sync: 'S'.charCodeAt(0),
  Flush: 'H'.charCodeAt(0),
  Terminate: 'X'.charCodeAt(0),
  Password: 'p'.charCodeAt(0),
  CopyData: 'd'.charCodeAt(0),
  CopyDone: 'c'.charCodeAt(0),
  CopyFail: 'f'.charCodeAt(0),
  FunctionCall: 'F'.charCodeAt(0),
} as const;

export type StartupPhaseMessage =
  | { kind: 'ssl-request' }
  | { kind: 'gssenc-request' }
  | { kind: 'cancel'; processId: number; secretKey: number }
  | { kind: 'startup'; protocol: number; params: ReadonlyMap<string, string> };

/** One untyped message of the startup phase. */
export function decodeStartupPhase(frame: Frame): StartupPhaseMessage {
  const r = new BodyReader(frame.payload, 'startup message');
  const code = r.int32();
  if (code === SSL_REQUEST_CODE) return { kind: 'ssl-request' };
  if (code === GSSENC_REQUEST_CODE) return { kind: 'gssenc-request' };
  if (code === CANCEL_REQUEST_CODE) return { kind: 'cancel', processId: r.int32(), secretKey: r.int32() };
  if (code >> 16 !== 3) throw new PgProtocolError(`unsupported frontend protocol ${code >> 16}.${code & 0xffff} (3.0 is spoken)`);
  const params = new Map<string, string>();
  while (true) {
    const name = r.cstring();
    if (name === '') break;
    params.set(name, r.cstring());
  }
  return { kind: 'startup', protocol: code, params };
}

export function encodeStartupMessage(params: ReadonlyMap<string, string>): Buffer {
  const w = new BodyWriter().int32(PROTOCOL_3_0);
  for (const [name, value] of params) w.cstring(name).cstring(value);
  return w.byte(0).untyped();
}

/** PasswordMessage: the password (here: the caller's token). */
export function decodePassword(frame: Frame): string {
  return new BodyReader(frame.payload, 'PasswordMessage').cstring();
}

export function encodePassword(password: string): Buffer {
  return new BodyWriter().cstring(password).message('p');
}

export function encodeSaslInitialResponse(mechanism: string, data: Buffer): Buffer {
  return new BodyWriter().cstring(mechanism).int32(data.length).bytes(data).message('p');
}

export function encodeSaslResponse(data: Buffer): Buffer {
  return new BodyWriter().bytes(data).message('p');
}

export function decodeQuery(frame: Frame): string {
  return new BodyReader(frame.payload, 'Query').cstring();
}

export function encodeQuery(text: string): Buffer {
  return new BodyWriter().cstring(text).message('Q');
}

export interface ParseMessage {
  statement: string;
  query: string;
  paramTypes: number[];
}

export function decodeParse(frame: Frame): ParseMessage {
  const r = new BodyReader(frame.payload, 'Parse');
  const statement = r.cstring();
  const query = r.cstring();
  const n = r.int16();
  const paramTypes: number[] = [];
  for (let i = 0; i < n; i++) paramTypes.push(r.int32());
  return { statement, query, paramTypes };
}

export function encodeParse(message: ParseMessage): Buffer {
  const w = new BodyWriter().cstring(message.statement).cstring(message.query).int16(message.paramTypes.length);
  for (const oid of message.paramTypes) w.int32(oid);
  return w.message('P');
}

export interface BindMessage {
  portal: string;
  statement: string;
  paramFormats: number[];
  params: (Buffer | null)[];
  resultFormats: number[];
}

export function decodeBind(frame: Frame): BindMessage {
  const r = new BodyReader(frame.payload, 'Bind');
  const portal = r.cstring();
  const statement = r.cstring();
  const paramFormats: number[] = [];
  for (let i = 0, n = r.int16(); i < n; i++) paramFormats.push(r.int16());
  const params: (Buffer | null)[] = [];
  for (let i = 0, n = r.int16(); i < n; i++) {
    const length = r.int32();
    params.push(length < 0 ? null : r.bytes(length));
  }
  const resultFormats: number[] = [];
  for (let i = 0, n = r.int16(); i < n; i++) resultFormats.push(r.int16());
  return { portal, statement, paramFormats, params, resultFormats };
}

export function encodeBind(message: BindMessage): Buffer {
  const w = new BodyWriter().cstring(message.portal).cstring(message.statement).int16(message.paramFormats.length);
  for (const f of message.paramFormats) w.int16(f);
  w.int16(message.params.length);
  for (const p of message.params) {
    if (p === null) w.int32(-1);
    else w.int32(p.length).bytes(p);
  }
  w.int16(message.resultFormats.length);
  for (const f of message.resultFormats) w.int16(f);
  return w.message('B');
}

/** Describe and Close: 'S' (prepared statement) or 'P' (portal), and its name. */
export function decodeTarget(frame: Frame, what: string): { of: 'S' | 'P'; name: string } {
  const r = new BodyReader(frame.payload, what);
  const of = String.fromCharCode(r.byte());
  if (of !== 'S' && of !== 'P') throw new PgProtocolError(`${what}: expected 'S' or 'P', got ${JSON.stringify(of)}`);
  return { of, name: r.cstring() };
}

export function encodeDescribe(of: 'S' | 'P', name: string): Buffer {
  return new BodyWriter().byte(of.charCodeAt(0)).cstring(name).message('D');
}

export function decodeExecute(frame: Frame): { portal: string; maxRows: number } {
  const r = new BodyReader(frame.payload, 'Execute');
  return { portal: r.cstring(), maxRows: r.int32() };
}

export function encodeExecute(portal: string, maxRows = 0): Buffer {
  return new BodyWriter().cstring(portal).int32(maxRows).message('E');
}

export function encodeSync(): Buffer {
  return new BodyWriter().message('S');
}

export function encodeTerminate(): Buffer {
  return new BodyWriter().message('X');
}
