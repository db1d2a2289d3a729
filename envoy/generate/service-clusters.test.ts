import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extAuthzCluster, extProcCluster, SERVICE_HEALTH_OUT_MS } from './service-clusters.ts';
import { drainSettings } from '../../common/config/drain.ts';
import { parseConfig } from '../../common/config.ts';

const replicas = [{ host: '127.0.0.1', port: 9001 }, { host: '127.0.0.1', port: 9011 }];

test('each service cluster has one endpoint per replica, a grpc.health.v1 check of its own service and outlier detection', () => {
  for (const [cluster, service] of [[extAuthzCluster(replicas), 'envoy.service.auth.v3.Authorization'], [extProcCluster(replicas), 'envoy.service.ext_proc.v3.ExternalProcessor']] as const) {
    const c = cluster as any;
    assert.deepEqual(c.load_assignment.endpoints[0].lb_endpoints.map((e: any) => e.endpoint.address.socket_address.port_value), [9001, 9011]);
    assert.equal(c.health_checks.length, 1);
    assert.deepEqual(c.health_checks[0].grpc_health_check, { service_name: service });
    // A quiet cluster is checked as often as a busy one: a drained replica must not look healthy for a minute.
    assert.equal(c.health_checks[0].no_traffic_interval, c.health_checks[0].interval);
    // Only a replica's refused connections eject it, never the slow answers of a busy one.
    assert.equal(c.outlier_detection.split_external_local_origin_errors, true);
    assert.equal(c.outlier_detection.enforcing_consecutive_local_origin_failure, 100);
    assert.equal(c.outlier_detection.enforcing_consecutive_gateway_failure, 0);
    assert.equal(c.outlier_detection.enforcing_consecutive_5xx, 0);
    assert.ok(c.outlier_detection.max_ejection_percent >= 50, 'one replica of two can be ejected');
  }
});

test("the default drain delay is longer than Envoy's health checks need to take a NOT_SERVING replica out", () => {
  const config = parseConfig('{}', '/tmp/sluice.yaml');
  for (const drain of [config.extAuthz.drain, config.extProc.drain]) {
    assert.ok(drainSettings(drain).delayMs > SERVICE_HEALTH_OUT_MS, `${drain.delay} vs ${SERVICE_HEALTH_OUT_MS} ms`);
  }
  // A held approval (envoy.approvalTimeout) is not cut by ext-authz's drain.
  assert.ok(drainSettings(config.extAuthz.drain).timeoutMs > Number.parseFloat(config.envoy.approvalTimeout) * 1000);
});
