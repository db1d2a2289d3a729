import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toCheckResponse } from './check-response.ts';
import type { CheckInput } from '../../check-input.ts';
import type { DenyVerdict } from '../../verdict.ts';

const REQUEST: CheckInput = {
  protocol: 'http', requestId: 'req-1', target: 'demo-api', credential: { kind: 'bearer', authorization: undefined },
  action: { kind: 'http', method: 'GET', path: '/x', query: '', body: undefined, headers: {} }, sourceAddress: undefined, holdBudgetMs: 0, reason: '',
};

const deny = (code: DenyVerdict['code']) => toCheckResponse({ kind: 'deny', code, message: 'm' }, REQUEST);

test('a deny carries the HTTP status of its code and a gRPC code that follows it', () => {
  const cases: [DenyVerdict['code'], string, number][] = [
    ['ERR_TOKEN_EXPIRED', 'Unauthorized', 16],
    ['ERR_PATH_AMBIGUOUS', 'BadRequest', 3],
    ['ERR_POLICY_DENIED', 'Forbidden', 7],
    ['ERR_APPROVAL_TIMED_OUT', 'Forbidden', 7],
    ['ERR_JWKS_UNAVAILABLE', 'ServiceUnavailable', 14],
    ['ERR_APPROVAL_UNAVAILABLE', 'ServiceUnavailable', 14],
    ['ERR_INTERNAL', 'InternalServerError', 13],
  ];
  for (const [code, status, rpc] of cases) {
    const res = deny(code);
    assert.equal(res.denied_response?.status.code, status, code);
    assert.equal(res.status.code, rpc, code);
    assert.equal(JSON.parse(res.denied_response!.body).error.code, code);
  }
});

test('only a 401 asks for a bearer token', () => {
  const header = (code: DenyVerdict['code']) => deny(code).denied_response!.headers.find((h) => h.header.key === 'www-authenticate')?.header.value;
  assert.equal(header('ERR_TOKEN_MISSING'), 'Bearer realm="sluice"');
  assert.match(header('ERR_TOKEN_EXPIRED')!, /error="invalid_token"/);
  assert.equal(header('ERR_INTERNAL'), undefined);
  assert.equal(header('ERR_POLICY_DENIED'), undefined);
});
