import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { parseConfig } from '../common/config.ts';
import { encodeDecision, HTTP_DECISION_NAMESPACE } from '../common/decision-metadata.ts';
import type { ProtoStruct, ProtoValue } from '../common/struct.ts';
import { closeServer, listen, readBody } from '../common/http.ts';
import { silentLogger } from '../common/logger.ts';
import { readRegistry, sampleValue } from '../test/harness/prometheus-text.ts';
import { compileCredentials } from './credentials.ts';
import { HttpExchangeProcessor } from './http/processor.ts';
import { compileMaskingPlans } from './masking-plans.ts';
import { extProcMetrics, type ExtProcMetrics } from './metrics.ts';
import { FileSecretStore } from './secrets/file-secret-store.ts';
import { SecretVersions } from './secrets/secret-versions.ts';
import { SessionError } from './sessions/errors.ts';
import { RecordingQueue } from './sessions/queue.ts';
import { sessionRecord } from './sessions/store-suite.ts';
import type { SessionPage, SessionRecord, SessionStore } from './sessions/types.ts';

const SECRET = 'upstream-secret-value-0001';
const CARD = '4111 1111 1111 1111';

const config = parseConfig(JSON.stringify({
  targets: [{ name: 'orders-api', endpoints: ['127.0.0.1:9'], http: { pathPrefix: '/orders/' } }],
  extProc: {
    credentials: [{ target: 'orders-api', secret: 'orders-key' }],
    masking: { profiles: [{ name: 'pii', recognizers: [{ use: 'card', strategy: 'redact' }, { use: 'email', strategy: 'redact' }] }], targets: { 'orders-api': 'pii' } },
    sessions: { store: 'off' },
  },
}), path.join(tmpdir(), 'sluice.yaml'));

const headerMap = (headers: Record<string, string>) => ({ headers: Object.entries(headers).map(([key, value]) => ({ key, raw_value: Buffer.from(value) })) });
/** ext-authz's decision as Envoy forwards it and proto-loader decodes it (oneofs: true names each value's kind). */
const metadata = (masking: string | null) => ({
  filter_metadata: {
    [HTTP_DECISION_NAMESPACE]: decoded(encodeDecision({
      v: 1, protocol: 'http', sessionId: 's-1', requestId: 'req-secret-id', target: 'orders-api', rule: 'p/r',
      subject: 'alice', issuer: 'dev', groups: [], approvalId: null, masking,
    })),
  },
});
const decoded = (struct: ProtoStruct): unknown => ({ fields: Object.fromEntries(Object.entries(struct.fields).map(([key, value]) => [key, decodedValue(value)])) });
const decodedValue = (value: ProtoValue): unknown => {
  const [kind, inner] = Object.entries(value)[0] as [string, any];
  return { kind, [kind]: kind === 'structValue' ? decoded(inner) : kind === 'listValue' ? { values: inner.values.map(decodedValue) } : inner };
};

function processor(metrics: ExtProcMetrics) {
  const secrets = { get: (name: string) => (name === 'orders-key' ? SECRET : undefined), close: async () => {} };
  return new HttpExchangeProcessor({
    credentials: compileCredentials(config.extProc.credentials, secrets),
    masking: compileMaskingPlans(config.extProc.masking, secrets),
    secrets,
    versions: new SecretVersions(secrets, Buffer.alloc(32, 7)),
    removeRequestHeaders: [],
    logger: silentLogger(),
  }, metrics.exchanges);
}

