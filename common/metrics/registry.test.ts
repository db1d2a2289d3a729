import assert from 'node:assert/strict';
import { test } from 'node:test';
import { family, readRegistry } from '../../test/harness/prometheus-text.ts';
import { createServiceRegistry } from './registry.ts';

test('two services in one process: each page has the process metrics under its own service, however they are read', async () => {
  const authz = createServiceRegistry('ext-authz');
  const proc = createServiceRegistry('ext-proc');
  // JSON first: the registry writes its default labels into the samples it is handed.
  const json = await authz.getMetricsAsJSON();
  assert.equal(json.find((f) => f.name === 'process_cpu_user_seconds_total')?.values[0]?.labels.service, 'ext-authz');
  for (const name of ['process_cpu_user_seconds_total', 'nodejs_heap_size_used_bytes', 'process_start_time_seconds']) {
    assert.deepEqual(family(await readRegistry(proc), name).metrics.map((s) => s.labels?.service), ['ext-proc'], name);
    const again = (await proc.getMetricsAsJSON()).find((f) => f.name === name);
    assert.deepEqual(again?.values.map((v) => v.labels.service), ['ext-proc'], name);
  }
});

test('resetting one service leaves the process metrics running', async () => {
  const authz = createServiceRegistry('ext-authz');
  authz.resetMetrics();
  const cpu = family(await readRegistry(createServiceRegistry('ext-proc')), 'process_cpu_user_seconds_total');
  assert.ok(Number(cpu.metrics[0]?.value) > 0);
});
