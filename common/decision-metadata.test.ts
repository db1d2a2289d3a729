import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { externalProcessorService } from './protos.ts';
import { toProtoStruct, type ProtoStruct } from './struct.ts';
import {
  decodeDecision, encodeDecision, HTTP_DECISION_NAMESPACE, NETWORK_DECISION_NAMESPACE, type GatewayDecision,
} from './decision-metadata.ts';

const DECISION: GatewayDecision = {
  v: 1,
  protocol: 'http',
  sessionId: '5b0e6a8c-0000-4000-8000-000000000001',
  requestId: 'req-1',
  target: 'billing-api',
  rule: 'billing/read',
  subject: 'alice',
  issuer: 'corp',
  groups: ['engineering', 'billing'],
  approvalId: 'apr-7',
  masking: 'pii',
};

/**
 * What ext-proc receives: the Struct filed under a namespace of metadata_context, through the
 * real ProcessingRequest serializer and deserializer (the same loader options as the service).
 */
function forwarded(struct: ProtoStruct, namespace = HTTP_DECISION_NAMESPACE) {
  const method = (externalProcessorService() as unknown as { service: Record<string, { requestSerialize(v: object): Buffer; requestDeserialize(b: Buffer): any }> }).service.Process!;
  const wire = method.requestSerialize({ request_headers: {}, metadata_context: { filter_metadata: { [namespace]: struct } } });
  return method.requestDeserialize(wire).metadata_context;
}

/** The encoded decision with some wire fields replaced (undefined: removed). */
function tampered(changes: Record<string, unknown>): ProtoStruct {
  const fields = { ...encodeDecision(DECISION).fields };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete fields[key];
    else fields[key] = toProtoStruct({ value }).fields.value!;
  }
  return { fields };
}

describe('decision metadata', () => {
  test('round trip: encode → Envoy filter_metadata → decode gives the same decision', () => {
    assert.deepEqual(decodeDecision(forwarded(encodeDecision(DECISION))), DECISION);
  });

  test('round trip with nulls and no groups', () => {
    const plain: GatewayDecision = { ...DECISION, protocol: 'postgres', groups: [], approvalId: null, masking: null, rule: '' };
    assert.deepEqual(decodeDecision(forwarded(encodeDecision(plain))), plain);
  });

  test('the namespace: read from the one asked for (HTTP by default), not from another', () => {
    const network = forwarded(encodeDecision({ ...DECISION, protocol: 'redis' }), NETWORK_DECISION_NAMESPACE);
    assert.equal(decodeDecision(network), undefined);
    assert.equal(decodeDecision(network, NETWORK_DECISION_NAMESPACE)?.protocol, 'redis');
  });

  test('no metadata or no namespace: undefined', () => {
    assert.equal(decodeDecision(undefined), undefined);
    assert.equal(decodeDecision({}), undefined);
    assert.equal(decodeDecision(forwarded(encodeDecision(DECISION), 'envoy.filters.http.other')), undefined);
  });

  test('a missing or unknown version: undefined (ext-proc refuses)', () => {
    assert.equal(decodeDecision(forwarded(tampered({ v: undefined }))), undefined, 'a pre-versioning writer');
    assert.equal(decodeDecision(forwarded(tampered({ v: 2 }))), undefined);
    assert.equal(decodeDecision(forwarded(tampered({ v: '1' }))), undefined);
  });

  test('a missing or unknown protocol, session id or target: undefined', () => {
    for (const changes of [{ protocol: undefined }, { protocol: 'mysql' }, { session_id: undefined }, { session_id: '' }, { target: undefined }, { target: 7 }]) {
      assert.equal(decodeDecision(forwarded(tampered(changes))), undefined, JSON.stringify(changes));
    }
  });

  test('the request\'s start and its approval wait: round trip, optional within version 1, bad values dropped', () => {
    const timed: GatewayDecision = { ...DECISION, requestStartedAt: 1_700_000_000_123, approvalWaitMs: 9_600 };
    assert.deepEqual(decodeDecision(forwarded(encodeDecision(timed))), timed);
    assert.equal('requestStartedAt' in decodeDecision(forwarded(encodeDecision(DECISION)))!, false, 'a writer without them still reads');
    const bad = decodeDecision(forwarded(tampered({ request_started_at: '1700000000123', approval_wait_ms: -1 })));
    assert.deepEqual(bad, DECISION);
  });

  test('missing optional fields read as empty; wrong types are dropped, not trusted', () => {
    const decoded = decodeDecision(forwarded(tampered({ rule: undefined, subject: 5, groups: ['a', 1, null, 'b'], approval_id: undefined, masking: true })));
    assert.deepEqual(decoded, { ...DECISION, rule: '', subject: '', groups: ['a', 'b'], approvalId: null, masking: null });
  });
});
