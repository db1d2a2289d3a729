import { test } from 'node:test';
import assert from 'node:assert/strict';
import { httpTarget } from './sample-input.ts';
import { targetCluster } from './target-cluster.ts';
import { SYSTEM_CA_BUNDLE } from './upstream-tls.ts';

test('IP literal endpoints make a STATIC cluster; any host name makes it STRICT_DNS preferring IPv4', () => {
  const ips = targetCluster(httpTarget('a', { endpoints: [{ host: '10.0.0.1', port: 80 }, { host: '::1', port: 80 }] }));
  assert.equal(ips.type, 'STATIC');
  assert.equal(ips.dns_lookup_family, undefined);
  const named = targetCluster(httpTarget('a', { endpoints: [{ host: '10.0.0.1', port: 80 }, { host: 'api.internal', port: 80 }] }));
  assert.equal(named.type, 'STRICT_DNS');
  assert.equal(named.dns_lookup_family, 'V4_PREFERRED');
  assert.equal((named.load_assignment as any).endpoints[0].lb_endpoints.length, 2);
});

test('cluster name, connect timeout and load-balancing policy come from the target', () => {
  const cluster = targetCluster(httpTarget('pay', { lbPolicy: 'least_request', timeouts: { connect: '3s', request: '0s', idle: '1s' } }));
  assert.equal(cluster.name, 'target_pay');
  assert.equal(cluster.connect_timeout, '3s');
  assert.equal(cluster.lb_policy, 'LEAST_REQUEST');
  assert.equal(cluster.transport_socket, undefined);
  assert.equal(cluster.health_checks, undefined);
});

test('an HTTP health check probes the path (default "/"); timings are durations', () => {
  const check = { intervalMs: 5000, timeoutMs: 250, unhealthyThreshold: 3, healthyThreshold: 2 };
  const [hc] = targetCluster(httpTarget('a', { healthCheck: check })).health_checks as any[];
  assert.deepEqual(hc, { timeout: '0.25s', interval: '5s', unhealthy_threshold: 3, healthy_threshold: 2, http_health_check: { path: '/' } });
  const [withPath] = targetCluster(httpTarget('a', { healthCheck: { ...check, path: '/healthz' } })).health_checks as any[];
  assert.equal(withPath.http_health_check.path, '/healthz');
  const [tcp] = targetCluster(httpTarget('a', { protocol: 'redis', healthCheck: check })).health_checks as any[];
  assert.deepEqual(tcp.tcp_health_check, {});
});

const tlsOf = (cluster: Record<string, unknown>) => (cluster.transport_socket as any).typed_config;

test('TLS: the SNI is sent and is the expected SAN by default; the CA defaults to the system bundle', () => {
  const tls = tlsOf(targetCluster(httpTarget('a', { tls: { sni: 'api.example.com', subjectAltNames: [] } })));
  assert.equal(tls['@type'], 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext');
  assert.equal(tls.sni, 'api.example.com');
  assert.deepEqual(tls.common_tls_context.validation_context, {
    trusted_ca: { filename: SYSTEM_CA_BUNDLE },
    match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'api.example.com' } }],
  });
  assert.equal(tls.common_tls_context.tls_certificates, undefined);
});

test('TLS: declared SANs and CA win; a client certificate is sent when certFile and keyFile are set', () => {
  const tls = tlsOf(targetCluster(httpTarget('a', {
    tls: { sni: 'front.example.com', caFile: '/etc/ca.pem', certFile: '/etc/c.pem', keyFile: '/etc/k.pem', subjectAltNames: ['x.example.com', 'y.example.com'] },
  })));
  assert.equal(tls.common_tls_context.validation_context.trusted_ca.filename, '/etc/ca.pem');
  assert.deepEqual(tls.common_tls_context.validation_context.match_typed_subject_alt_names.map((m: any) => m.matcher.exact), ['x.example.com', 'y.example.com']);
  assert.deepEqual(tls.common_tls_context.tls_certificates, [{ certificate_chain: { filename: '/etc/c.pem' }, private_key: { filename: '/etc/k.pem' } }]);
});

test('TLS without SNI or SANs still checks the peer name: the endpoint host (SNI too when it is a name)', () => {
  const named = tlsOf(targetCluster(httpTarget('a', { endpoints: [{ host: 'api.internal', port: 443 }], tls: { subjectAltNames: [] } })));
  assert.equal(named.sni, 'api.internal');
  assert.deepEqual(named.common_tls_context.validation_context.match_typed_subject_alt_names, [{ san_type: 'DNS', matcher: { exact: 'api.internal' } }]);
  const ip = tlsOf(targetCluster(httpTarget('a', { tls: { subjectAltNames: [] } })));
  assert.equal(ip.sni, undefined);
  assert.deepEqual(ip.common_tls_context.validation_context.match_typed_subject_alt_names, [{ san_type: 'IP_ADDRESS', matcher: { exact: '127.0.0.1' } }]);
});
