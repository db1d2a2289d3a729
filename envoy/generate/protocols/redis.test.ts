import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateEnvoyConfig } from '../generate.ts';
import { gatewayInput, httpTarget } from '../sample-input.ts';
import { EXT_AUTHZ_CLUSTER, EXT_PROC_CLUSTER, targetClusterName } from '../resource-types.ts';
import type { RedisSpec } from '../types.ts';
import { RECORDING_METADATA_KEY, REFUSED_IN_MULTI_COMMAND } from './redis.ts';

const redis = (overrides: Partial<RedisSpec> = {}): RedisSpec => ({ port: 16379, deniedCommands: [], opTimeout: '5s', commandChecks: false, recording: 'commands', upstreamAuth: null, ...overrides });
const generate = (spec: RedisSpec) => generateEnvoyConfig(gatewayInput([httpTarget('cache', { protocol: 'redis', http: null, redis: spec })])) as any;

test('a redis target gets its own listener: redis_proxy with external auth (ext-authz, the target in the call metadata, expiry on) to its cluster', () => {
  const { files } = generate(redis());
  const listener = files['lds.json'].resources.find((l: any) => l.name === 'redis_cache');
  assert.equal(listener.address.socket_address.port_value, 16379);
  const filters = listener.filter_chains[0].filters;
  assert.equal(filters.length, 1);
  const proxy = filters[0].typed_config;
  assert.equal(filters[0].name, 'envoy.filters.network.redis_proxy');
  assert.equal(proxy.prefix_routes.catch_all_route.cluster, targetClusterName('cache'));
  assert.equal(proxy.external_auth_provider.enable_auth_expiration, true);
  assert.equal(proxy.external_auth_provider.grpc_service.envoy_grpc.cluster_name, EXT_AUTHZ_CLUSTER);
  assert.deepEqual(proxy.external_auth_provider.grpc_service.initial_metadata, [{ key: 'x-sluice-target', value: 'cache' }]);
  assert.equal(proxy.settings.op_timeout, '5s');
});

test('the deny list is always on (CONFIG, SELECT, FLUSHALL, KEYS, SCRIPT, …) and adds the target\'s own, as error faults on every connection', () => {
  const proxy = generate(redis({ deniedCommands: ["EVAL"] })).files["lds.json"].resources.find((l: any) => l.name === "redis_cache").filter_chains[0].filters[0].typed_config;
  const [fault] = proxy.faults;
  assert.equal(fault.fault_type, 'ERROR');
  assert.deepEqual(fault.fault_enabled.default_value, { numerator: 100, denominator: 'HUNDRED' });
  for (const command of ['config', 'select', 'flushall', 'flushdb', 'keys', 'shutdown', 'debug', 'script', 'eval']) assert.ok(fault.commands.includes(command), command);
  assert.ok(!fault.commands.includes('get'));
});

test('the upstream login is read from files (never inline) on the cluster; none without a credential', () => {
  const withAuth = generate(redis({ upstreamAuth: { usernameFile: '/x/cache.user.1', passwordFile: '/x/cache.password.1' } }));
  const cluster = withAuth.files['cds.json'].resources.find((c: any) => c.name === targetClusterName('cache'));
  const options = cluster.typed_extension_protocol_options['envoy.filters.network.redis_proxy'];
  assert.deepEqual(options.auth_password, { filename: '/x/cache.password.1' });
  assert.deepEqual(options.auth_username, { filename: '/x/cache.user.1' });
  const without = generate(redis()).files['cds.json'].resources.find((c: any) => c.name === targetClusterName('cache'));
  assert.equal(without.typed_extension_protocol_options, undefined);
});

test('with command checks, Sluice\'s network ext_proc (fail closed) comes before redis_proxy; by default it reads client bytes only, and redis_proxy knows the stand-in for refusals inside MULTI', () => {
  const listener = generate(redis({ commandChecks: true })).files['lds.json'].resources.find((l: any) => l.name === 'redis_cache');
  const [proc, proxy] = listener.filter_chains[0].filters;
  assert.equal(proc.name, 'envoy.filters.network.ext_proc');
  assert.equal(proc.typed_config.failure_mode_allow, false);
  assert.equal(proc.typed_config.grpc_service.envoy_grpc.cluster_name, EXT_PROC_CLUSTER);
  assert.deepEqual(proc.typed_config.grpc_service.initial_metadata, [
    { key: 'x-sluice-target', value: 'cache' }, { key: 'x-sluice-protocol', value: 'redis' }, { key: RECORDING_METADATA_KEY, value: 'commands' },
  ]);
  assert.deepEqual(proc.typed_config.processing_mode, { process_write: 'SKIP' });
  assert.equal(proxy.name, 'envoy.filters.network.redis_proxy');
  assert.deepEqual(proxy.typed_config.custom_commands, [REFUSED_IN_MULTI_COMMAND]);
});

test('recording commands+replies: ext_proc reads both directions (no processing_mode), tells ext-proc so, and redis_proxy needs no stand-in', () => {
  const listener = generate(redis({ commandChecks: true, recording: 'commands+replies' })).files['lds.json'].resources.find((l: any) => l.name === 'redis_cache');
  const [proc, proxy] = listener.filter_chains[0].filters;
  assert.equal(proc.typed_config.processing_mode, undefined);
  assert.deepEqual(proc.typed_config.grpc_service.initial_metadata.at(-1), { key: RECORDING_METADATA_KEY, value: 'commands+replies' });
  assert.equal(proxy.typed_config.custom_commands, undefined);
  const plain = generate(redis()).files['lds.json'].resources.find((l: any) => l.name === 'redis_cache');
  assert.equal(plain.filter_chains[0].filters[0].typed_config.custom_commands, undefined, 'no stand-in without command checks');
});

test('a redis target without a port is refused, naming the target', () => {
  assert.throws(() => generateEnvoyConfig(gatewayInput([httpTarget('cache', { protocol: 'redis', http: null })])),
    (err: any) => err.code === 'ERR_CONFIG_INVALID' && /redis\.port/.test(err.message) && err.details.target === 'cache');
});
