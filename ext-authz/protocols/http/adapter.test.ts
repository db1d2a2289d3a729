import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adapterFor, PROTOCOL_ADAPTERS } from '../index.ts';
import { httpAdapter } from './adapter.ts';

const REQUEST = {
  attributes: {
    source: { address: { socket_address: { address: '10.1.2.3' } } },
    request: { http: { id: '99', method: 'post', path: '/api/x?y=1&z', headers: { 'x-request-id': 'req-1', authorization: 'Bearer t', 'x-sluice-reason': '  ticket 42  ' }, body: 'hi' } },
    context_extensions: { target: 'demo-api', max_hold_ms: '4000' },
  },
};

test('an HTTP CheckRequest reads as a neutral check with an HTTP action', () => {
  assert.deepEqual(httpAdapter.read(REQUEST), {
    protocol: 'http',
    requestId: 'req-1',
    target: 'demo-api',
    credential: { kind: 'bearer', authorization: 'Bearer t' },
    action: { kind: 'http', method: 'POST', path: '/api/x', query: 'y=1&z', headers: REQUEST.attributes.request.http.headers, body: Buffer.from('hi') },
    sourceAddress: '10.1.2.3',
    holdBudgetMs: 4000,
    reason: 'ticket 42',
  });
});

test('the target falls back to route metadata; the reason is capped; the stream id stands in for x-request-id', () => {
  const input = httpAdapter.read({
    attributes: {
      request: { http: { id: '99', path: '/', headers: { 'x-sluice-reason': 'r'.repeat(600) } } },
      // As proto-loader decodes a Struct (oneofs: true).
      route_metadata_context: { filter_metadata: { sluice: { fields: { target: { kind: 'stringValue', stringValue: 'ops-api' } } } } },
    },
  });
  assert.equal(input.target, 'ops-api');
  assert.equal(input.reason.length, 500);
  assert.equal(input.requestId, '99');
  assert.deepEqual(input.credential, { kind: 'bearer', authorization: undefined });
  assert.equal(input.holdBudgetMs, 0);
});

test('every adapter names its own protocol once; a request no adapter recognizes is read as HTTP, as before', () => {
  const names = PROTOCOL_ADAPTERS.map((adapter) => adapter.protocol);
  assert.deepEqual(names, [...new Set(names)]);
  assert.equal(adapterFor(REQUEST), httpAdapter);
  assert.equal(adapterFor({}), httpAdapter);
  assert.equal(httpAdapter.read({}).target, undefined);
});
