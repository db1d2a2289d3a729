import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allPanels, dashboardExprs, dashboardMetricNames, isServed, readDashboard } from '../../test/harness/dashboard.ts';
import { extAuthzMetrics } from '../../ext-authz/metrics.ts';
import { extProcMetrics } from '../../ext-proc/metrics.ts';
import { createServiceRegistry } from './registry.ts';
import { gatewayMetrics } from '../../gateway/metrics.ts';

/** The families each service's registry holds, as the services build them (service.ts calls exactly these). */
function servedFamilies(): Map<string, string> {
  const authz = createServiceRegistry('ext-authz');
  extAuthzMetrics(authz);
  const proc = createServiceRegistry('ext-proc');
  extProcMetrics(proc);
  const gateway = createServiceRegistry('gateway');
  gatewayMetrics(gateway, () => []);
  return new Map([...authz.getMetricsAsArray(), ...proc.getMetricsAsArray(), ...gateway.getMetricsAsArray()].map((m) => [m.name, String(m.type)]));
}

test('every sluice_ metric a dashboard panel queries is one the services register', () => {
  const families = servedFamilies();
  const used = [...dashboardMetricNames()].filter((n) => n.startsWith('sluice_'));
  assert.ok(used.length >= 15, `the dashboard reads the Sluice families (${used.length} found)`);
  const missing = used.filter((name) => !isServed(name, families));
  assert.deepEqual(missing, [], `not registered by any service: ${missing.join(', ')}`);
});

test('every Sluice family is on the dashboard', () => {
  const used = [...dashboardMetricNames()].map((n) => n.replace(/_(bucket|sum|count)$/, ''));
  const unused = [...servedFamilies().keys()].filter((name) => name.startsWith('sluice_') && !used.includes(name));
  assert.deepEqual(unused, []);
});

test('the dashboard is a Grafana 10+ dashboard on a Prometheus datasource variable, with the rows operators need', () => {
  const dashboard = readDashboard();
  assert.ok(dashboard.schemaVersion >= 38, 'Grafana 10 schema');
  const variable = dashboard.templating.list.find((v) => v.name === 'datasource');
  assert.deepEqual({ type: variable?.type, query: variable?.query }, { type: 'datasource', query: 'prometheus' });
  for (const panel of allPanels(dashboard).filter((p) => p.type !== 'row')) {
    assert.deepEqual(panel.datasource, { type: 'prometheus', uid: '${datasource}' }, panel.title);
    for (const t of panel.targets ?? []) assert.deepEqual(t.datasource, { type: 'prometheus', uid: '${datasource}' }, panel.title);
    assert.ok((panel.targets ?? []).length > 0, `${panel.title} queries something`);
  }
  const rows = dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title);
  assert.deepEqual(rows, ['Authorization decisions (ext-authz)', 'Identity', 'Approvals', 'Exchanges and masking (ext-proc)', 'Session recording', 'Secrets and upstream credentials', 'Envoy', 'Gateway supervisor (sluice gateway)']);
  // histogram_quantile over a rate of buckets, keeping `le`: the only form that gives quantiles.
  for (const expr of dashboardExprs(dashboard).filter((e) => e.includes('histogram_quantile'))) {
    assert.match(expr, /histogram_quantile\(0\.\d+, sum by \(le[,)].*rate\([a-z_]+_bucket/, expr);
  }
});
