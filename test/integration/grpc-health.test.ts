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
import { capturedLogger } from '../harness/log-capture.ts';

const FIXTURE_POLICIES = fileURLToPath(new URL('../fixtures/policies/', import.meta.url));
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
});
