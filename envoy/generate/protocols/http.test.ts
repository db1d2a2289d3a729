import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateEnvoyConfig } from '../generate.ts';
import { gatewayInput, httpTarget } from '../sample-input.ts';
import type { EnvoyObject, GeneratorInput } from '../types.ts';

type Route = { name: string; match: { prefix: string }; route?: { cluster: string; timeout: string; idle_timeout: string }; direct_response?: { status: number; body: { inline_string: string } }; typed_per_filter_config: Record<string, any> };
type VirtualHost = { name: string; domains: string[]; routes: Route[] };

function virtualHosts(input: GeneratorInput): VirtualHost[] {
  const [config] = generateEnvoyConfig(input).files['rds.json'].resources as (EnvoyObject & { virtual_hosts: VirtualHost[] })[];
  return config!.virtual_hosts;
}
const routeNames = (vh: VirtualHost | undefined) => vh?.routes.map((r) => r.name);

test('targets are grouped into virtual hosts by host, any-host targets join every host, "*" comes last', () => {
  const vhs = virtualHosts(gatewayInput([
    httpTarget('any', { http: { hosts: [], pathPrefix: '/any/' } }),
    httpTarget('a', { http: { hosts: ['a.example.com', 'B.example.com'], pathPrefix: '/a/' } }),
    httpTarget('c', { http: { hosts: ['c.example.com'], pathPrefix: '/c/' } }),
  ]));
  assert.deepEqual(vhs.map((v) => v.domains), [['a.example.com', 'b.example.com'], ['c.example.com'], ['*']]);
  assert.deepEqual(routeNames(vhs[0]), ['route_any', 'route_a', 'not_found']);
  assert.deepEqual(routeNames(vhs[1]), ['route_any', 'route_c', 'not_found']);
  assert.deepEqual(routeNames(vhs[2]), ['route_any', 'not_found']);
});

test('inside a virtual host the longest prefix comes first; a named host wins over an any-host target at the same prefix', () => {
  const vhs = virtualHosts(gatewayInput([
    httpTarget('root', { http: { hosts: [], pathPrefix: '/' } }),
    httpTarget('deep', { http: { hosts: [], pathPrefix: '/api/v1/' } }),
    httpTarget('api', { http: { hosts: [], pathPrefix: '/api/' } }),
    httpTarget('mine', { http: { hosts: ['x.example.com'], pathPrefix: '/api/' } }),
  ]));
  assert.deepEqual(routeNames(vhs.at(-1)), ['route_deep', 'route_api', 'route_root']);
  assert.deepEqual(routeNames(vhs[0]), ['route_deep', 'route_mine', 'route_root']);
});

test('each route names its cluster, timeouts and target; a host without a "/" target ends with a JSON 404 that skips both services', () => {
  const vhs = virtualHosts(gatewayInput([httpTarget('a', { timeouts: { connect: '1s', request: '15s', idle: '60s' } })]));
  const [route, notFound] = vhs[0]!.routes;
  assert.deepEqual(route!.route, { cluster: 'target_a', timeout: '15s', idle_timeout: '60s' });
  assert.deepEqual(route!.typed_per_filter_config['envoy.filters.http.ext_authz'].check_settings, { context_extensions: { target: 'a' } });
  assert.equal(notFound!.match.prefix, '/');
  assert.equal(notFound!.direct_response!.status, 404);
  assert.deepEqual(JSON.parse(notFound!.direct_response!.body.inline_string), { error: { code: 'ERR_ROUTE_NOT_FOUND', message: 'no target is routed at this host and path' } });
  assert.equal(notFound!.typed_per_filter_config['envoy.filters.http.ext_authz'].disabled, true);
  assert.equal(notFound!.typed_per_filter_config['envoy.filters.http.ext_proc'].disabled, true);
  assert.deepEqual((notFound as any).response_headers_to_add[0].header, { key: 'content-type', value: 'application/json' });
});

test('routes that may hold get a hold budget one second under the approval timeout and a longer ext_authz timeout', () => {
  const input = gatewayInput([httpTarget('ops')], { routing: new Map([['ops', { mayHold: true, inspectsBody: false }]]) });
  input.envoy.approvalTimeout = '45s';
  const settings = virtualHosts(input)[0]!.routes[0]!.typed_per_filter_config['envoy.filters.http.ext_authz'].check_settings;
  assert.deepEqual(settings.context_extensions, { target: 'ops', max_hold_ms: '44000' });
  assert.deepEqual(settings.grpc_service, { envoy_grpc: { cluster_name: 'sluice_ext_authz' }, timeout: '45s' });
  assert.equal(settings.with_request_body, undefined);
});

