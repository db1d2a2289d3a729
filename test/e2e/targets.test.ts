import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Gateway } from '../harness/gateway.ts';
import { waitFor } from '../harness/wait.ts';
import { listen, closeServer } from '../../common/http.ts';

const FIXTURE_POLICIES = fileURLToPath(new URL('../fixtures/policies/', import.meta.url));

/** Engineers may use the given target (a policy file the tests add and remove). */
const allowEngineers = (target: string) => `policies:
  - name: ${target}-engineers
    targets: [${target}]
    subjects: [{ issuer: dev, groups: [engineering] }]
    rules: [{ name: all, effect: allow }]
`;

/** A test CA and a server certificate for `localhost`, signed by it. */
function makeTls(dir: string): { caFile: string; key: Buffer; cert: Buffer } {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=sluice e2e CA', '-keyout', 'ca-key.pem', '-out', 'ca.pem');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server-key.pem', '-out', 'server.csr');
  writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=DNS:localhost\n');
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', '1', '-extfile', 'san.ext', '-out', 'server.pem');
  return { caFile: path.join(dir, 'ca.pem'), key: readFileSync(path.join(dir, 'server-key.pem')), cert: readFileSync(path.join(dir, 'server.pem')) };
}

/** An upstream that answers who it is and what it saw. */
function namedUpstream(name: string, tls?: { key: Buffer; cert: Buffer }): Server {
  const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ upstream: name, path: req.url, host: req.headers.host, subject: req.headers['x-sluice-subject'] ?? null }));
  };
  return tls ? createHttpsServer(tls, handler) : createHttpServer(handler);
}

