import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { parseConfig } from '../../common/config.ts';
import { DevIssuer } from '../../dev/dev-issuer.ts';
import { JwtIdentityVerifier, parseIssuerConfig } from '../../ext-authz/identity/index.ts';
import { startExtProcService, type ExtProcService } from '../../ext-proc/service.ts';

describe('ext-proc admin server', () => {
  const logger = pino({ level: 'silent' });
  let dir: string;
  let issuer: DevIssuer;
  let service: ExtProcService;
  let base: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-ext-proc-admin-'));
    issuer = await DevIssuer.start();
    const config = parseConfig(JSON.stringify({ extProc: { sessions: { store: 'file', dir: 'sessions' } } }), path.join(dir, 'sluice.yaml'));
    const verifier = new JwtIdentityVerifier({ issuers: [parseIssuerConfig({ name: 'people', issuer: issuer.url, audiences: ['sluice'] }, 'issuers[0]')], logger });
    service = await startExtProcService(config, { logger, port: 0, env: {}, adminPort: 0, sessionsApi: { verifier, readers: [{ groups: ['auditors'] }] } });
    base = `http://127.0.0.1:${service.adminPort}`;
  });
  after(async () => {
    await service.close();
    await issuer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('/healthz and /readyz: gRPC up, secrets loaded, session store reachable', async () => {
    assert.deepEqual(await (await fetch(`${base}/healthz`)).json(), { status: 'ok' });
    const res = await fetch(`${base}/readyz`);
    const body = (await res.json()) as any;
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.deepEqual(body.checks.map((c: any) => [c.name, c.ok]), [['grpc', true], ['secrets', true], ['session-store', true]]);
  });

  test('the sessions API is served when asked for, behind the readers list', async () => {
    const reader = await issuer.mint({ sub: 'carol', groups: ['auditors'] });
    const other = await issuer.mint({ sub: 'alice', groups: ['engineering'] });
    const ok = await fetch(`${base}/sessions`, { headers: { authorization: `Bearer ${reader}` } });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { sessions: [], next_cursor: null });
    assert.equal((await fetch(`${base}/sessions`, { headers: { authorization: `Bearer ${other}` } })).status, 403);
  });

  test('no admin server unless a port is given', async () => {
    const config = parseConfig(JSON.stringify({ extProc: { sessions: { store: 'off' } } }), path.join(dir, 'other.yaml'));
    const bare = await startExtProcService(config, { logger, port: 0, env: {} });
    try {
      assert.equal(bare.adminPort, undefined);
    } finally {
      await bare.close();
    }
  });
});