test('routes whose policies inspect bodies send the whole body, up to the limit, with the check', () => {
  const input = gatewayInput([httpTarget('sql')], { routing: new Map([['sql', { mayHold: false, inspectsBody: true }]]) });
  input.envoy.maxRequestBodyBytes = 65536;
  const settings = virtualHosts(input)[0]!.routes[0]!.typed_per_filter_config['envoy.filters.http.ext_authz'].check_settings;
  assert.deepEqual(settings.with_request_body, { max_request_bytes: 65536, allow_partial_message: false, pack_as_bytes: true });
  assert.equal(settings.grpc_service, undefined);
});

test('two targets on the same host and prefix are refused, naming both', () => {
  for (const hosts of [[], ['a.example.com']]) {
    assert.throws(() => generateEnvoyConfig(gatewayInput([
      httpTarget('one', { http: { hosts, pathPrefix: '/x/' } }),
      httpTarget('two', { http: { hosts, pathPrefix: '/x/' } }),
    ])), (err: any) => err.code === 'ERR_CONFIG_INVALID' && /\bone\b/.test(err.message) && /\btwo\b/.test(err.message) && err.details.targets.length === 2);
  }
});

test('the listener fetches its routes by RDS from the watched directory and keeps the gateway HCM settings', () => {
  const generated = generateEnvoyConfig(gatewayInput([httpTarget('a')], { xdsDir: '/var/run/sluice/xds' }));
  const [listener] = generated.files['lds.json'].resources as any[];
  assert.equal(listener.name, 'http');
  const hcm = listener.filter_chains[0].filters[0].typed_config;
  assert.deepEqual(hcm.rds, {
    route_config_name: 'sluice_http',
    config_source: { path_config_source: { path: '/var/run/sluice/xds/rds.json', watched_directory: { path: '/var/run/sluice/xds' } }, resource_api_version: 'V3' },
  });
  for (const [key, value] of Object.entries({ generate_request_id: true, preserve_external_request_id: false, use_remote_address: true, normalize_path: true, merge_slashes: true, path_with_escaped_slashes_action: 'REJECT_REQUEST', strip_any_host_port: true })) {
    assert.equal(hcm[key], value, key);
  }
  assert.deepEqual(hcm.http_filters.map((f: any) => f.name), ['envoy.filters.http.ext_authz', 'envoy.filters.http.ext_proc', 'envoy.filters.http.router']);
  const [authz, proc] = hcm.http_filters.map((f: any) => f.typed_config);
  assert.equal(authz.failure_mode_allow, false);
  assert.deepEqual(authz.status_on_error, { code: 'ServiceUnavailable' });
  assert.equal(proc.failure_mode_allow, false);
  assert.equal(proc.message_timeout, '1s');
  assert.equal(proc.grpc_service.timeout, '300s');
  assert.equal(proc.allow_mode_override, true);
  assert.deepEqual(proc.metadata_options, { forwarding_namespaces: { untyped: ['envoy.filters.http.ext_authz'] } });
});

test('ext_proc runs on every request that has a route and on nothing else; Envoy\'s own refusals get the JSON body', () => {
  const generated = generateEnvoyConfig(gatewayInput([httpTarget('a'), httpTarget('b', { http: { hosts: ['b.example.com'], pathPrefix: '/' } })]));
  const hcm = (generated.files['lds.json'].resources as any[])[0].filter_chains[0].filters[0].typed_config;
  const proc = hcm.http_filters.find((f: any) => f.name === 'envoy.filters.http.ext_proc');
  assert.equal(proc.disabled, true, 'off in the chain of a request the codec refuses before it has a route');
  const [routeConfig] = generated.files['rds.json'].resources as any[];
  assert.deepEqual(routeConfig.typed_per_filter_config['envoy.filters.http.ext_proc'], { '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig', config: {} });
  // No virtual host or route may turn it off with a FilterConfig of its own (the 404 route's
  // ExtProcPerRoute only skips processing there).
  for (const vh of routeConfig.virtual_hosts) {
    assert.equal(vh.typed_per_filter_config?.['envoy.filters.http.ext_proc'], undefined, vh.name);
    for (const route of vh.routes) assert.notEqual(route.typed_per_filter_config?.['envoy.filters.http.ext_proc']?.['@type'], 'type.googleapis.com/envoy.config.route.v3.FilterConfig', route.name);
  }
  const mappers = hcm.local_reply_config.mappers as any[];
  assert.deepEqual(mappers.map((m) => m.body_format_override.json_format.error.code), ['ERR_HEADERS_TOO_LARGE', 'ERR_PATH_AMBIGUOUS', 'ERR_REQUEST_MALFORMED']);
  for (const m of mappers) assert.match(m.filter.extension_filter.typed_config.expression, /^response\.code == (431|400)\b/, 'only Envoy\'s own refusals, never a service\'s JSON reply');
});
