import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { silentLogger } from '../logger.ts';
import { startAdminServer, type AdminServer } from '../admin-server.ts';
import { family, parsePrometheus, sampleValue } from '../../test/harness/prometheus-text.ts';
import { registerMetricsRoute } from './admin-route.ts';
import { CounterFamily } from './families.ts';
import { createServiceRegistry } from './registry.ts';

describe('GET /metrics on an admin server', () => {
  let admin: AdminServer;
  let registry: Registry;
  let base: string;

  before(async () => {
    admin = await startAdminServer({ port: 0, logger: silentLogger() });
    registry = createServiceRegistry('ext-authz');
    new CounterFamily(registry, { name: 'sluice_test_total', help: 'Test.', labelNames: [] as const }).cell().inc(4);
    registerMetricsRoute(admin, registry);
    base = `http://127.0.0.1:${admin.port}`;
  });
  after(() => admin.close());

  test('Prometheus text with its content type, every sample labelled with the service', async () => {
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const families = parsePrometheus(await res.text());
    assert.equal(sampleValue(families, 'sluice_test_total', { service: 'ext-authz' }), 4);
    assert.ok(family(families, 'process_cpu_user_seconds_total'), 'process metrics too');
    for (const f of families) for (const s of f.metrics) if (f.type !== 'HISTOGRAM') assert.equal(s.labels?.service, 'ext-authz', f.name);
  });

  test('?format=json is prom-client JSON, as a supervisor merges it', async () => {
    const res = await fetch(`${base}/metrics?format=json`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const json = (await res.json()) as { name: string; values: { value: number; labels: Record<string, string> }[] }[];
    const test = json.find((f) => f.name === 'sluice_test_total');
    assert.deepEqual(test?.values, [{ value: 4, labels: { service: 'ext-authz' } }]);
  });

  test('other methods are refused by the router', async () => {
    assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
  });
});
