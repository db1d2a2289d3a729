import type * as grpc from '@grpc/grpc-js';
import type { NetworkResponse } from './outbox.ts';

/**
 * The wire format of envoy.service.network_ext_proc.v3 messages, written out by hand for the one
 * stream that carries every byte of every database session. The generic loader (protobufjs with
 * object conversion) costs tens of microseconds per message; these messages are two byte fields
 * and two enums. Field numbers are the proto's (protos/envoy/service/network_ext_proc/v3/), and
 * common/network-ext-proc-proto.test.ts keeps this codec and the proto in agreement.
 */
export interface NetworkRequest {
  read_data: { data: Buffer; end_of_stream: boolean } | null;
  write_data: { data: Buffer; end_of_stream: boolean } | null;
}

const DATA_PROCESSED = { UNKNOWN: 0, UNMODIFIED: 1, MODIFIED: 2 } as const;
const CONNECTION = { CONTINUE: 0, CLOSE: 1, CLOSE_RST: 2 } as const;
const EMPTY: Buffer = Buffer.alloc(0);

export const NETWORK_PROCESS_PATH = '/envoy.service.network_ext_proc.v3.NetworkExternalProcessor/Process';

/** The service definition grpc-js serves, with this codec in place of the generic one. */
export function networkProcessorDefinition(): grpc.ServiceDefinition {
  return {
    Process: {
      path: NETWORK_PROCESS_PATH,
      requestStream: true,
      responseStream: true,
      requestSerialize: encodeRequest,
      requestDeserialize: decodeRequest,
      responseSerialize: encodeResponse,
      responseDeserialize: decodeResponse,
      originalName: 'process',
    },
  } as unknown as grpc.ServiceDefinition;
}

class Reader {
  at = 0;
  constructor(readonly buf: Buffer, readonly end = buf.length) {}

  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.at >= this.end) throw new Error('truncated varint');
      const byte = this.buf[this.at++]!;
      if (shift < 28) result |= (byte & 0x7f) << shift;
      else result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new Error('varint too long');
    }
  }

  /** Skips a field of this wire type; returns the [start, end) of a length-delimited one. */
  field(wireType: number): [number, number] | null {
    switch (wireType) {
      case 0: this.varint(); return null;
      case 1: this.at += 8; break;
      case 2: {
        const length = this.varint();
        const start = this.at;
        this.at += length;
        if (this.at > this.end) throw new Error('truncated field');
        return [start, this.at];
      }
      case 5: this.at += 4; break;
      default: throw new Error(`unsupported wire type ${wireType}`);
    }
    if (this.at > this.end) throw new Error('truncated field');
    return null;
  }
}

function decodeData(buf: Buffer, start: number, end: number): { data: Buffer; end_of_stream: boolean } {
  const r = new Reader(buf, end);
  r.at = start;
  let data: Buffer = EMPTY;
  let eos = false;
  while (r.at < end) {
    const tag = r.varint();
    const field = tag >>> 3;
    if (field === 1 && (tag & 7) === 2) {
      const [s, e] = r.field(2)!;
      data = buf.subarray(s, e);
    } else if (field === 2 && (tag & 7) === 0) {
      eos = r.varint() !== 0;
    } else {
      r.field(tag & 7);
    }
  }
  return { data, end_of_stream: eos };
}

export function decodeRequest(buf: Buffer): NetworkRequest {
  const r = new Reader(buf);
  const out: NetworkRequest = { read_data: null, write_data: null };
  while (r.at < buf.length) {
    const tag = r.varint();
    const field = tag >>> 3;
    const span = r.field(tag & 7);
    if (span === null) continue;
    if (field === 1) out.read_data = decodeData(buf, span[0], span[1]);
    else if (field === 2) out.write_data = decodeData(buf, span[0], span[1]);
    // 3 metadata, 4 attributes: not read here.
  }
  return out;
}

function varintBytes(value: number): number[] {
  const bytes: number[] = [];
  while (value > 0x7f) {
    bytes.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 128);
  }
  bytes.push(value);
  return bytes;
}

function dataField(field: number, data: Buffer, eos: boolean): Buffer[] {
  const inner = [...(data.length > 0 ? [0x0a, ...varintBytes(data.length)] : []), ];
  const tail = eos ? [0x10, 0x01] : [];
  const innerLength = (data.length > 0 ? inner.length + data.length : 0) + tail.length;
  const head = Buffer.from([(field << 3) | 2, ...varintBytes(innerLength), ...inner]);
  return data.length > 0 ? [head, data, Buffer.from(tail)] : [head, Buffer.from(tail)];
}

export function encodeResponse(response: NetworkResponse): Buffer {
  const parts: Buffer[] = [];
  if (response.read_data) parts.push(...dataField(1, response.read_data.data, response.read_data.end_of_stream));
  if (response.write_data) parts.push(...dataField(2, response.write_data.data, response.write_data.end_of_stream));
  const status = response.data_processing_status ? DATA_PROCESSED[response.data_processing_status] : 0;
  if (status !== 0) parts.push(Buffer.from([0x18, status]));
  const connection = response.connection_status ? CONNECTION[response.connection_status] : 0;
  if (connection !== 0) parts.push(Buffer.from([0x20, connection]));
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** The reverse directions, for tests and for a processor's own client. */
export function encodeRequest(request: NetworkRequest): Buffer {
  const parts: Buffer[] = [];
  if (request.read_data) parts.push(...dataField(1, request.read_data.data, request.read_data.end_of_stream));
  if (request.write_data) parts.push(...dataField(2, request.write_data.data, request.write_data.end_of_stream));
  return Buffer.concat(parts);
}

export function decodeResponse(buf: Buffer): NetworkResponse {
  const r = new Reader(buf);
  const out: NetworkResponse = {};
  const names = <T extends Record<string, number>>(table: T, value: number) => (Object.keys(table) as (keyof T)[]).find((k) => table[k] === value);
  while (r.at < buf.length) {
    const tag = r.varint();
    const field = tag >>> 3;
    if ((tag & 7) === 0 && (field === 3 || field === 4)) {
      const value = r.varint();
      if (field === 3) out.data_processing_status = names(DATA_PROCESSED, value) as NetworkResponse['data_processing_status'];
      else out.connection_status = names(CONNECTION, value) as NetworkResponse['connection_status'];
      continue;
    }
    const span = r.field(tag & 7);
    if (span === null) continue;
    if (field === 1) out.read_data = decodeData(buf, span[0], span[1]);
    else if (field === 2) out.write_data = decodeData(buf, span[0], span[1]);
  }
  return out;
}
