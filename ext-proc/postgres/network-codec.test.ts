import { test } from 'node:test';
import assert from 'node:assert/strict';
import { networkExternalProcessorService } from '../../common/protos.ts';
import { decodeRequest, encodeResponse, NETWORK_PROCESS_PATH, networkProcessorDefinition } from './network-codec.ts';

// The generic (proto-loader) definition is the reference: the hand codec must agree with it byte for byte in meaning.
const reference = (networkExternalProcessorService() as any).service.Process;

test('the hand codec serves the same method path as the proto', () => {
  assert.equal(NETWORK_PROCESS_PATH, reference.path);
  assert.equal((networkProcessorDefinition() as any).Process.path, reference.path);
});

test('requests encoded by the proto decode the same with the hand codec (data, end of stream, metadata skipped)', () => {
  const cases = [
    { read_data: { data: Buffer.from('Q\0\0\0\x0dselect 1\0', 'latin1'), end_of_stream: false } },
    { write_data: { data: Buffer.alloc(70_000, 7), end_of_stream: true } },
    { read_data: { data: Buffer.alloc(0), end_of_stream: true } },
    { write_data: { data: Buffer.from('x'), end_of_stream: false }, metadata: { filter_metadata: { ns: { fields: { k: { stringValue: 'v' } } } } } },
  ];
  for (const message of cases) {
    const bytes = reference.requestSerialize(message);
    const decoded = decodeRequest(bytes);
    const want = message.read_data ? 'read_data' : 'write_data';
    assert.deepEqual(decoded[want]!.data, (message as any)[want].data);
    assert.equal(decoded[want]!.end_of_stream, (message as any)[want].end_of_stream);
    assert.equal(decoded[want === 'read_data' ? 'write_data' : 'read_data'], null);
  }
});

test('responses encoded by the hand codec decode with the proto to what was meant', () => {
  const cases = [
    { read_data: { data: Buffer.from('hello'), end_of_stream: false }, data_processing_status: 'MODIFIED' as const },
    { write_data: { data: Buffer.alloc(200_000, 1), end_of_stream: true }, data_processing_status: 'MODIFIED' as const },
    { write_data: { data: Buffer.alloc(0), end_of_stream: false }, data_processing_status: 'MODIFIED' as const },
    { connection_status: 'CLOSE' as const },
    { connection_status: 'CLOSE_RST' as const },
  ];
  for (const response of cases) {
    const decoded = reference.responseDeserialize(encodeResponse(response));
    if (response.read_data) assert.deepEqual(Buffer.from(decoded.read_data.data), response.read_data.data);
    if (response.write_data) {
      assert.deepEqual(Buffer.from(decoded.write_data.data), response.write_data.data);
      assert.equal(decoded.write_data.end_of_stream, response.write_data.end_of_stream);
      assert.equal(decoded.read_data, null);
    }
    if (response.data_processing_status) assert.equal(decoded.data_processing_status, response.data_processing_status);
    if (response.connection_status) assert.equal(decoded.connection_status, response.connection_status);
  }
});

test('a truncated request is an error, not a guess', () => {
  const bytes = reference.requestSerialize({ read_data: { data: Buffer.alloc(100, 1), end_of_stream: false } });
  assert.throws(() => decodeRequest(bytes.subarray(0, 20)));
});
