import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderGateway, renderTemplate } from '../../envoy/render.ts';
import { validateEnvoyConfig } from '../../common/envoy-process.ts';
import { resolveEnvoyBinary, ENVOY_WHEEL_VERSION } from '../../common/envoy-bin.ts';
import { exportJWK, generateKeyPair } from 'jose';

test('the resolver finds an Envoy of the pinned minor version', () => {
  const binary = resolveEnvoyBinary();
  assert.equal(binary.version.split('.').slice(0, 2).join('.'), ENVOY_WHEEL_VERSION.split('.').slice(0, 2).join('.'));
});

test('the rendered gateway config passes envoy --mode validate', () => {
  const yaml = renderGateway({ listenPort: 10000, adminPort: 9901, extAuthz: { host: '127.0.0.1', port: 9001 }, extProc: { host: '127.0.0.1', port: 9002 }, upstream: { host: '127.0.0.1', port: 9091 } });
  assert.doesNotThrow(() => validateEnvoyConfig(yaml));
  assert.match(yaml, /failure_mode_allow: false/);
});

test('the bench config passes envoy --mode validate', async () => {
  const { publicKey } = await generateKeyPair('RS256');
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' }] });
  const file = fileURLToPath(new URL('../../bench/envoy-bench.yaml', import.meta.url));
  const yaml = renderTemplate(readFileSync(file, 'utf8'), {
    ADMIN_PORT: 1, UPSTREAM_PORT: 2, BARE_PORT: 3, JWT_PORT: 4, EXTAUTHZ_PORT: 5, EXT_AUTHZ_SERVICE_PORT: 6, NOOP_PORT: 8, NOOP_SERVICE_PORT: 9,
    ISSUER_URL: 'http://127.0.0.1:7', JWKS_JSON: jwks,
  });
  assert.doesNotThrow(() => validateEnvoyConfig(yaml));
});

test('a config Envoy rejects fails validation with Envoy\'s message', () => {
  assert.throws(() => validateEnvoyConfig('static_resources: { listeners: [ { name: x, bogus_field: 1 } ] }\n'), { code: 'ERR_ENVOY_CONFIG_INVALID' });
});

test('rendering refuses to leave a placeholder unfilled', () => {
  assert.throws(() => renderTemplate('port: ${PORT}\n', {}), { code: 'ERR_CONFIG_INVALID' });
});
