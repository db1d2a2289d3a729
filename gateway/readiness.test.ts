import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { SluiceError } from '../common/errors.ts';
import type { EnvoyPublisher } from '../envoy/publisher.ts';
import type { EnvoyRun } from './envoy-child.ts';
import { envoyReadiness } from './readiness.ts';
import type { Supervised } from './supervised.ts';

/** A fake Envoy admin: /ready and the version_text stats, both settable. */
const admin = { ready: 'LIVE', versions: { cds: 'v2', lds: 'v2', rds: 'v2' } };
let server: Server;
let adminUrl: string;
before(async () => {
  server = createServer((req, res) => {
    if (req.url === '/ready') return res.end(`${admin.ready}\n`);
    const stats = [
      { name: 'cluster_manager.cds.version_text', value: admin.versions.cds },
      { name: 'listener_manager.lds.version_text', value: admin.versions.lds },
      { name: 'http.sluice_http.rds.sluice_http.version_text', value: admin.versions.rds },
    ];
    res.end(JSON.stringify({ stats }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  adminUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

function envoy(running: boolean): Supervised<EnvoyRun> {
  return { run: running ? { adminUrl } : undefined, status: () => ({ state: running ? 'running' : 'restarting' }) } as unknown as Supervised<EnvoyRun>;
}
const files = (version: string) => Object.fromEntries(['cds.json', 'rds.json', 'lds.json'].map((f) => [f, { version_info: version }]));
function publisher(version: string | undefined, lastOk = true): EnvoyPublisher {
  return {
    current: version === undefined ? undefined : { files: files(version) },
    lastResult: lastOk ? { ok: true, written: [], ms: 1 } : { ok: false, error: new SluiceError('ERR_ENVOY_CONFIG_INVALID', 'refused') },
  } as unknown as EnvoyPublisher;
}

test('envoy is ready only when it runs, is LIVE, the latest config was published and Envoy reports that version', async () => {
  admin.ready = 'LIVE';
  admin.versions = { cds: 'v2', lds: 'v2', rds: 'v2' };
  assert.deepEqual(await envoyReadiness(envoy(true), publisher('v2'))(), { ok: true, detail: 'config v2 accepted' });

  assert.deepEqual(await envoyReadiness(envoy(false), publisher('v2'))(), { ok: false, detail: 'restarting' });
  assert.deepEqual(await envoyReadiness(envoy(true), publisher(undefined))(), { ok: false, detail: 'no config published yet' });
  const refused = await envoyReadiness(envoy(true), publisher('v2', false))();
  assert.equal(refused.ok, false);
  assert.match(refused.detail ?? '', /not published \(ERR_ENVOY_CONFIG_INVALID\); the previous one is live/);

  admin.versions = { cds: 'v2', lds: 'v1', rds: 'v1' };
  assert.deepEqual(await envoyReadiness(envoy(true), publisher('v2'))(), { ok: false, detail: 'envoy has not taken the latest rds and lds yet' });

  admin.ready = 'PRE_INITIALIZING';
  assert.deepEqual(await envoyReadiness(envoy(true), publisher('v2'))(), { ok: false, detail: 'envoy reports PRE_INITIALIZING' });
});
