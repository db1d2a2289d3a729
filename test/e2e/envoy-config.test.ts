import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../common/config.ts';
import { createLogger } from '../../common/logger.ts';
import { validateEnvoyConfig } from '../../common/envoy-process.ts';
import { resolveEnvoyBinary, ENVOY_WHEEL_VERSION } from '../../common/envoy-bin.ts';
import { PolicyStore } from '../../ext-authz/policy/index.ts';
import { policyContext } from '../../ext-authz/policy-context.ts';
import { EnvoyPublisher } from '../../envoy/publisher.ts';
import { renderTemplate } from '../../bench/lib/render-template.ts';
import { exportJWK, generateKeyPair } from 'jose';

const repo = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const logger = createLogger('test', { level: 'silent' });

/** Generates and validates (envoy --mode validate) the Envoy config of a sluice.yaml. */
async function renderAndValidate(configFile: string) {
  const config = loadConfig(configFile);
  const policies = await PolicyStore.open(path.resolve(config.baseDir, config.extAuthz.policyDir), { logger, context: policyContext(config) });
  try {
    const publisher = new EnvoyPublisher({ logger, services: { extAuthz: [{ host: '127.0.0.1', port: 9001 }], extProc: [{ host: '127.0.0.1', port: 9002 }] } });
    return await publisher.prepare(config, (t) => policies.current().routingNeeds(t));
  } finally {
    await policies.close();
  }
}

test('the resolver finds an Envoy of the pinned minor version', () => {
  const binary = resolveEnvoyBinary();
  assert.equal(binary.version.split('.').slice(0, 2).join('.'), ENVOY_WHEEL_VERSION.split('.').slice(0, 2).join('.'));
});

test('the dev config (npm start) generates a config envoy --mode validate accepts, routes shaped by the policies', async () => {
  const generated = await renderAndValidate(repo('deploy/sluice.dev.yaml'));
  const routes = JSON.stringify(generated.files['rds.json']);
  assert.match(JSON.stringify(generated.files['lds.json']), /"failure_mode_allow":false/);
  // ops-api has approve rules: the long ext_authz budget; sql-api's guardrails read bodies.
  assert.match(routes, /"target":"ops-api","max_hold_ms":"29000"/);
  assert.match(routes, /"target":"sql-api"[^}]*}[^]*?"with_request_body"/);
});

test('deploy/sluice.example.yaml, as shipped, renders with `sluice envoy render` into a config envoy --mode validate accepts', () => {
  // What an operator runs first: the CLI validates with the real Envoy unless --no-validate.
  const run = spawnSync(process.execPath, ['--import', 'tsx', repo('cli/sluice.ts'), 'envoy', 'render', '--config', repo('deploy/sluice.example.yaml')], { encoding: 'utf8', env: { ...process.env, SLUICE_CONFIG: '' } });
  assert.equal(run.status, 0, run.stderr);
  const rendered = JSON.parse(run.stdout) as { static_resources: { clusters: unknown[]; listeners: unknown[] } };
  const clusters = JSON.stringify(rendered.static_resources.clusters);
  assert.match(clusters, /"type":"STRICT_DNS"/, 'host-name endpoints make a DNS cluster (a STATIC one is rejected)');
  assert.match(clusters, /"sni":"billing.internal"/);
  assert.match(JSON.stringify(rendered.static_resources.listeners), /"target":"billing-api","max_hold_ms":"29000"/, 'the example policy\'s approve rule gives billing-api the approval budget');
});

test('the example with its commented private CA and client certificate enabled also validates (files in place)', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-example-'));
  try {
    const text = readFileSync(repo('deploy/sluice.example.yaml'), 'utf8').replace(/# (caFile|certFile|keyFile): /g, '$1: ');
    writeFileSync(path.join(dir, 'sluice.yaml'), text.replace('policyDir: policies', `policyDir: ${repo('deploy/policies')}`));
    mkdirSync(path.join(dir, 'tls'));
    const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore', cwd: path.join(dir, 'tls') });
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=example CA', '-keyout', 'ca-key.pem', '-out', 'company-ca.pem');
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=sluice', '-keyout', 'sluice-client-key.pem', '-out', 'sluice-client.pem');
    const generated = await renderAndValidate(path.join(dir, 'sluice.yaml'));
    assert.match(JSON.stringify(generated.files['cds.json']), /sluice-client\.pem/, 'the client certificate is presented');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the bench config passes envoy --mode validate', async () => {
  const { publicKey } = await generateKeyPair('RS256');
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' }] });
  const file = repo('bench/envoy-bench.yaml');
  const yaml = renderTemplate(readFileSync(file, 'utf8'), {
    ADMIN_PORT: 1, UPSTREAM_PORT: 2, BARE_PORT: 3, JWT_PORT: 4, EXTAUTHZ_PORT: 5, EXT_AUTHZ_SERVICE_PORT: 6, NOOP_PORT: 8, NOOP_SERVICE_PORT: 9,
    ISSUER_URL: 'http://127.0.0.1:7', JWKS_JSON: jwks,
  });
  assert.doesNotThrow(() => validateEnvoyConfig(yaml));
});

test('a config Envoy rejects fails validation with Envoy\'s message', () => {
  assert.throws(() => validateEnvoyConfig('static_resources: { listeners: [ { name: x, bogus_field: 1 } ] }\n'), { code: 'ERR_ENVOY_CONFIG_INVALID' });
});

test('rendering a bench template refuses to leave a placeholder unfilled', () => {
  assert.throws(() => renderTemplate('port: ${PORT}\n', {}), { code: 'ERR_CONFIG_INVALID' });
});
