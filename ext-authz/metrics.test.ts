import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { startAdminServer, type AdminServer } from '../common/admin-server.ts';
import { silentLogger } from '../common/logger.ts';
import { histogramSample, readRegistry, sampleValue } from '../test/harness/prometheus-text.ts';
import { waitFor } from '../test/harness/wait.ts';
import { ApprovalGate, type GateRequest } from './approval-gate.ts';
import { registerApprovalsApi } from './approvals/api.ts';
import { MemoryApprovalStore } from './approvals/memory-store.ts';
import { MultiNotifier } from './approvals/notifier.ts';
import { Authorizer } from './authorizer.ts';
import type { CheckInput } from './check-input.ts';
import { parseIssuerConfig } from './identity/config.ts';
import { FakeClock, FakeIdp, fakeFetch } from './identity/fake-idp.ts';
import type { IdentityVerifier } from './identity/types.ts';
import { JwtIdentityVerifier } from './identity/verifier.ts';
import { DecisionMetrics, extAuthzMetrics } from './metrics.ts';
import { compileYaml, declaredTargets, identity } from './policy/testing.ts';

const PEOPLE = 'https://people.example.com/realms/main';

async function verifierWith(registry: Registry, jwks: 'ok' | 'down' = 'ok') {
  const clock = new FakeClock();
  const idp = new FakeIdp(PEOPLE, clock);
  await idp.addKey('k1', 'RS256');
  idp.jwksMode = jwks;
  const verifier = new JwtIdentityVerifier({
    issuers: [parseIssuerConfig({ name: 'people', issuer: PEOPLE, audiences: ['sluice'] }, 'test')],
    fetch: fakeFetch(idp),
    now: clock.now,
    metrics: extAuthzMetrics(registry),
  });
  return { idp, verifier };
}

describe('ext-authz metrics: identity', () => {
  test('a first verify misses the token cache and fetches the JWKS once; a repeat is a hit', async () => {
    const registry = new Registry();
    const { idp, verifier } = await verifierWith(registry);
    const token = await idp.sign();
    await verifier.verify(token);
    let page = await readRegistry(registry);
    assert.equal(sampleValue(page, 'sluice_token_cache_misses_total'), 1);
    assert.equal(sampleValue(page, 'sluice_token_cache_hits_total'), 0);
    assert.equal(sampleValue(page, 'sluice_jwks_fetches_total', { issuer: 'people' }), 1);
    await verifier.verify(token);
    await verifier.verify(token);
    page = await readRegistry(registry);
    assert.equal(sampleValue(page, 'sluice_token_cache_hits_total'), 2);
    assert.equal(sampleValue(page, 'sluice_token_cache_misses_total'), 1);
    assert.equal(sampleValue(page, 'sluice_jwks_fetches_total', { issuer: 'people' }), 1, 'keys came from memory');
    assert.equal(sampleValue(page, 'sluice_jwks_fetch_failures_total', { issuer: 'people' }), 0);
  });

  test('a JWKS endpoint that is down counts a fetch and a failure for that issuer', async () => {
    const registry = new Registry();
    const { idp, verifier } = await verifierWith(registry, 'down');
    await assert.rejects(verifier.verify(await idp.sign()), { code: 'ERR_JWKS_UNAVAILABLE' });
    const page = await readRegistry(registry);
    assert.equal(sampleValue(page, 'sluice_jwks_fetches_total', { issuer: 'people' }), 1);
    assert.equal(sampleValue(page, 'sluice_jwks_fetch_failures_total', { issuer: 'people' }), 1);
  });
});

