import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { family, histogramSample, parsePrometheus, readRegistry, sampleValue } from '../../test/harness/prometheus-text.ts';
import { CounterFamily, GaugeFamily, HistogramFamily } from './families.ts';
import { OVERFLOW } from './label-cells.ts';

describe('metric families', () => {
  test('a counter cell counts, per label combination, and the page says so', async () => {
    const registry = new Registry();
    const decisions = new CounterFamily(registry, { name: 'sluice_test_total', help: 'Test.', labelNames: ['target', 'code'] as const });
    const a = decisions.cell('demo-api', 'none');
    a.inc();
    a.inc(2);
    decisions.cell('demo-api', 'ERR_POLICY_DENIED').inc();
    assert.equal(decisions.cell('demo-api', 'none'), a, 'the same values give the same cell');
    a.inc(-5);
    a.inc(Number.NaN);
    const families = await readRegistry(registry);
    assert.equal(family(families, 'sluice_test_total').type, 'COUNTER');
    assert.equal(sampleValue(families, 'sluice_test_total', { target: 'demo-api', code: 'none' }), 3, 'never goes down');
    assert.equal(sampleValue(families, 'sluice_test_total', { code: 'ERR_POLICY_DENIED' }), 1);
  });

  test('a gauge moves both ways and a collect hook sets it at scrape time', async () => {
    const registry = new Registry();
    let depth = 7;
    const active = new GaugeFamily(registry, { name: 'sluice_test_active', help: 'Test.', labelNames: ['protocol'] as const });
    new GaugeFamily(registry, { name: 'sluice_test_depth', help: 'Test.', labelNames: [] as const, collect: (f) => f.cell().set(depth) });
    const http = active.cell('http');
    http.inc();
    http.inc();
    http.dec();
    assert.equal(sampleValue(await readRegistry(registry), 'sluice_test_active', { protocol: 'http' }), 1);
    assert.equal(sampleValue(await readRegistry(registry), 'sluice_test_depth'), 7);
    depth = 2;
    assert.equal(sampleValue(await readRegistry(registry), 'sluice_test_depth'), 2);
  });

  test('a histogram has cumulative inclusive buckets, +Inf, sum and count, per series', async () => {
    const registry = new Registry();
    const latency = new HistogramFamily(registry, { name: 'sluice_test_seconds', help: 'Test.', labelNames: ['effect'] as const, buckets: [0.001, 0.01, 0.1] });
    const allow = latency.cell('allow');
    for (const v of [0.0005, 0.001, 0.005, 0.5]) allow.observe(v);
    latency.cell('deny').observe(0.05);
    const text = await registry.metrics();
    assert.equal(family(parsePrometheus(text), 'sluice_test_seconds').type, 'HISTOGRAM');
    assert.deepEqual(histogramSample(text, 'sluice_test_seconds', { effect: 'allow' }), { count: 4, sum: 0.5065, buckets: { '0.001': 2, '0.01': 3, '0.1': 3, '+Inf': 4 } });
    assert.deepEqual(histogramSample(text, 'sluice_test_seconds', { effect: 'deny' }), { count: 1, sum: 0.05, buckets: { '0.001': 0, '0.01': 0, '0.1': 1, '+Inf': 1 } });
    assert.throws(() => new HistogramFamily(registry, { name: 'sluice_bad_seconds', help: 'x', labelNames: [] as const, buckets: [1, 1] }), /strictly increasing/);
  });

  test('past maxSeries, new label combinations share one overflow series', async () => {
    const registry = new Registry();
    const hits = new CounterFamily(registry, { name: 'sluice_test_total', help: 'Test.', labelNames: ['target', 'code'] as const, maxSeries: 2 });
    hits.cell('a', 'x').inc();
    hits.cell('b', 'x').inc();
    for (let i = 0; i < 100; i++) hits.cell(`leak-${i}`, 'x').inc();
    hits.cell('a', 'y').inc();
    const samples = family(await readRegistry(registry), 'sluice_test_total').metrics;
    assert.equal(samples.length, 3);
    assert.equal(sampleValue(await readRegistry(registry), 'sluice_test_total', { target: OVERFLOW, code: OVERFLOW }), 101);
    assert.equal(sampleValue(await readRegistry(registry), 'sluice_test_total', { target: 'a', code: 'x' }), 1, 'known series keep counting');
  });

  test('the wrong number of label values is a programming error, caught at once', () => {
    const hits = new CounterFamily(new Registry(), { name: 'sluice_test_total', help: 'Test.', labelNames: ['target'] as const });
    assert.throws(() => (hits.cell as (...v: string[]) => unknown)('a', 'b'), /expected 1 label values/);
  });

  test('registry.resetMetrics zeroes every cell, which stays bound', async () => {
    const registry = new Registry();
    const hits = new CounterFamily(registry, { name: 'sluice_test_total', help: 'Test.', labelNames: [] as const });
    const cell = hits.cell();
    cell.inc(5);
    registry.resetMetrics();
    cell.inc();
    assert.equal(sampleValue(await readRegistry(registry), 'sluice_test_total'), 1);
  });
});
