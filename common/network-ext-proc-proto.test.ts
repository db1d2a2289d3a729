import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as grpc from '@grpc/grpc-js';
import { networkExternalProcessorService } from './protos.ts';
import { fromProtoStruct, toProtoStruct } from './struct.ts';

type Process = grpc.MethodDefinition<Record<string, unknown>, Record<string, unknown>>;
const process = () => (networkExternalProcessorService().service as unknown as { Process: Process }).Process;

test('NetworkExternalProcessor/Process loads as a bidirectional stream at Envoy\'s path', () => {
  const method = process();
  assert.equal(method.path, '/envoy.service.network_ext_proc.v3.NetworkExternalProcessor/Process');
  assert.equal(method.requestStream, true);
  assert.equal(method.responseStream, true);
});

test('ProcessingResponse round-trips bytes exactly and reads enums back as names (loader option enums: String)', () => {
  const method = process();
  const everyByte = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const wire = method.responseSerialize({
    read_data: { data: everyByte, end_of_stream: true },
    data_processing_status: 'MODIFIED',
    connection_status: 'CLOSE_RST',
    dynamic_metadata: toProtoStruct({ db: 'app', statements: 3 }),
    close_stream_to_ext_proc_server: true,
  });
  const back = method.responseDeserialize(wire);
  const readData = back.read_data as { data: Buffer; end_of_stream: boolean };
  assert.ok(Buffer.isBuffer(readData.data), 'bytes come back as a Buffer');
  assert.ok(readData.data.equals(everyByte));
  assert.equal(readData.end_of_stream, true);
  assert.equal(back.write_data, null, 'an unset message field is null (defaults: true)');
  assert.equal(back.data_processing_status, 'MODIFIED');
  assert.equal(back.connection_status, 'CLOSE_RST');
  assert.deepEqual(fromProtoStruct(back.dynamic_metadata as never), { db: 'app', statements: 3 });
  assert.equal(back.close_stream_to_ext_proc_server, true);
});

test('enums: numbers are accepted on the way in and still come back as names; absent ones are the zero name', () => {
  const method = process();
  const back = method.responseDeserialize(method.responseSerialize({ write_data: { data: Buffer.from('x') }, data_processing_status: 1, connection_status: 1 }));
  assert.equal(back.data_processing_status, 'UNMODIFIED');
  assert.equal(back.connection_status, 'CLOSE');
  const empty = method.responseDeserialize(method.responseSerialize({}));
  assert.equal(empty.data_processing_status, 'UNKNOWN');
  assert.equal(empty.connection_status, 'CONTINUE');
  assert.equal(empty.close_stream_to_ext_proc_server, false);
});

test('field numbers are Envoy\'s: a hand-encoded ProcessingResponse decodes to the right fields', () => {
  // 0a 05 (field 1 read_data, len 5) [0a 01 41 (data "A") 10 01 (end_of_stream)]
  // 18 02 (field 3 = MODIFIED) 20 01 (field 4 = CLOSE) 30 01 (field 6 = true)
  const back = process().responseDeserialize(Buffer.from('0a050a01411001' + '18022001' + '3001', 'hex'));
  assert.deepEqual(back.read_data, { data: Buffer.from('A'), end_of_stream: true });
  assert.equal(back.data_processing_status, 'MODIFIED');
  assert.equal(back.connection_status, 'CLOSE');
  assert.equal(back.close_stream_to_ext_proc_server, true);
});

test('ProcessingRequest round-trips write_data, metadata and attributes', () => {
  const method = process();
  const back = method.requestDeserialize(method.requestSerialize({
    write_data: { data: Buffer.from([0x52, 0, 0, 0, 8]), end_of_stream: false },
    metadata: { filter_metadata: { 'envoy.filters.network.tcp_proxy': toProtoStruct({ cluster: 'pg' }) } },
    attributes: { 'source.address': toProtoStruct({ ip: '127.0.0.1' }) },
  }));
  assert.equal(back.read_data, null);
  assert.deepEqual(back.write_data, { data: Buffer.from([0x52, 0, 0, 0, 8]), end_of_stream: false });
  const structs = (map: unknown) => Object.fromEntries(Object.entries(map as Record<string, never>).map(([k, v]) => [k, fromProtoStruct(v)]));
  assert.deepEqual(structs((back.metadata as { filter_metadata: unknown }).filter_metadata), { 'envoy.filters.network.tcp_proxy': { cluster: 'pg' } });
  assert.deepEqual(structs(back.attributes), { 'source.address': { ip: '127.0.0.1' } });
});