describe('ext-authz metrics: decisions', () => {
  const policies = compileYaml({
    'p.yaml': `
policies:
  - name: open
    targets: [demo-api]
    subjects:
      - groups: [engineering]
    rules:
      - name: read
        effect: allow
        methods: [GET]
`,
  }, declaredTargets('demo-api'));
  const verifier: IdentityVerifier = { verify: async () => identity({ subject: 'alice', groups: ['engineering'] }) };
  const authorizer = new Authorizer({ verifier, policies: () => policies, logger: silentLogger() });
  const input = (over: Partial<CheckInput> & { method?: string } = {}): CheckInput => ({
    protocol: 'http', requestId: 'req-secret-id', target: 'demo-api', credential: { kind: 'bearer', authorization: 'Bearer tok' },
    action: { kind: 'http', method: over.method ?? 'GET', path: '/customers/4111111111111111', query: '', headers: {}, body: undefined },
    sourceAddress: undefined, holdBudgetMs: 0, reason: '', ...over,
  });

  test('each verdict counts under its target, effect and code, and is timed by effect', async () => {
    const registry = new Registry();
    const metrics = new DecisionMetrics(extAuthzMetrics(registry));
    const decide = async (request: CheckInput) => metrics.record(request, await authorizer.check(request), 0.2);
    await decide(input());
    await decide(input());
    await decide(input({ method: 'DELETE' }));
    await decide(input({ credential: { kind: 'bearer', authorization: undefined } }));
    await decide(input({ target: undefined }));
    const text = await registry.metrics();
    const page = await readRegistry(registry);
    assert.equal(sampleValue(page, 'sluice_authz_decisions_total', { target: 'demo-api', effect: 'allow', code: 'none' }), 2);
    assert.equal(sampleValue(page, 'sluice_authz_decisions_total', { target: 'demo-api', effect: 'deny', code: 'ERR_POLICY_DENIED' }), 1);
    assert.equal(sampleValue(page, 'sluice_authz_decisions_total', { target: 'demo-api', effect: 'deny', code: 'ERR_TOKEN_MISSING' }), 1);
    assert.equal(sampleValue(page, 'sluice_authz_decisions_total', { target: 'none', effect: 'deny', code: 'ERR_TARGET_UNKNOWN' }), 1);
    assert.equal(histogramSample(text, 'sluice_authz_check_duration_seconds', { effect: 'allow' }).count, 2);
    assert.equal(histogramSample(text, 'sluice_authz_check_duration_seconds', { effect: 'deny' }).count, 3);
    assert.equal(histogramSample(text, 'sluice_authz_check_duration_seconds', { effect: 'allow' }).buckets['0.00025'], 2, '0.2 ms');
    for (const leak of ['alice', 'req-secret-id', '4111111111111111', 'tok']) assert.ok(!new RegExp(`"[^"]*${leak}[^"]*"`).test(text), `no label carries ${leak}`);
  });
});

describe('ext-authz metrics: approvals', () => {
  let admin: AdminServer;
  const store = new MemoryApprovalStore();
  const registry = new Registry();
  const metrics = extAuthzMetrics(registry);
  let ids = 0;
  const gate = new ApprovalGate({ store, notifier: new MultiNotifier([], silentLogger()), logger: silentLogger(), metrics, newId: () => `apr-${++ids}` });
  const request = (rule: string, holdMs: number): GateRequest => ({
    identity: identity({ subject: 'alice' }), target: 'billing', method: 'POST', path: '/refunds', rule, reason: '',
    spec: { approverGroups: ['sre'], quorum: 'any', grant: { scope: 'request' }, holdMs, pendingTtlMs: 60_000 },
    holdBudgetMs: holdMs,
  });

  before(async () => {
    admin = await startAdminServer({ port: 0, logger: silentLogger() });
    const verifier: IdentityVerifier = { verify: async (token) => identity({ subject: token, groups: ['sre'] }) };
    registerApprovalsApi(admin, { store, verifier, auditLog: silentLogger(), metrics });
    metrics.countPendingWith(async () => (await store.list({ status: 'pending' })).length);
  });
  after(async () => {
    await admin.close();
    await store.close();
  });

  test('a held request approved through the API: decided{approved}, released{approved}, pending back to 0', async () => {
    const held = gate.decide(request('r/approved', 5000), new AbortController().signal);
    await waitFor(async () => (await store.list({ status: 'pending' })).length === 1, 2000, 10);
    assert.equal(sampleValue(await readRegistry(registry), 'sluice_approvals_pending'), 1);
    const vote = await fetch(`http://127.0.0.1:${admin.port}/approvals/apr-1/approve`, { method: 'POST', headers: { authorization: 'Bearer bob' } });
    assert.equal(vote.status, 200);
    assert.equal((await held).kind, 'allow');
    const text = await registry.metrics();
    const page = await readRegistry(registry);
    assert.equal(sampleValue(page, 'sluice_approvals_decided_total', { outcome: 'approved' }), 1);
    assert.equal(sampleValue(page, 'sluice_approvals_pending'), 0);
    assert.equal(histogramSample(text, 'sluice_approval_release_seconds', { outcome: 'approved' }).count, 1);
  });

  test('a hold that ends undecided, and a caller that leaves, are released under their own outcomes', async () => {
    assert.equal((await gate.decide(request('r/slow', 30), new AbortController().signal)).kind, 'pending');
    const leaving = new AbortController();
    const left = gate.decide(request('r/left', 5000), leaving.signal);
    await waitFor(async () => (await store.list({ status: 'pending' })).some((r) => r.rule === 'r/left'), 2000, 10);
    leaving.abort();
    assert.equal((await left).kind, 'pending');
    const text = await registry.metrics();
    assert.equal(histogramSample(text, 'sluice_approval_release_seconds', { outcome: 'hold_ended' }).count, 1);
    assert.equal(histogramSample(text, 'sluice_approval_release_seconds', { outcome: 'caller_left' }).count, 1);
  });

  test('a pending count that cannot be read is NaN, not a stale number', async () => {
    const other = new Registry();
    extAuthzMetrics(other).countPendingWith(async () => {
      throw new Error('redis at 10.0.0.7 refused');
    });
    assert.ok(Number.isNaN(sampleValue(await readRegistry(other), 'sluice_approvals_pending')));
  });
});