describe('ext-proc metrics: exchanges', () => {
  test('a masked response body counts its bytes and its matches by recognizer; the echoed credential too', async () => {
    const registry = new Registry();
    const exchange = processor(extProcMetrics(registry));
    await exchange.handle({ request: 'request_headers', request_headers: { headers: headerMap({ ':method': 'GET', ':path': '/orders/1' }), end_of_stream: true }, metadata_context: metadata('pii') });
    await exchange.handle({ request: 'response_headers', response_headers: { headers: headerMap({ ':status': '200', 'content-type': 'application/json' }) } });
    const body = `{"card":"${CARD}","also":"${CARD}","mail":"a@example.com","echo":"${SECRET}"}`;
    await exchange.handle({ request: 'response_body', response_body: { body: Buffer.from(body), end_of_stream: true } });
    exchange.close(false);
    const page = await readRegistry(registry);
    assert.equal(sampleValue(page, 'sluice_masking_matches_total', { profile: 'pii', recognizer: 'card' }), 2);
    assert.equal(sampleValue(page, 'sluice_masking_matches_total', { profile: 'pii', recognizer: 'email' }), 1);
    assert.equal(sampleValue(page, 'sluice_masking_matches_total', { profile: 'pii', recognizer: 'sluice:credential' }), 1);
    assert.ok(sampleValue(page, 'sluice_masking_bytes_total', { profile: 'pii', direction: 'response' }) > 0);
    assert.equal(sampleValue(page, 'sluice_extproc_refusals_total'), 0);
    const text = await registry.metrics();
    for (const leak of [SECRET, CARD, 'a@example.com', 'req-secret-id', 's-1', '/orders/1']) assert.ok(!text.includes(leak), `the page never holds ${leak}`);
  });

  test('a body under no profile is scrubbed of the credential only: profile "none", no bytes read by a masker', async () => {
    const registry = new Registry();
    const exchange = processor(extProcMetrics(registry));
    await exchange.handle({ request: 'request_headers', request_headers: { headers: headerMap({ ':method': 'GET', ':path': '/orders/1' }), end_of_stream: true }, metadata_context: metadata(null) });
    await exchange.handle({ request: 'response_headers', response_headers: { headers: headerMap({ ':status': '200', 'content-type': 'text/plain' }) } });
    await exchange.handle({ request: 'response_body', response_body: { body: Buffer.from(`you sent ${SECRET} and ${CARD}`), end_of_stream: true } });
    exchange.close(false);
    const page = await readRegistry(registry);
    assert.equal(sampleValue(page, 'sluice_masking_matches_total', { profile: 'none', recognizer: 'sluice:credential' }), 1);
    assert.equal(sampleValue(page, 'sluice_masking_bytes_total'), 0);
  });

  test('a refused exchange counts under its code', async () => {
    const registry = new Registry();
    const metrics = extProcMetrics(registry);
    const exchange = processor(metrics);
    const answers = await exchange.handle({ request: 'request_headers', request_headers: { headers: headerMap({ ':method': 'GET', ':path': '/orders/1' }), end_of_stream: true } });
    assert.ok(answers[0]?.immediate_response);
    const unknown = processor(metrics);
    await unknown.handle({ request: 'request_headers', request_headers: { headers: headerMap({ ':method': 'GET', ':path': '/x' }), end_of_stream: true }, metadata_context: metadata('no-such-profile') });
    const page = await readRegistry(registry);
    assert.equal(sampleValue(page, 'sluice_extproc_refusals_total', { code: 'ERR_NO_DECISION' }), 1);
    assert.equal(sampleValue(page, 'sluice_extproc_refusals_total', { code: 'ERR_MASKING_PROFILE_UNKNOWN' }), 1);
  });
});

