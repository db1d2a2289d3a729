import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { authorizationService, externalProcessorService } from '../../common/protos.ts';
import { parseConfig } from '../../common/config.ts';
import { HTTP_DECISION_NAMESPACE } from '../../common/decision-metadata.ts';
import { DevIssuer } from '../../dev/dev-issuer.ts';
import { startExtAuthzService, type ExtAuthzService } from '../../ext-authz/service.ts';
import { startExtProcService, type ExtProcService } from '../../ext-proc/service.ts';
import { capturedLogger } from '../harness/log-capture.ts';
import { everyString, family, histogramSample, sampleValue, scrape } from '../harness/prometheus-text.ts';
import { waitFor } from '../harness/wait.ts';

const FIXTURE_POLICIES = fileURLToPath(new URL('../fixtures/policies/', import.meta.url));
const INJECTED = 'injected-upstream-secret-0001';
const CARD = '4111 1111 1111 1111';

const headerMap = (headers: Record<string, string>) => ({ headers: Object.entries(headers).map(([key, value]) => ({ key, raw_value: Buffer.from(value) })) });

/** Nothing on the page may contain a token, a secret, a subject, a path or a request id. */
function assertClean(text: string, families: ReturnType<typeof everyString>, forbidden: string[]): void {
  for (const value of forbidden) {
    assert.ok(!text.includes(value), `the page contains ${value}`);
    assert.ok(!families.some((s) => s.includes(value)), `a label or value contains ${value}`);
  }
}

