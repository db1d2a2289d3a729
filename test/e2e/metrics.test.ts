import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Gateway, TEST_SECRETS } from '../harness/gateway.ts';
import { dashboardMetricNames, isServed } from '../harness/dashboard.ts';
import { everyString, sampleValue, scrape, type PrometheusFamily } from '../harness/prometheus-text.ts';

const FIXTURE_POLICIES = fileURLToPath(new URL('../fixtures/policies/', import.meta.url));
const CARD = '4111 1111 1111 1111';

describe('metrics through real Envoy: what the dashboard reads exists, and holds nothing secret', () => {
  let gw: Gateway;
  let token: string;
  const pages: { source: string; text: string; families: PrometheusFamily[] }[] = [];

  before(async () => {
    gw = await Gateway.start({
      policySource: FIXTURE_POLICIES,
      extProcAdmin: true,
      masking: { profiles: [{ name: 'pii', recognizers: [{ use: 'card', strategy: 'keep-last-4' }] }], targets: { 'demo-api': 'pii' } },
    });
    token = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'], claims: { email: 'alice@example.com' } });

    const allowed = await gw.request('/api/metrics-allowed', { token });
    assert.equal(allowed.status, 200);
    const masked = await gw.request('/api/stream?case=metrics-masked', { token, headers: { 'x-demo-chunks': JSON.stringify([`{"card":"${CARD}"}`]) } });
    assert.equal(masked.status, 200);
    assert.ok(!masked.text.includes(CARD), masked.text);
    // A careless upstream that answers with the request headers: the injected credential is scrubbed.
    const echoed = await gw.request('/api/metrics-echo', { token, headers: { 'x-demo-echo-headers': '1' } });
    assert.equal(echoed.status, 200);
    assert.ok(!echoed.text.includes(TEST_SECRETS['demo-api-token']), 'the injected credential never reaches the caller');
    assert.equal((await gw.request('/api/metrics-denied', { token, method: 'DELETE' })).status, 403);
    assert.equal((await gw.request('/api/metrics-no-token')).status, 401);
    await gw.proc!.recordingQueue!.flush();

    pages.push({ source: 'envoy', ...(await scrape(`${gw.envoy.adminUrl}/stats/prometheus`)) });
    pages.push({ source: 'ext-authz', ...(await scrape(`${gw.replicas[0]!.approvalsUrl}/metrics`)) });
    pages.push({ source: 'ext-proc', ...(await scrape(`${gw.procAdminUrl}/metrics`)) });
  });

  after(async () => {
    await gw?.stop();
  });

  const families = (source: string) => pages.find((p) => p.source === source)!.families;

  test('every metric a dashboard panel queries is on Envoy\'s or a service\'s page', () => {
    const served = new Map(pages.flatMap((p) => p.families.map((f) => [f.name, f.type] as const)));
    // The gateway row reads the supervisor's families, which only `sluice gateway` serves (test/e2e/gateway.test.ts checks those).
    const used = [...dashboardMetricNames()].filter((name) => !name.startsWith('sluice_gateway_'));
    assert.ok(used.some((n) => n.startsWith('envoy_')) && used.some((n) => n.startsWith('sluice_')));
    const missing = used.filter((name) => !isServed(name, served));
    assert.deepEqual(missing, [], `not served by Envoy or a service: ${missing.join(', ')}`);
  });

  test('the traffic shows up: Envoy\'s and Sluice\'s counts agree on what happened', () => {
    const authz = families('ext-authz');
    assert.equal(sampleValue(authz, 'sluice_authz_decisions_total', { target: 'demo-api', effect: 'allow', code: 'none' }), 3);
    assert.equal(sampleValue(authz, 'sluice_authz_decisions_total', { target: 'demo-api', effect: 'deny', code: 'ERR_POLICY_DENIED' }), 1);
    assert.equal(sampleValue(authz, 'sluice_authz_decisions_total', { target: 'demo-api', effect: 'deny', code: 'ERR_TOKEN_MISSING' }), 1);
    assert.equal(sampleValue(families('envoy'), 'envoy_http_ext_authz_ok', { envoy_http_conn_manager_prefix: 'sluice_http' }), 3);
    assert.equal(sampleValue(families('envoy'), 'envoy_http_ext_authz_denied', { envoy_http_conn_manager_prefix: 'sluice_http' }), 2);
    const proc = families('ext-proc');
    // Envoy opens an ext_proc stream for denied requests too (ext_authz's local reply passes the
    // response path), so streams match Envoy's own count, not the allows.
    const started = sampleValue(families('envoy'), 'envoy_http_ext_proc_streams_started', { envoy_http_conn_manager_prefix: 'sluice_http' });
    assert.equal(started, 5);
    assert.equal(sampleValue(proc, 'sluice_extproc_streams_total', { protocol: 'http' }), started);
    assert.equal(sampleValue(proc, 'sluice_masking_matches_total', { profile: 'pii', recognizer: 'card' }), 1);
    assert.ok(sampleValue(proc, 'sluice_masking_matches_total', { profile: 'pii', recognizer: 'sluice:credential' }) >= 1);
    assert.equal(sampleValue(proc, 'sluice_session_records_total', { outcome: 'written' }), 3);
  });

  test('no page holds a token, the injected secret, a subject, a path or a masked value', () => {
    const forbidden = [token, token.split('.')[1]!, token.split('.')[2]!, ...Object.values(TEST_SECRETS), CARD, 'alice', '/api/metrics', 'metrics-masked'];
    for (const page of pages) {
      const strings = everyString(page.families);
      for (const value of forbidden) {
        assert.ok(!page.text.includes(value), `${page.source}'s page contains ${value.slice(0, 12)}…`);
        assert.ok(!strings.some((s) => s.includes(value)), `${page.source}: a label or value contains ${value.slice(0, 12)}…`);
      }
    }
  });
});
