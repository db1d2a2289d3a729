/**
 * google.protobuf.Struct in the shape @grpc/proto-loader expects. protobufjs defines the
 * well-known types itself with camelCase field names, so keepCase does not apply to them. Envoy
 * dynamic metadata travels as Struct; only strings, numbers, booleans, lists and nested objects
 * are written, which is all Sluice puts there.
 */
export type ProtoValue =
  | { nullValue: 'NULL_VALUE' }
  | { numberValue: number }
  | { stringValue: string }
  | { boolValue: boolean }
  | { structValue: ProtoStruct }
  | { listValue: { values: ProtoValue[] } };

export interface ProtoStruct {
  fields: Record<string, ProtoValue>;
}

export function toProtoValue(value: unknown): ProtoValue {
  if (value === null || value === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (Array.isArray(value)) return { listValue: { values: value.map(toProtoValue) } };
  if (typeof value === 'object') return { structValue: toProtoStruct(value as Record<string, unknown>) };
  return { stringValue: String(value) };
}

export function toProtoStruct(object: Readonly<Record<string, unknown>>): ProtoStruct {
  const fields: Record<string, ProtoValue> = {};
  for (const [key, value] of Object.entries(object)) {
    if (value !== undefined) fields[key] = toProtoValue(value);
  }
  return { fields };
}

const VALUE_KINDS = ['stringValue', 'numberValue', 'boolValue', 'nullValue', 'listValue', 'structValue'] as const;

/**
 * Reverse of toProtoValue, for reading metadata Envoy forwards (decoded with oneofs: true). A value
 * without `kind` (one toProtoValue built, not yet through the wire) is read by the field it has.
 */
export function fromProtoValue(value: Record<string, unknown> | undefined): unknown {
  if (!value) return undefined;
  const kind = typeof value.kind === 'string' ? value.kind : VALUE_KINDS.find((k) => Object.hasOwn(value, k));
  switch (kind) {
    case 'stringValue': return value.stringValue;
    case 'numberValue': return value.numberValue;
    case 'boolValue': return value.boolValue;
    case 'nullValue': return null;
    case 'listValue': return ((value.listValue as { values?: Record<string, unknown>[] }).values ?? []).map(fromProtoValue);
    case 'structValue': return fromProtoStruct(value.structValue as { fields?: Record<string, Record<string, unknown>> });
    default: return undefined;
  }
}

export function fromProtoStruct(struct: { fields?: Record<string, Record<string, unknown>> } | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(struct?.fields ?? {})) out[key] = fromProtoValue(value);
  return out;
}
