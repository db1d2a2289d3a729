import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, get, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEnvoy } from '../../common/envoy-process.ts';
import { freePort } from '../../common/free-port.ts';
import { closeServer, listen } from '../../common/http.ts';
import { startNoopServices } from '../../bench/lib/noop-services.ts';
import { applyXds, generateEnvoyConfig, validateGenerated, type TargetSpec } from '../../envoy/generate/index.ts';
import { gatewayInput, httpTarget } from '../../envoy/generate/sample-input.ts';
import { waitFor } from '../harness/wait.ts';

const CHUNKS = 50; // one every 100 ms: a 5 s stream

/** Upstream A: /a/stream sends a numbered line every 100 ms; anything else answers "a". */
function upstreamA(): Server {
  return createServer((req, res) => {
    if (!req.url?.startsWith('/a/stream')) return void res.end('a');
    res.writeHead(200, { 'content-type': 'text/plain' });
    let i = 0;
    const timer = setInterval(() => {
      res.write(`chunk ${i}\n`);
      if (++i === CHUNKS) {
        clearInterval(timer);
        res.end();
      }
    }, 100);
    res.on('close', () => clearInterval(timer));
  });
}

function streamLines(url: string): Promise<{ status: number; lines: string[] }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, lines: text.split('\n').filter(Boolean) }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

test('targets come and go through the watched xDS directory without cutting a stream in flight', { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-xds-e2e-'));
  const services = await startNoopServices();
  const a = upstreamA();
  const b = createServer((_req, res) => res.end('b'));
  const aPort = await listen(a, 0);
  const bPort = await listen(b, 0);
  const httpPort = await freePort();
  const input = (targets: TargetSpec[]) => gatewayInput(targets, {
    xdsDir: dir,
    services: { extAuthz: [{ host: '127.0.0.1', port: services.extAuthzPort }], extProc: [{ host: '127.0.0.1', port: services.extProcPort }] },
    envoy: { ...gatewayInput([]).envoy, httpPort },
  });
  const targetA = httpTarget('a', { endpoints: [{ host: '127.0.0.1', port: aPort }] });
  // A host name in the endpoint makes a STRICT_DNS cluster; a STATIC one would be rejected.
  const targetB = httpTarget('b', { endpoints: [{ host: 'localhost', port: bPort }] });

  const first = generateEnvoyConfig(input([targetA]));
  validateGenerated(first);
  await applyXds(dir, first);
  const envoy = await startEnvoy({ config: JSON.stringify(first.bootstrap) });
  const base = `http://127.0.0.1:${envoy.listeners.http ?? httpPort}`;
  try {
    await waitFor(async () => (await fetch(`${base}/a/ok`).catch(() => undefined))?.status === 200, 10_000);
    const before = await fetch(`${base}/b/`);
    assert.equal(before.status, 404);

    const stream = streamLines(`${base}/a/stream`);
    await new Promise((resolve) => setTimeout(resolve, 500));

    const started = Date.now();
    const withB = generateEnvoyConfig(input([targetA, targetB]));
    validateGenerated(withB);
    await applyXds(dir, withB, { envoyAdminUrl: envoy.adminUrl });
    const { elapsedMs } = await waitFor(async () => (await fetch(`${base}/b/`).then((r) => r.text()).catch(() => '')) === 'b', 2000, 20);
    t.diagnostic(`b answered ${Date.now() - started} ms after applyXds started`);
    assert.ok(Date.now() - started < 2000, `b answered ${Date.now() - started} ms after the reload started (${elapsedMs} ms after applyXds)`);

    const streamed = await stream;
    assert.equal(streamed.status, 200);
    assert.deepEqual(streamed.lines, Array.from({ length: CHUNKS }, (_, i) => `chunk ${i}`), 'the stream on A lost no chunk across the reload');

    await applyXds(dir, generateEnvoyConfig(input([targetA])), { envoyAdminUrl: envoy.adminUrl });
    const gone = await waitFor(async () => {
      const res = await fetch(`${base}/b/`);
      return res.status === 404 ? res : undefined;
    }, 5000, 20);
    assert.equal(gone.value!.headers.get('content-type'), 'application/json');
    assert.deepEqual(await gone.value!.json(), { error: { code: 'ERR_ROUTE_NOT_FOUND', message: 'no target is routed at this host and path' } });

    // A config Envoy would reject is never written: the old one keeps serving.
    const filesBefore = ['cds.json', 'rds.json', 'lds.json'].map((f) => readFileSync(path.join(dir, f), 'utf8'));
    const broken = generateEnvoyConfig(input([targetA, httpTarget('c', { tls: { caFile: path.join(dir, 'missing-ca.pem'), subjectAltNames: ['c'] } })]));
    assert.throws(() => validateGenerated(broken), (err: any) => err.code === 'ERR_ENVOY_CONFIG_INVALID' && err.details.target === 'c');
    assert.deepEqual(['cds.json', 'rds.json', 'lds.json'].map((f) => readFileSync(path.join(dir, f), 'utf8')), filesBefore);
    assert.equal(await (await fetch(`${base}/a/ok`)).text(), 'a');
    assert.equal((await fetch(`${base}/c/`)).status, 404);
  } finally {
    await envoy.stop();
    await services.stop();
    await closeServer(a);
    await closeServer(b);
    rmSync(dir, { recursive: true, force: true });
  }
});
