import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capturedLogger } from '../test/harness/log-capture.ts';
import type { CheckInput } from './check-input.ts';
import { logDecision } from './decision-log.ts';

test('the decision line takes protocol, target and the HTTP method and path from the check, never a header', () => {
  const log = capturedLogger('decision');
  const input: CheckInput = {
    protocol: 'http', requestId: 'req-1', target: 'demo-api', credential: { kind: 'bearer', authorization: 'Bearer secret' },
    action: { kind: 'http', method: 'GET', path: '/api/x', query: 'q=1', headers: { authorization: 'Bearer secret' }, body: undefined },
    sourceAddress: undefined, holdBudgetMs: 0, reason: '',
  };
  logDecision(log.logger, input, { kind: 'deny', code: 'ERR_TOKEN_MISSING', message: 'm' }, 1.23456);
  const line = JSON.parse(log.lines[0]!);
  assert.deepEqual(
    { protocol: line.protocol, target: line.target, method: line.method, path: line.path, code: line.code, status: line.status, latency_ms: line.latency_ms },
    { protocol: 'http', target: 'demo-api', method: 'GET', path: '/api/x', code: 'ERR_TOKEN_MISSING', status: 401, latency_ms: 1.235 },
  );
  assert.doesNotMatch(log.text(), /secret|q=1/);
});
