import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { authorizationService } from '../../common/protos.ts';
import { parseConfig } from '../../common/config.ts';
import { decodeDecision, HTTP_DECISION_NAMESPACE } from '../../common/decision-metadata.ts';
import { DevIssuer } from '../../dev/dev-issuer.ts';
import { startExtAuthzService, type ExtAuthzService } from '../../ext-authz/service.ts';
import { capturedLogger } from '../harness/log-capture.ts';

const FIXTURE_POLICIES = fileURLToPath(new URL('../fixtures/policies/', import.meta.url));

/** A CheckRequest as Envoy's HTTP ext_authz filter sends it. */
function checkRequest(opts: { token?: string; method?: string; path?: string; target?: string; headers?: Record<string, string> }) {
  const headers: Record<string, string> = { ':authority': 'gateway', ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  return {
    attributes: {
      source: { address: { socket_address: { address: '10.1.2.3', port_value: 55555 } } },
      request: { http: { id: '123456', method: opts.method ?? 'GET', path: opts.path ?? '/api/x?y=1', host: 'gateway', headers: { 'x-request-id': 'req-1', ...headers } } },
      context_extensions: opts.target === undefined ? { target: 'demo-api' } : opts.target === '' ? {} : { target: opts.target },
    },
  };
}

describe('ext-authz over real gRPC (Envoy protos, port 0)', () => {
  let issuer: DevIssuer;
  let service: ExtAuthzService;
  let client: grpc.Client & { Check: Function };
  const logs = capturedLogger('ext-authz');
  const decisions = capturedLogger('decision');

  before(async () => {
    issuer = await DevIssuer.start();
    // The targets the fixture policies name, as sluice.yaml declares them (never dialled here).
    const targets = ['demo-api', 'admin-api', 'sql-api', 'ops-api'].map((name) => ({ name, endpoints: ['127.0.0.1:9'], http: { pathPrefix: `/${name}/` } }));
    const config = parseConfig(JSON.stringify({ targets, extAuthz: { policyDir: FIXTURE_POLICIES } }), path.join(FIXTURE_POLICIES, 'x.yaml'));
    service = await startExtAuthzService(config, {
      logger: logs.logger, decisionLog: decisions.logger, port: 0, adminPort: 0,
      extraIssuers: [{ name: 'dev', issuer: issuer.url, audiences: ['sluice'] }],
    });
    const Client = authorizationService();
    client = new Client(`127.0.0.1:${service.port}`, grpc.credentials.createInsecure()) as any;
  });

  after(async () => {
    client.close();
    await service.close();
    await issuer.close();
  });

  const check = (req: object): Promise<any> =>
    new Promise((resolve, reject) => client.Check(req, (err: Error | null, res: unknown) => (err ? reject(err) : resolve(res))));

  test('allow: status OK, identity headers, bearer removed, decision in dynamic metadata', async () => {
    const token = await issuer.mint({ sub: 'alice', groups: ['engineering'], claims: { email: 'a@example.com' } });
    const res = await check(checkRequest({ token, headers: { 'x-sluice-spoof': '1' } }));
    assert.equal(res.status.code, 0);
    assert.equal(res.http_response, 'ok_response');
    const set = Object.fromEntries(res.ok_response.headers.map((h: any) => [h.header.key, h.header.value]));
    assert.deepEqual(set, { 'x-sluice-subject': 'alice', 'x-sluice-groups': 'engineering', 'x-sluice-email': 'a@example.com' });
    assert.deepEqual(res.ok_response.headers_to_remove.sort(), ['authorization', 'x-sluice-spoof']);
    // As Envoy files it and forwards it to ext-proc.
    const decision = decodeDecision({ filter_metadata: { [HTTP_DECISION_NAMESPACE]: res.dynamic_metadata } });
    assert.ok(decision, 'a decision ext-proc can read');
    assert.match(decision.sessionId, /^[0-9a-f-]{36}$/);
    assert.deepEqual({ ...decision, sessionId: '' }, {
      v: 1, protocol: 'http', sessionId: '', requestId: 'req-1', target: 'demo-api', rule: 'engineers-read/read-api',
      subject: 'alice', issuer: 'dev', groups: ['engineering'], approvalId: null, masking: decision.masking,
      requestStartedAt: decision.requestStartedAt,
    });
    assert.ok(Math.abs(Number(decision.requestStartedAt) - Date.now()) < 10_000, 'when the check started, so the record starts when the caller asked');
  });

  test('unauthenticated: code 16 and a 401 denied_response with a JSON body', async () => {
    const res = await check(checkRequest({}));
    assert.equal(res.status.code, 16);
    assert.equal(res.denied_response.status.code, 'Unauthorized');
    const body = JSON.parse(res.denied_response.body);
    assert.deepEqual(body, { error: { code: 'ERR_TOKEN_MISSING', message: body.error.message }, request_id: 'req-1' });
  });

  test('policy deny: code 7 and a 403; a route without a target is denied', async () => {
    const token = await issuer.mint({ sub: 'bob', groups: ['sales'] });
    const res = await check(checkRequest({ token }));
    assert.equal(res.status.code, 7);
    assert.equal(res.denied_response.status.code, 'Forbidden');
    assert.equal(JSON.parse(res.denied_response.body).error.code, 'ERR_POLICY_DENIED');
    const noTarget = await check(checkRequest({ token, target: '' }));
    assert.equal(JSON.parse(noTarget.denied_response.body).error.code, 'ERR_TARGET_UNKNOWN');
  });
});