describe('targets declared once in sluice.yaml, the Envoy config generated and reloaded live', () => {
  let gw: Gateway;
  let alice: string;
  let dir: string;
  const upstreams: Server[] = [];
  let extraPort = 0;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-targets-'));
    const tls = makeTls(dir);
    const secure = namedUpstream('secure', tls);
    const named = namedUpstream('named');
    const extra = namedUpstream('extra');
    upstreams.push(secure, named, extra);
    const securePort = await listen(secure, 0);
    const namedPort = await listen(named, 0);
    extraPort = await listen(extra, 0);
    gw = await Gateway.start({
      policySource: FIXTURE_POLICIES,
      // No catch-all: a path no target routes gets Envoy's JSON 404 (a removed target's too).
      demoApiPrefix: '/api/',
      extraPolicies: { 'secure.yaml': allowEngineers('secure-api'), 'named.yaml': allowEngineers('named-api') },
      targets: [
        // Over TLS, verified against the test CA, reached by its host name; callers reach it by host.
        { name: 'secure-api', endpoints: [`localhost:${securePort}`], tls: { caFile: tls.caFile, sni: 'localhost' }, http: { hosts: ['secure.example.test'] } },
        // Plain HTTP, the endpoint given by host name (a DNS cluster), reached by path prefix.
        { name: 'named-api', endpoints: [`localhost:${namedPort}`], http: { pathPrefix: '/named/' } },
      ],
    });
    alice = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'] });
  });

  after(async () => {
    await gw?.stop();
    for (const server of upstreams) await closeServer(server);
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (p: string, headers: Record<string, string> = {}) => gw.request(p, { token: alice, headers });

  /** fetch cannot set Host (a forbidden header there), so host routing goes through node:http. */
  function getWithHost(p: string, host: string): Promise<{ status: number; json: () => any; text: string }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: gw.envoy.httpPort, path: p, headers: { host, authorization: `Bearer ${alice}` } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => { text += c; });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, json: () => JSON.parse(text) }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  test('a TLS target routed by host and a host-name target routed by prefix reach their own upstreams', async () => {
    const secure = await getWithHost('/anything?case=tls', 'secure.example.test');
    assert.equal(secure.status, 200, secure.text);
    assert.equal(secure.json().upstream, 'secure', 'TLS to the upstream, certificate verified against the configured CA');
    assert.equal(secure.json().subject, null, 'the secure-api policy names no identity headers');
    const named = await get('/named/x?case=prefix');
    assert.equal(named.status, 200, named.text);
    assert.equal(named.json().upstream, 'named');
    const demo = await get('/api/hello?case=catch-all');
    assert.equal(demo.status, 200);
    assert.equal(demo.json().upstream, 'demo', 'everything else is the demo target on "/"');
    const otherHost = await getWithHost('/api/hello?case=other-host', 'elsewhere.example.test');
    assert.equal(otherHost.json().upstream, 'demo', 'a host no target names gets the any-host targets');
    const unrouted = await get('/nowhere?case=unrouted');
    assert.equal(unrouted.status, 404);
    assert.equal(unrouted.json().error.code, 'ERR_ROUTE_NOT_FOUND');
  });

  test('a target added while a long stream flows answers within 2 s; the stream is untouched; removing it gives a clear 404', async () => {
    const chunks = Array.from({ length: 40 }, (_, i) => `{"n":${i}}\n`);
    const stream = gw.request('/api/stream?case=long', {
      token: alice, headers: { 'x-demo-chunks': JSON.stringify(chunks), 'x-demo-delay-ms': '100', 'x-demo-content-type': 'application/x-ndjson' },
    });
    const before = await get('/extra/x');
    assert.equal(before.status, 404, 'before: no target routes /extra/');
    assert.equal(before.json().error.code, 'ERR_ROUTE_NOT_FOUND');

    const added = performance.now();
    gw.updateConfig((doc) => doc.targets.unshift({ name: 'extra-api', endpoints: [`127.0.0.1:${extraPort}`], http: { pathPrefix: '/extra/' } }));
    // Declared but named by no policy yet: default deny, by the new target's name.
    const { value: denied } = await waitFor(async () => {
      const res = await get('/extra/x?case=added');
      return res.status === 403 ? res : undefined;
    }, 2000, 50);
    const addedMs = performance.now() - added;
    assert.equal(denied!.json().error.code, 'ERR_POLICY_DENIED');
    writeFileSync(path.join(gw.policyDir, 'extra.yaml'), allowEngineers('extra-api'));
    const { value: allowed } = await waitFor(async () => {
      const res = await get('/extra/x?case=allowed');
      return res.status === 200 ? res : undefined;
    }, 3000, 50);
    assert.equal(allowed!.json().upstream, 'extra');
    console.log(`# target added: routed in ${addedMs.toFixed(0)} ms`);

    // Dropping a target some policy still names is refused whole; the old config keeps serving.
    gw.updateConfig((doc) => { doc.targets = doc.targets.filter((t: { name: string }) => t.name !== 'extra-api'); });
    await waitFor(() => gw.logs.lines.some((l) => l.includes('config reload refused') && l.includes('extra.yaml')), 3000, 50);
    assert.equal((await get('/extra/x?case=still')).status, 200, 'refused change: the target still works');

    // Remove the policy: the refused edit (still on disk) applies by itself once the policies reload.
    unlinkSync(path.join(gw.policyDir, 'extra.yaml'));
    const { value: gone } = await waitFor(async () => {
      const res = await get('/extra/x?case=removed');
      return res.status === 404 ? res : undefined;
    }, 4000, 50);
    assert.equal(gw.config.targets.some((t) => t.name === 'extra-api'), false);
    assert.equal(gone!.json().error.code, 'ERR_ROUTE_NOT_FOUND');
    assert.match(gone!.headers.get('content-type') ?? '', /application\/json/);

    const streamed = await stream;
    assert.equal(streamed.status, 200);
    assert.deepEqual(streamed.text.split('\n').filter(Boolean).map((l) => JSON.parse(l).n), chunks.map((_, i) => i), 'every chunk of the stream arrived, in order');
  });

  test('a broken edit keeps the old config, and the log names the sluice.yaml line', async () => {
    const good = readFileSync(gw.configFile, 'utf8');
    gw.writeConfigText(`${good}\nbogusSection: 1\n`);
    await waitFor(() => gw.logs.lines.some((l) => l.includes('config reload failed') && /sluice\.yaml:\d+:\d+ \/bogusSection/.test(l)), 3000, 50);
    assert.equal((await get('/named/x?case=after-bad-yaml')).status, 200);
    gw.writeConfigText(good);
    await gw.configStore.reload();

    // Schema-valid but rejected by Envoy (a CA file that does not exist): refused before it is written.
    gw.updateConfig((doc) => {
      const named = doc.targets.find((t: { name: string }) => t.name === 'named-api');
      named.tls = { caFile: path.join(dir, 'missing-ca.pem') };
    });
    await waitFor(() => gw.logs.lines.some((l) => l.includes('config reload refused') && /sluice\.yaml:\d+:\d+: target \\"named-api\\"/.test(l)), 5000, 50);
    const still = await get('/named/x?case=after-envoy-reject');
    assert.equal(still.status, 200);
    assert.equal(still.json().upstream, 'named', 'the last good config is still live');
    gw.writeConfigText(good);
  });
});