describe('/metrics over HTTP, after real gRPC traffic (port 0)', () => {
  let issuer: DevIssuer;
  let authz: ExtAuthzService;
  let proc: ExtProcService;
  let authzClient: grpc.Client & { Check: Function };
  let procClient: grpc.Client & { Process: Function };
  let dir: string;
  let token: string;
  let decision: unknown;

  before(async () => {
    issuer = await DevIssuer.start();
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-metrics-it-'));
    const targets = ['demo-api', 'admin-api', 'sql-api', 'ops-api'].map((name) => ({ name, endpoints: ['127.0.0.1:9'], http: { pathPrefix: `/${name}/` } }));
    const config = parseConfig(JSON.stringify({
      targets,
      extAuthz: { policyDir: FIXTURE_POLICIES },
      extProc: {
        credentials: [{ target: 'demo-api', secret: 'demo-token' }],
        masking: { profiles: [{ name: 'pii', recognizers: [{ use: 'card', strategy: 'redact' }] }], targets: {} },
        sessions: { store: 'file', dir: 'sessions' },
      },
    }), path.join(dir, 'sluice.yaml'));
    authz = await startExtAuthzService(config, {
      logger: capturedLogger('ext-authz').logger, decisionLog: capturedLogger('decision').logger, port: 0, adminPort: 0,
      extraIssuers: [{ name: 'dev', issuer: issuer.url, audiences: ['sluice'] }],
    });
    proc = await startExtProcService(config, { logger: capturedLogger('ext-proc').logger, port: 0, adminPort: 0, env: { SLUICE_SECRET_DEMO_TOKEN: INJECTED } });
    authzClient = new (authorizationService())(`127.0.0.1:${authz.port}`, grpc.credentials.createInsecure()) as any;
    procClient = new (externalProcessorService())(`127.0.0.1:${proc.port}`, grpc.credentials.createInsecure()) as any;
    token = await issuer.mint({ sub: 'alice', groups: ['engineering'] });
  });

  after(async () => {
    authzClient?.close();
    procClient?.close();
    await authz?.close();
    await proc?.close();
    await issuer?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const check = (opts: { token?: string; method?: string; target?: string }): Promise<any> => new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'x-request-id': 'req-metrics-1', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) };
    authzClient.Check({
      attributes: {
        request: { http: { id: '1', method: opts.method ?? 'GET', path: '/api/customers/42?q=alice', host: 'gateway', headers } },
        context_extensions: opts.target === undefined ? { target: 'demo-api' } : {},
      },
    }, (err: Error | null, res: unknown) => (err ? reject(err) : resolve(res)));
  });

  test('ext-authz: decisions, latency, token cache and JWKS families move; nothing secret on the page', async () => {
    const allowed = await check({ token });
    assert.equal(allowed.status.code, 0);
    decision = allowed.dynamic_metadata;
    await check({ token });
    assert.equal((await check({})).status.code, 16);
    assert.equal((await check({ token, target: '' })).status.code, 7);

    const { text, families, contentType } = await scrape(`http://127.0.0.1:${authz.adminPort}/metrics`);
    assert.match(contentType ?? '', /^text\/plain; version=0\.0\.4/);
    assert.equal(sampleValue(families, 'sluice_authz_decisions_total', { service: 'ext-authz', target: 'demo-api', effect: 'allow', code: 'none' }), 2);
    assert.equal(sampleValue(families, 'sluice_authz_decisions_total', { target: 'demo-api', effect: 'deny', code: 'ERR_TOKEN_MISSING' }), 1);
    assert.equal(sampleValue(families, 'sluice_authz_decisions_total', { target: 'none', effect: 'deny', code: 'ERR_TARGET_UNKNOWN' }), 1);
    assert.equal(histogramSample(text, 'sluice_authz_check_duration_seconds', { effect: 'allow' }).count, 2);
    assert.equal(sampleValue(families, 'sluice_token_cache_misses_total'), 1);
    assert.ok(sampleValue(families, 'sluice_token_cache_hits_total') >= 1);
    assert.equal(sampleValue(families, 'sluice_jwks_fetches_total', { issuer: 'dev' }), 1);
    assert.equal(sampleValue(families, 'sluice_jwks_fetch_failures_total', { issuer: 'dev' }), 0);
    for (const name of ['sluice_approvals_pending', 'sluice_approvals_decided_total', 'sluice_approval_release_seconds', 'process_cpu_user_seconds_total', 'nodejs_heap_size_used_bytes']) family(families, name);
    assertClean(text, everyString(families), [token, token.split('.')[2]!, 'alice', 'req-metrics-1', '/api/customers', 'q=alice']);
  });

  test('ext-proc: streams, masking, recording and refusal families move; neither the injected secret nor the token appears', async () => {
    assert.ok(decision, 'the allowed check ran first');
    const stream = procClient.Process();
    const answers: any[] = [];
    stream.on('data', (m: any) => answers.push(m));
    stream.on('error', () => undefined);
    const metadata_context = { filter_metadata: { [HTTP_DECISION_NAMESPACE]: withMasking(decision, 'pii') } };
    stream.write({ request_headers: { headers: headerMap({ ':method': 'GET', ':path': '/api/customers/42', authorization: `Bearer ${token}` }), end_of_stream: true }, metadata_context });
    stream.write({ response_headers: { headers: headerMap({ ':status': '200', 'content-type': 'application/json' }) } });
    stream.write({ response_body: { body: Buffer.from(`{"card":"${CARD}","echo":"${INJECTED}"}`), end_of_stream: true } });
    await waitFor(() => answers.length >= 3, 5000, 10);
    stream.end();
    const delivered = Buffer.from(answers[2].response_body.response.body_mutation.body).toString();
    assert.ok(!delivered.includes(CARD) && !delivered.includes(INJECTED), delivered);
    // A stream without a decision is refused.
    const refused = procClient.Process();
    const refusedAnswer = new Promise((resolve) => refused.once('data', resolve));
    refused.on('error', () => undefined);
    refused.write({ request_headers: { headers: headerMap({ ':method': 'GET', ':path': '/x' }), end_of_stream: true } });
    await refusedAnswer;
    refused.end();
    await proc.recordingQueue!.flush();

    const url = `http://127.0.0.1:${proc.adminPort}/metrics`;
    // The server closes a finished stream itself; the gauge drops once both have closed.
    const { value: page } = await waitFor(async () => {
      const scraped = await scrape(url);
      return sampleValue(scraped.families, 'sluice_extproc_active_streams', { protocol: 'http' }) === 0 ? scraped : undefined;
    }, 5000);
    const { text, families } = page!;
    assert.equal(sampleValue(families, 'sluice_extproc_streams_total', { service: 'ext-proc', protocol: 'http' }), 2);
    assert.equal(sampleValue(families, 'sluice_masking_matches_total', { profile: 'pii', recognizer: 'card' }), 1);
    assert.equal(sampleValue(families, 'sluice_masking_matches_total', { profile: 'pii', recognizer: 'sluice:credential' }), 1);
    assert.ok(sampleValue(families, 'sluice_masking_bytes_total', { profile: 'pii', direction: 'response' }) > 0);
    assert.equal(sampleValue(families, 'sluice_extproc_refusals_total', { code: 'ERR_NO_DECISION' }), 1);
    assert.equal(sampleValue(families, 'sluice_session_records_total', { outcome: 'written' }), 1);
    assert.equal(sampleValue(families, 'sluice_session_queue_depth'), 0);
    for (const name of ['sluice_secrets_reloads_total', 'sluice_oauth2_mints_total', 'sluice_session_write_retries_total']) family(families, name);
    assertClean(text, everyString(families), [INJECTED, token, token.split('.')[2]!, CARD, 'alice', '/api/customers']);

    const json = (await (await fetch(`${url}?format=json`)).json()) as { name: string }[];
    assert.ok(json.some((f) => f.name === 'sluice_extproc_streams_total'), 'the JSON form a supervisor merges');
  });
});

/** The decision ext-authz returned, with the masking profile the test wants ext-proc to apply. */
function withMasking(dynamicMetadata: any, profile: string): unknown {
  return { fields: { ...dynamicMetadata.fields, masking: { kind: 'stringValue', stringValue: profile } } };
}
