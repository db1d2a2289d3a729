import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateEnvoyConfig } from '../generate.ts';
import { gatewayInput, httpTarget } from '../sample-input.ts';
import { EXT_PROC_CLUSTER, targetClusterName } from '../resource-types.ts';

test('a postgres target gets its own listener: network ext_proc (target in the stream metadata, fail closed) then tcp_proxy to its cluster', () => {
  const { files } = generateEnvoyConfig(gatewayInput([httpTarget('db', { protocol: 'postgres', http: null, postgres: { port: 15432 } })])) as any;
  const listener = files['lds.json'].resources.find((l: any) => l.name === 'pg_db');
  assert.ok(listener, 'listener pg_db');
  assert.equal(listener.address.socket_address.port_value, 15432);
  const [extProc, tcp] = listener.filter_chains[0].filters;
  assert.equal(extProc.name, 'envoy.filters.network.ext_proc');
  assert.equal(extProc.typed_config.failure_mode_allow, false);
  assert.equal(extProc.typed_config.grpc_service.envoy_grpc.cluster_name, EXT_PROC_CLUSTER);
  assert.deepEqual(extProc.typed_config.grpc_service.initial_metadata, [{ key: 'x-sluice-target', value: 'db' }, { key: 'x-sluice-transport', value: 'plaintext' }]);
  assert.equal(tcp.name, 'envoy.filters.network.tcp_proxy');
  assert.equal(tcp.typed_config.cluster, targetClusterName('db'));
  const cluster = files['cds.json'].resources.find((c: any) => c.name === targetClusterName('db'));
  assert.ok(cluster);
  // Bounded reads from the server keep ext-proc's per-chunk memory small (target-cluster.ts).
  assert.equal(cluster.per_connection_buffer_limit_bytes, 64 * 1024);
  const http = generateEnvoyConfig(gatewayInput([httpTarget('api')])) as any;
  assert.equal(http.files['cds.json'].resources.find((c: any) => c.name === targetClusterName('api')).per_connection_buffer_limit_bytes, undefined);
});

test('a postgres target without a port is refused, naming the target', () => {
  assert.throws(() => generateEnvoyConfig(gatewayInput([httpTarget('db', { protocol: 'postgres', http: null })])),
    (err: any) => err.code === 'ERR_CONFIG_INVALID' && /postgres\.port/.test(err.message) && err.details.target === 'db');
});

test('client TLS: a TLS chain (direct TLS, ALPN postgresql) and, with require, a plaintext chain that ext-proc refuses', () => {
  const tls = { certFile: '/etc/sluice/db.pem', keyFile: '/etc/sluice/db.key', require: true };
  const { files } = generateEnvoyConfig(gatewayInput([httpTarget('db', { protocol: 'postgres', http: null, postgres: { port: 15432, tls } })])) as any;
  const listener = files['lds.json'].resources.find((l: any) => l.name === 'pg_db');
  assert.equal(listener.listener_filters[0].name, 'envoy.filters.listener.tls_inspector');
  const [secure, plain] = listener.filter_chains;
  assert.equal(secure.filter_chain_match.transport_protocol, 'tls');
  const context = secure.transport_socket.typed_config.common_tls_context;
  assert.deepEqual(context.alpn_protocols, ['postgresql']);
  assert.equal(context.tls_certificates[0].certificate_chain.filename, tls.certFile);
  assert.equal(plain.filter_chain_match.transport_protocol, 'raw_buffer');
  const transport = (chain: any) => chain.filters[0].typed_config.grpc_service.initial_metadata.find((m: any) => m.key === 'x-sluice-transport').value;
  assert.equal(transport(secure), 'tls');
  assert.equal(transport(plain), 'plaintext-refused');
});
