import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { family, histogramSample, parsePrometheus, sampleValue } from '../../test/harness/prometheus-text.ts';
import { CounterFamily, HistogramFamily } from './families.ts';
import { mergeMetrics, type MetricsJson } from './merge.ts';
import { createServiceRegistry, type ServiceName } from './registry.ts';

/** A service's registry with one counter and one histogram, as its /metrics?format=json serves it. */
async function servicePart(service: ServiceName, decisions: number, latency: number): Promise<MetricsJson> {
  const registry = createServiceRegistry(service);
  new CounterFamily(registry, { name: 'sluice_shared_total', help: 'In both.', labelNames: ['target'] as const }).cell('demo-api').inc(decisions);
  new HistogramFamily(registry, { name: 'sluice_shared_seconds', help: 'In both.', labelNames: [] as const, buckets: [0.1, 1] }).cell().observe(latency);
  new CounterFamily(registry, { name: `sluice_only_${service.replace('-', '_')}_total`, help: 'In one.', labelNames: [] as const }).cell().inc();
  // Over HTTP, as a supervisor reads it.
  return JSON.parse(JSON.stringify(await registry.getMetricsAsJSON())) as MetricsJson;
}

describe('mergeMetrics', () => {
  test('two services: every sample survives under its service, each family printed once', async () => {
    const text = await mergeMetrics([await servicePart('ext-authz', 3, 0.05), await servicePart('ext-proc', 5, 0.5)]);
    const families = parsePrometheus(text);
    const typeLines = text.split('\n').filter((l) => l.startsWith('# TYPE '));
    assert.equal(new Set(typeLines).size, typeLines.length, 'one TYPE line per family');
    assert.equal(text.split('\n').filter((l) => l.startsWith('# HELP ')).length, typeLines.length, 'one HELP line per family');
    assert.equal(families.length, typeLines.length);

    assert.equal(sampleValue(families, 'sluice_shared_total', { service: 'ext-authz', target: 'demo-api' }), 3);
    assert.equal(sampleValue(families, 'sluice_shared_total', { service: 'ext-proc', target: 'demo-api' }), 5);
    assert.equal(family(families, 'sluice_shared_total').metrics.length, 2);
    assert.deepEqual(histogramSample(text, 'sluice_shared_seconds', { service: 'ext-authz' }), { count: 1, sum: 0.05, buckets: { '0.1': 1, '1': 1, '+Inf': 1 } });
    assert.deepEqual(histogramSample(text, 'sluice_shared_seconds', { service: 'ext-proc' }), { count: 1, sum: 0.5, buckets: { '0.1': 0, '1': 1, '+Inf': 1 } });
    assert.equal(sampleValue(families, 'sluice_only_ext_authz_total', { service: 'ext-authz' }), 1);
    assert.equal(sampleValue(families, 'sluice_only_ext_proc_total', { service: 'ext-proc' }), 1);

    // prom-client's own families too, including the one its aggregator would omit.
    for (const name of ['process_cpu_user_seconds_total', 'nodejs_heap_size_used_bytes', 'process_start_time_seconds', 'nodejs_version_info']) {
      const services = family(families, name).metrics.map((s) => s.labels?.service).sort();
      assert.deepEqual(services, ['ext-authz', 'ext-proc'], name);
    }
  });

  test('samples with equal labels (two parts claiming one service) combine by the family aggregator', async () => {
    const text = await mergeMetrics([await servicePart('gateway', 2, 0.05), await servicePart('gateway', 4, 0.05)]);
    const families = parsePrometheus(text);
    assert.equal(sampleValue(families, 'sluice_shared_total', { service: 'gateway' }), 6, 'counters sum');
    assert.equal(histogramSample(text, 'sluice_shared_seconds', { service: 'gateway' }).count, 2);
    assert.equal(family(families, 'process_start_time_seconds').metrics.length, 1, 'an omit family keeps one sample');
  });

  test('nothing to merge is an empty page', async () => {
    assert.equal((await mergeMetrics([])).trim(), '');
  });
});