describe('ext-proc metrics: credentials and secrets', () => {
  test('OAuth2 mints count by target and outcome: ok, then the rejection code', async () => {
    let status = 200;
    const endpoint = createServer((req, res) => {
      void readBody(req).then(() => {
        if (status !== 200) return void res.writeHead(status, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}');
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'minted-token-secret', token_type: 'Bearer', expires_in: 3600 }));
      });
    });
    const port = await listen(endpoint, 0);
    try {
      const oauth = parseConfig(JSON.stringify({
        targets: [{ name: 'billing-api', endpoints: ['127.0.0.1:9'], http: { pathPrefix: '/b/' } }],
        extProc: { credentials: [{ target: 'billing-api', oauth2: { tokenUrl: `http://127.0.0.1:${port}/token`, clientId: 'billing', clientSecret: 'billing-secret' } }], sessions: { store: 'off' } },
      }), path.join(tmpdir(), 'sluice.yaml'));
      const secrets = { get: () => 'client-secret-value', close: async () => {} };
      const registry = new Registry();
      const source = compileCredentials(oauth.extProc.credentials, secrets, undefined, extProcMetrics(registry)).get('billing-api')!.source;
      assert.equal(source.kind, 'oauth2');
      if (source.kind !== 'oauth2') return;
      assert.equal(await source.minter.token(), 'minted-token-secret');
      assert.equal(await source.minter.token(), 'minted-token-secret', 'served from the cache: no second mint');
      status = 401;
      source.minter.invalidate();
      await assert.rejects(source.minter.token(), { code: 'ERR_OAUTH2_REJECTED' });
      const page = await readRegistry(registry);
      assert.equal(sampleValue(page, 'sluice_oauth2_mints_total', { target: 'billing-api', outcome: 'ok' }), 1);
      assert.equal(sampleValue(page, 'sluice_oauth2_mints_total', { target: 'billing-api', outcome: 'ERR_OAUTH2_REJECTED' }), 1);
      const text = await registry.metrics();
      assert.ok(!text.includes('minted-token-secret') && !text.includes('client-secret-value'));
    } finally {
      await closeServer(endpoint);
    }
  });

  test('a secrets file reload counts ok, and a broken edit counts rejected', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-metrics-secrets-'));
    const file = path.join(dir, 'secrets.yaml');
    writeFileSync(file, 'secrets:\n  a: "one"\n');
    const registry = new Registry();
    const metrics = extProcMetrics(registry);
    const store = await FileSecretStore.open(file, { logger: silentLogger(), pollIntervalMs: 60_000 });
    try {
      store.onReload((ok) => metrics.secretReloads.cell(ok ? 'ok' : 'rejected').inc());
      writeFileSync(file, 'secrets:\n  a: "two"\n');
      await store.reload();
      writeFileSync(file, 'secrets: [oops\n');
      await store.reload();
      const page = await readRegistry(registry);
      assert.equal(sampleValue(page, 'sluice_secrets_reloads_total', { outcome: 'ok' }), 1);
      assert.equal(sampleValue(page, 'sluice_secrets_reloads_total', { outcome: 'rejected' }), 1);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A store that refuses the records `refuse` names for good and writes the rest. */
class PickyStore implements SessionStore {
  constructor(private readonly refuse: (record: SessionRecord) => boolean, private readonly gate: Promise<void>) {}
  async append(record: SessionRecord): Promise<void> {
    await this.gate;
    if (this.refuse(record)) throw new SessionError('ERR_SESSION_INVALID', 'refused');
  }
  async get(): Promise<SessionRecord | undefined> {
    return undefined;
  }
  async list(): Promise<SessionPage> {
    return { records: [] };
  }
  async close(): Promise<void> {}
}

describe('ext-proc metrics: session recording queue', () => {
  test('depth while records wait, then written / rejected / dropped as the queue counts them', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const records = [sessionRecord({ id: '00000000-0000-4000-8000-000000000001' }), sessionRecord({ id: '00000000-0000-4000-8000-000000000002' }), sessionRecord({ id: '00000000-0000-4000-8000-000000000003' })];
    const queue = new RecordingQueue(new PickyStore((r) => r.id === records[1]!.id, gate), { maxRecords: 2, onFull: 'drop', logger: silentLogger() });
    const registry = new Registry();
    extProcMetrics(registry).watchRecordingQueue(() => queue.stats());
    assert.equal(queue.offer(records[0]!), true);
    assert.equal(queue.offer(records[1]!), true);
    assert.equal(queue.offer(records[2]!), false, 'full: dropped');
    let page = await readRegistry(registry);
    assert.equal(sampleValue(page, 'sluice_session_queue_depth'), 2);
    assert.ok(sampleValue(page, 'sluice_session_queue_bytes') > 0);
    open();
    await queue.flush();
    page = await readRegistry(registry);
    assert.equal(sampleValue(page, 'sluice_session_queue_depth'), 0);
    assert.equal(sampleValue(page, 'sluice_session_records_total', { outcome: 'written' }), 1);
    assert.equal(sampleValue(page, 'sluice_session_records_total', { outcome: 'rejected' }), 1);
    assert.equal(sampleValue(page, 'sluice_session_records_total', { outcome: 'dropped' }), 1);
    await queue.close();
  });
});

