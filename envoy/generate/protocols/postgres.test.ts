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
  assert.deepEqual(extProc.typed_config.grpc_service.initial_metadata, [{ key: 'x-sluice-target', value: 'db' }]);
  assert.equal(tcp.name, 'envoy.filters.network.tcp_proxy');
  assert.equal(tcp.typed_config.cluster, targetClusterName('db'));
  assert.ok(files['cds.json'].resources.some((c: any) => c.name === targetClusterName('db')));
});

test('a postgres target without a port is refused, naming the target', () => {
  assert.throws(() => generateEnvoyConfig(gatewayInput([httpTarget('db', { protocol: 'postgres', http: null })])),
    (err: any) => err.code === 'ERR_CONFIG_INVALID' && /postgres\.port/.test(err.message) && err.details.target === 'db');
});
