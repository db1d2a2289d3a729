/**
 * How a binary-format (format code 1) PostgreSQL value relates to text, by type oid
 * (pg_type.dat). Only built-in oids are fixed; extension types (citext, hstore, ...) get a new oid
 * per database, so they are `opaque` here and a profile that could apply to them fails closed.
 */
export type BinaryKind =
  /** Fixed-layout numbers, dates, uuids: no text can hide in them. */
  | 'no-text'
  /** The binary form is the text itself, in the client encoding. */
  | 'text'
  /** jsonb: a version byte (1), then JSON text. */
  | 'jsonb'
  /** Anything else: the gateway cannot read it. */
  | 'opaque';

export const JSON_OID = 114;
export const JSONB_OID = 3802;

const NO_TEXT: ReadonlySet<number> = new Set([
  16, // bool
  20, // int8
  21, // int2
  23, // int4
  26, // oid
  700, // float4
  701, // float8
  1082, // date
  1114, // timestamp
  1184, // timestamptz
  1700, // numeric
  2950, // uuid
]);

const TEXT: ReadonlySet<number> = new Set([
  19, // name
  25, // text
  JSON_OID,
  705, // unknown
  1042, // bpchar
  1043, // varchar
]);

export function binaryKind(typeOid: number): BinaryKind {
  if (NO_TEXT.has(typeOid)) return 'no-text';
  if (TEXT.has(typeOid)) return 'text';
  if (typeOid === JSONB_OID) return 'jsonb';
  return 'opaque';
}

/** json and jsonb hold JSON text in either format: matched decoded, replaced as JSON strings. */
export function isJsonType(typeOid: number): boolean {
  return typeOid === JSON_OID || typeOid === JSONB_OID;
}
