import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateEnvoyConfig } from './generate.ts';
import { gatewayInput, httpTarget } from './sample-input.ts';
import { applyXds, writeBootstrap } from './write-xds.ts';

const clusterNames = (dir: string) => (JSON.parse(readFileSync(path.join(dir, 'cds.json'), 'utf8')).resources as { name: string }[]).map((c) => c.name);

test('applyXds writes CDS, RDS, LDS, then CDS again; unchanged files are skipped; no temp file is left', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-xds-'));
  try {
    const first = generateEnvoyConfig(gatewayInput([httpTarget('a')], { xdsDir: dir }));
    assert.deepEqual((await applyXds(dir, first)).written, ['cds.json', 'rds.json', 'lds.json']);
    assert.deepEqual((await applyXds(dir, first)).written, []);
    const second = generateEnvoyConfig(gatewayInput([httpTarget('b')], { xdsDir: dir }));
    // The first CDS keeps a while b arrives; the last drops it. The listener did not change.
    assert.deepEqual((await applyXds(dir, second)).written, ['cds.json', 'rds.json', 'cds.json']);
    assert.deepEqual(clusterNames(dir), ['target_b']);
    assert.deepEqual(readdirSync(dir).sort(), ['cds.json', 'lds.json', 'rds.json']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with an admin URL, routes are written only once Envoy lists every new cluster, and CDS then holds old and new', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-xds-'));
  let listed: string[] = [];
  const admin = createServer((_req, res) => res.end(JSON.stringify({ cluster_statuses: listed.map((name) => ({ name })) })));
  await new Promise<void>((resolve) => admin.listen(0, '127.0.0.1', resolve));
  const adminUrl = `http://127.0.0.1:${(admin.address() as { port: number }).port}`;
  try {
    await applyXds(dir, generateEnvoyConfig(gatewayInput([httpTarget('a')], { xdsDir: dir })));
    const next = generateEnvoyConfig(gatewayInput([httpTarget('b')], { xdsDir: dir }));
    const applying = applyXds(dir, next, { envoyAdminUrl: adminUrl, timeoutMs: 5000 });
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.deepEqual(clusterNames(dir).sort(), ['target_a', 'target_b']);
    assert.doesNotMatch(readFileSync(path.join(dir, 'rds.json'), 'utf8'), /target_b/);
    listed = ['target_a', 'target_b'];
    await applying;
    assert.match(readFileSync(path.join(dir, 'rds.json'), 'utf8'), /target_b/);
    assert.deepEqual(clusterNames(dir), ['target_b']);

    const never = generateEnvoyConfig(gatewayInput([httpTarget('c')], { xdsDir: dir }));
    await assert.rejects(applyXds(dir, never, { envoyAdminUrl: adminUrl, timeoutMs: 100 }), { code: 'ERR_ENVOY_RELOAD_TIMEOUT' });
    assert.match(readFileSync(path.join(dir, 'rds.json'), 'utf8'), /target_b/, 'routes stay as they were');
  } finally {
    admin.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeBootstrap writes the bootstrap as JSON', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-xds-'));
  try {
    const generated = generateEnvoyConfig(gatewayInput([], { xdsDir: dir }));
    await writeBootstrap(path.join(dir, 'boot', 'envoy.json'), generated);
    assert.deepEqual(JSON.parse(readFileSync(path.join(dir, 'boot', 'envoy.json'), 'utf8')), generated.bootstrap);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
