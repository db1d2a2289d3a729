import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { addHealthService } from '../../common/grpc-health.ts';
import { bindInsecure, SERVER_OPTIONS } from '../../common/grpc-server.ts';
import { healthService } from '../../common/protos.ts';
import { parseConfig } from '../../common/config.ts';
import { startExtAuthzService } from '../../ext-authz/service.ts';
import { startExtProcService } from '../../ext-proc/service.ts';
import { capturedLogger } from '../harness/log-capture.ts';
import { tcpProxy } from '../harness/tcp-proxy.ts';
import { waitFor } from '../harness/wait.ts';

const FIXTURE_POLICIES = fileURLToPath(new URL('../fixtures/policies/', import.meta.url));
const DATABASE_URL = new URL(process.env.SLUICE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
const REDIS_URL = new URL(process.env.SLUICE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
type HealthClient = grpc.Client & { Check: Function; Watch: Function };

function client(port: number): HealthClient {
  const Client = healthService();
  return new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as HealthClient;
}
const check = (c: HealthClient, service = '') =>
  new Promise<{ status?: string; code?: number }>((resolve) => c.Check({ service }, (err: grpc.ServiceError | null, res: { status: string }) => resolve(err ? { code: err.code } : { status: res.status })));

describe('grpc.health.v1 on the Sluice gRPC servers (port 0)', () => {
  const logs = capturedLogger('health');
  const closers: (() => unknown)[] = [];
  after(async () => { for (const close of closers.reverse()) await close(); });

  test('Check and Watch follow readiness; an unknown service is NOT_FOUND; a failing readiness source is NOT_SERVING', async () => {
    let ready: boolean | 'throw' = false;
    const server = new grpc.Server(SERVER_OPTIONS);
    addHealthService(server, { ready: async () => { if (ready === 'throw') throw new Error('store down'); return ready; }, services: ['envoy.service.auth.v3.Authorization'], logger: logs.logger });
    const port = await bindInsecure(server, '127.0.0.1', 0);
    closers.push(() => server.forceShutdown());
    const c = client(port);
    closers.push(() => c.close());

    assert.equal((await check(c)).status, 'NOT_SERVING');
    const seen: string[] = [];
    const watch = c.Watch({ service: 'envoy.service.auth.v3.Authorization' });
    watch.on('data', (m: { status: string }) => seen.push(m.status));
    watch.on('error', () => undefined);
    await new Promise((r) => setTimeout(r, 200));
    ready = true;
    assert.equal((await check(c, 'envoy.service.auth.v3.Authorization')).status, 'SERVING');
    await new Promise((r) => setTimeout(r, 1300));
    assert.deepEqual(seen, ['NOT_SERVING', 'SERVING'], 'Watch sends the first status, then each change');
    watch.cancel();
    assert.equal((await check(c, 'no.such.Service')).code, grpc.status.NOT_FOUND);
    ready = 'throw';
    assert.equal((await check(c)).status, 'NOT_SERVING');
    assert.match(logs.text(), /readiness failed; health answers NOT_SERVING/, 'the failure is logged');
  });

  test('ext-authz answers SERVING once its policies, gRPC server and approvals store are ready', async () => {
    const targets = ['demo-api', 'admin-api', 'sql-api', 'ops-api'].map((name) => ({ name, endpoints: ['127.0.0.1:9'], http: { pathPrefix: `/${name}/` } }));
    const config = parseConfig(JSON.stringify({ targets, extAuthz: { policyDir: FIXTURE_POLICIES } }), path.join(FIXTURE_POLICIES, 'x.yaml'));
    const service = await startExtAuthzService(config, { logger: logs.logger, decisionLog: logs.logger, port: 0, adminPort: 0 });
    closers.push(() => service.close());
    const c = client(service.port);
    closers.push(() => c.close());
    assert.equal((await check(c)).status, 'SERVING');
    assert.equal((await check(c, 'envoy.service.auth.v3.Authorization')).status, 'SERVING');
  });

  /** /readyz of an admin server: the HTTP status and each check's verdict. */
  async function readyz(port: number): Promise<{ status: number; checks: Record<string, { ok: boolean; detail?: string }> }> {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    const body = (await res.json()) as { checks: { name: string; ok: boolean; detail?: string }[] };
    return { status: res.status, checks: Object.fromEntries(body.checks.map((c) => [c.name, c])) };
  }

  test('ext-proc answers for both of its services; when its session store goes away, /readyz and health say not ready, and recover with it', async () => {
    const proxy = await tcpProxy({ host: DATABASE_URL.hostname, port: Number(DATABASE_URL.port || 5432) });
    closers.push(() => proxy.stop());
    const databaseUrl = new URL(DATABASE_URL);
    databaseUrl.hostname = '127.0.0.1';
    databaseUrl.port = String(proxy.port);
    const config = parseConfig(JSON.stringify({ extProc: { sessions: { store: 'postgres', databaseUrl: databaseUrl.href } } }), path.join(FIXTURE_POLICIES, 'x.yaml'));
    const service = await startExtProcService(config, { logger: logs.logger, port: 0, env: {}, adminPort: 0 });
    closers.push(() => service.close());
    const c = client(service.port);
    closers.push(() => c.close());
    for (const name of ['', 'envoy.service.ext_proc.v3.ExternalProcessor', 'envoy.service.network_ext_proc.v3.NetworkExternalProcessor']) {
      assert.equal((await check(c, name)).status, 'SERVING', name || '(server)');
    }
    assert.equal((await readyz(service.adminPort!)).checks['session-store']?.ok, true);

    await proxy.stop();
    const down = await waitFor(async () => {
      const report = await readyz(service.adminPort!);
      return report.status === 503 ? report : undefined;
    }, 10_000, 100);
    assert.match(down.value!.checks['session-store']!.detail ?? '', /session store is unreachable/);
    assert.ok(!JSON.stringify(down.value).includes(String(proxy.port)), 'the probe names no host or port');
    assert.equal((await check(c, 'envoy.service.ext_proc.v3.ExternalProcessor')).status, 'NOT_SERVING');

    await proxy.restart();
    await waitFor(async () => (await readyz(service.adminPort!)).status === 200, 15_000, 200);
    assert.equal((await check(c)).status, 'SERVING');
  });

  test('ext-authz with a Redis approvals store: not ready while Redis is unreachable, ready again once it is back', async () => {
    const proxy = await tcpProxy({ host: REDIS_URL.hostname, port: Number(REDIS_URL.port || 6379) });
    closers.push(() => proxy.stop());
    const targets = ['demo-api', 'admin-api', 'sql-api', 'ops-api'].map((name) => ({ name, endpoints: ['127.0.0.1:9'], http: { pathPrefix: `/${name}/` } }));
    const approvals = { store: 'redis', redisUrl: `redis://127.0.0.1:${proxy.port}`, redisKeyPrefix: `sluice-health-${process.pid}:` };
    const config = parseConfig(JSON.stringify({ targets, extAuthz: { policyDir: FIXTURE_POLICIES }, approvals }), path.join(FIXTURE_POLICIES, 'x.yaml'));
    const service = await startExtAuthzService(config, { logger: logs.logger, decisionLog: logs.logger, port: 0, adminPort: 0 });
    closers.push(() => service.close());
    const c = client(service.port);
    closers.push(() => c.close());
    assert.equal((await check(c)).status, 'SERVING');
    const adminPort = service.adminPort;
    assert.equal((await readyz(adminPort)).checks['approval-store']?.ok, true);

    await proxy.stop();
    const down = await waitFor(async () => {
      const report = await readyz(adminPort);
      return report.status === 503 ? report : undefined;
    }, 10_000, 100);
    assert.match(down.value!.checks['approval-store']!.detail ?? '', /approval store is unreachable/);
    assert.equal((await check(c)).status, 'NOT_SERVING');

    await proxy.restart();
    await waitFor(async () => (await readyz(adminPort)).status === 200, 15_000, 200);
    assert.equal((await check(c)).status, 'SERVING');
  });
});
