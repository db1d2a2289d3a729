import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateEnvoyConfig } from './generate.ts';
import { gatewayInput, httpTarget } from './sample-input.ts';

test('a protocol without a builder is refused as not supported yet, naming the target', () => {
  // Every declared protocol has a builder now; a future one without its builder must still be refused.
  assert.throws(() => generateEnvoyConfig(gatewayInput([httpTarget('cache', { protocol: 'smtp' as never, http: null })])),
    (err: any) => err.code === 'ERR_CONFIG_INVALID' && /not supported yet/.test(err.message) && err.details.target === 'cache');
});

test('every input problem is reported at once, each with its target and option', () => {
  assert.throws(() => generateEnvoyConfig(gatewayInput([
    httpTarget('Bad Name'),
    httpTarget('ok', { endpoints: [], timeouts: { connect: 'soon', request: '0s', idle: '1s' } }),
  ], { xdsDir: 'relative/dir' })), (err: any) => {
    const options = err.details.issues.map((i: any) => `${i.target ?? '-'} ${i.option}`);
    assert.deepEqual(options.sort(), ['- xdsDir', 'Bad Name name', 'ok endpoints', 'ok timeouts.connect'].sort());
    return err.code === 'ERR_CONFIG_INVALID';
  });
});

test('bootstrap: node, admin, both service clusters, and LDS/CDS from the watched directory', () => {
  const { bootstrap } = generateEnvoyConfig(gatewayInput([], {
    xdsDir: '/x', services: { extAuthz: [{ host: 'authz.internal', port: 9001 }], extProc: [{ host: '10.0.0.2', port: 9002 }] },
  })) as { bootstrap: any };
  assert.deepEqual(bootstrap.node, { id: 'sluice', cluster: 'sluice' });
  const [authz, proc] = bootstrap.static_resources.clusters;
  assert.equal(authz.name, 'sluice_ext_authz');
  assert.equal(authz.type, 'STRICT_DNS');
  assert.equal(authz.dns_lookup_family, 'V4_PREFERRED');
  assert.equal(proc.type, 'STATIC');
  const options = proc.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
  assert.deepEqual(options.explicit_http_config, { http2_protocol_options: {} });
  assert.equal(options.common_http_protocol_options.max_requests_per_connection, 500);
  assert.deepEqual(bootstrap.dynamic_resources.lds_config, { path_config_source: { path: '/x/lds.json', watched_directory: { path: '/x' } }, resource_api_version: 'V3' });
  assert.equal(bootstrap.dynamic_resources.cds_config.path_config_source.path, '/x/cds.json');
});

test('owners map cluster and route names to targets; versions follow content', () => {
  const one = generateEnvoyConfig(gatewayInput([httpTarget('a'), httpTarget('b')]));
  assert.deepEqual([...one.owners].sort(), [['route_a', 'a'], ['route_b', 'b'], ['target_a', 'a'], ['target_b', 'b']]);
  const again = generateEnvoyConfig(gatewayInput([httpTarget('a'), httpTarget('b')]));
  const fewer = generateEnvoyConfig(gatewayInput([httpTarget('a')]));
  assert.equal(again.files['cds.json'].version_info, one.files['cds.json'].version_info);
  assert.notEqual(fewer.files['cds.json'].version_info, one.files['cds.json'].version_info);
  assert.equal(fewer.files['lds.json'].version_info, one.files['lds.json'].version_info, 'the listener does not change with targets');
  for (const file of ['cds.json', 'rds.json', 'lds.json'] as const) {
    assert.ok(one.files[file].resources.every((r) => typeof r['@type'] === 'string'), file);
  }
});
