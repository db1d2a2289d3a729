import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { addHealthService } from '../../common/grpc-health.ts';
import { bindInsecure, runningServer, SERVER_OPTIONS } from '../../common/grpc-server.ts';
import { healthService } from '../../common/protos.ts';
import { parseConfig } from '../../common/config.ts';
import { startExtAuthzService } from '../../ext-authz/service.ts';
import { startExtProcService } from '../../ext-proc/service.ts';
import { capturedLogger } from '../harness/log-capture.ts';

const FIXTURE_POLICIES = fileURLToPath(new URL('../fixtures/policies/', import.meta.url));

/** A unary call that answers when the test says so: an in-flight call during the drain. */
const raw = { requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
const SLOW: grpc.ServiceDefinition = { Wait: { path: '/sluice.test.Slow/Wait', requestStream: false, responseStream: false, ...raw } };
const SlowClient = grpc.makeGenericClientConstructor(SLOW, 'Slow');
type Client = grpc.Client & { Wait: Function; Check: Function; Watch: Function };

async function slowServer(logger: ReturnType<typeof capturedLogger>['logger']) {
  const server = new grpc.Server(SERVER_OPTIONS);
  const health = addHealthService(server, { ready: async () => true, services: ['sluice.test.Slow'], logger });
  const waiting: (() => void)[] = [];
  server.addService(SLOW, {
    Wait: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => waiting.push(() => callback(null, Buffer.from('done'))),
  });
  const port = await bindInsecure(server, '127.0.0.1', 0);
  return { running: runningServer(server, port, health, logger), port, release: () => waiting.splice(0).forEach((answer) => answer()), waiting };
}

const call = (c: Client) => new Promise<{ ok: boolean; code?: number }>((resolve) => c.Wait(Buffer.from('x'), (err: grpc.ServiceError | null) => resolve(err ? { ok: false, code: err.code } : { ok: true })));
const check = (c: Client) => new Promise<string>((resolve) => c.Check({ service: '' }, (err: grpc.ServiceError | null, res: { status: string }) => resolve(err ? `error ${err.code}` : res.status)));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('graceful drain of a Sluice gRPC server (common/grpc-server.ts)', () => {
  const logs = capturedLogger('drain');
  const closers: (() => unknown)[] = [];
  after(async () => { for (const close of closers.reverse()) await close(); });

  test('NOT_SERVING at once (Watch is pushed, not polled), new calls served through the delay, in-flight calls finish, then the port is closed', async () => {
    const s = await slowServer(logs.logger);
    closers.push(() => s.running.close(0));
    const address = `127.0.0.1:${s.port}`;
    const slow = new SlowClient(address, grpc.credentials.createInsecure()) as unknown as Client;
    const Health = healthService();
    const health = new Health(address, grpc.credentials.createInsecure()) as unknown as Client;
    closers.push(() => slow.close(), () => health.close());

    const seen: { status: string; at: number }[] = [];
    const watch = health.Watch({ service: 'sluice.test.Slow' });
    watch.on('data', (m: { status: string }) => seen.push({ status: m.status, at: performance.now() }));
    let watchEnded = false;
    watch.on('error', () => (watchEnded = true));
    watch.on('end', () => (watchEnded = true));
    await sleep(100);
    assert.equal(await check(health), 'SERVING');
    const inFlight = call(slow);
    await sleep(50);
    assert.equal(s.waiting.length, 1, 'the call is in flight');

    const started = performance.now();
    const drained = s.running.drain({ delayMs: 600, timeoutMs: 5000 });
    await sleep(100);
    const notServing = seen.find((e) => e.status === 'NOT_SERVING');
    assert.ok(notServing, `Watch was told (saw ${JSON.stringify(seen.map((e) => e.status))})`);
    assert.ok(notServing.at - started < 100, `pushed within 100 ms, not at the next 1 s poll (${Math.round(notServing.at - started)} ms)`);
    assert.equal(await check(health), 'NOT_SERVING');
    assert.equal(s.running.draining, true);

    // Inside the delay a new call is still taken (a load balancer may not have noticed yet).
    const during = call(slow);
    await sleep(50);
    assert.equal(s.waiting.length, 2, 'a call made during the delay is served');

    await sleep(700);
    // Past the delay: the GOAWAY went out, the drain waits for the two calls.
    let done = false;
    void drained.then(() => (done = true));
    await sleep(100);
    assert.equal(done, false, 'the drain waits for the calls in flight');
    s.release();
    assert.deepEqual(await inFlight, { ok: true });
    assert.deepEqual(await during, { ok: true });
    const report = await drained;
    assert.equal(report.forced, false);
    assert.ok(report.drainMs >= 600, `the delay was kept (${report.drainMs} ms)`);
    assert.equal(watchEnded, true, 'open Watch streams are ended, or they would hold the shutdown open');

    // Stopped: a new client cannot call.
    const late = new SlowClient(address, grpc.credentials.createInsecure(), { 'grpc.initial_reconnect_backoff_ms': 50 }) as unknown as Client;
    closers.push(() => late.close());
    const refused = await new Promise<{ ok: boolean; code?: number }>((resolve) => late.Wait(Buffer.from('x'), { deadline: Date.now() + 1000 }, (err: grpc.ServiceError | null) => resolve(err ? { ok: false, code: err.code } : { ok: true })));
    assert.equal(refused.ok, false);
    // A close after the drain has nothing left to do.
    await s.running.close();
  });

  test('a call still running at the timeout is cut, and the report says so', async () => {
    const s = await slowServer(logs.logger);
    const slow = new SlowClient(`127.0.0.1:${s.port}`, grpc.credentials.createInsecure()) as unknown as Client;
    closers.push(() => slow.close());
    const inFlight = call(slow);
    await sleep(50);
    const report = await s.running.drain({ delayMs: 0, timeoutMs: 300 });
    assert.equal(report.forced, true);
    assert.ok(report.inFlightMs >= 300 && report.inFlightMs < 2000, `${report.inFlightMs} ms`);
    const answer = await inFlight;
    assert.equal(answer.ok, false, 'the cut call fails (Envoy then denies: fail closed)');
    assert.match(logs.text(), /drain timeout passed; calls still in flight were cut/);
  });

  /** /readyz of an admin server: the HTTP status and the grpc check's detail. */
  async function readyz(port: number): Promise<{ status: number; grpc?: string }> {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    const body = (await res.json()) as { checks: { name: string; ok: boolean; detail?: string }[] };
    return { status: res.status, grpc: body.checks.find((c) => c.name === 'grpc')?.detail };
  }

  test('ext-authz and ext-proc: /readyz turns 503 "draining" as soon as the drain starts, while the admin server stays up', async () => {
    const targets = ['demo-api', 'admin-api', 'sql-api', 'ops-api'].map((name) => ({ name, endpoints: ['127.0.0.1:9'], http: { pathPrefix: `/${name}/` } }));
    const config = parseConfig(JSON.stringify({ targets, extAuthz: { policyDir: FIXTURE_POLICIES }, extProc: { sessions: { store: 'off' } } }), path.join(FIXTURE_POLICIES, 'x.yaml'));
    const authz = await startExtAuthzService(config, { logger: logs.logger, decisionLog: logs.logger, port: 0, adminPort: 0 });
    const proc = await startExtProcService(config, { logger: logs.logger, port: 0, env: {}, adminPort: 0 });
    for (const [name, adminPort, close] of [
      ['ext-authz', authz.adminPort, () => authz.close({ drain: { delayMs: 400, timeoutMs: 1000 } })],
      ['ext-proc', proc.adminPort!, () => proc.close(undefined, { drain: { delayMs: 400, timeoutMs: 1000 } })],
    ] as const) {
      assert.equal((await readyz(adminPort)).status, 200, name);
      const closing = close();
      await sleep(100);
      assert.deepEqual(await readyz(adminPort), { status: 503, grpc: 'draining: shutting down' }, name);
      await closing;
    }
  });
});
