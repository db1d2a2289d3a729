import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRedisCheckResponse, encodeRedisCheckRequest, encodeRedisCheckResponse, isRedisCheckRequest, readRedisCheckRequest, type RedisCheckResult } from './redis-check.ts';
import { authorizationService } from './protos.ts';

test('a redis login check round-trips: the request as ext-authz reads it, the result as ext-proc reads it', () => {
  const request = encodeRedisCheckRequest({ target: 'cache', token: 'tok', username: 'default', sessionId: 's1' });
  assert.ok(isRedisCheckRequest(request));
  assert.deepEqual(readRedisCheckRequest(request), { target: 'cache', authorization: 'Bearer tok', username: 'default', sessionId: 's1' });
  const allowed: RedisCheckResult = {
    allowed: true, subject: 'w1', issuer: 'dev', groups: ['workers'], rule: 'workers/redis', masking: null, expiresAt: 1_900_000_000_000,
    rules: [{ id: 'workers/jobs', effect: 'allow', commands: ['GET'], keys: ['jobs:*'] }],
  };
  assert.deepEqual(decodeRedisCheckResponse(encodeRedisCheckResponse(allowed)), allowed);
  const denied: RedisCheckResult = { allowed: false, code: 'ERR_TOKEN_EXPIRED', message: 'expired' };
  const encoded = encodeRedisCheckResponse(denied, { unauthenticated: true });
  assert.equal(encoded.status.code, 16);
  assert.deepEqual(decodeRedisCheckResponse(encoded), denied);
});

test('an answer that is off in any way is a refusal (fail closed): no status, no result, a status that disagrees, another version', () => {
  const allowed = encodeRedisCheckResponse({ allowed: true, subject: 's', issuer: 'i', groups: [], rule: 'r', masking: null, expiresAt: 1, rules: [] });
  for (const response of [null, {}, { status: { code: 0 } }, { ...allowed, status: { code: 7 } }, { status: { code: 0 }, dynamic_metadata: { fields: { sluice_redis: { stringValue: '{"v":2,"allowed":true}' } } } }]) {
    const result = decodeRedisCheckResponse(response as never);
    assert.equal(result.allowed, false);
    assert.equal((result as { code: string }).code, 'ERR_REDIS_CHECK_FAILED');
  }
});

test('the response survives the real protobuf encoding of CheckResponse', () => {
  const service = authorizationService().service as unknown as Record<string, { responseSerialize(v: unknown): Buffer; responseDeserialize(b: Buffer): unknown }>;
  const check = service.Check!;
  const result: RedisCheckResult = { allowed: true, subject: 's', issuer: 'i', groups: ['g'], rule: 'r', masking: 'pii', expiresAt: 5, rules: [{ id: 'a/b', effect: 'deny', commands: ['script'], keys: null }] };
  const wire = check.responseDeserialize(check.responseSerialize(encodeRedisCheckResponse(result)));
  assert.deepEqual(decodeRedisCheckResponse(wire as never), result);
});
