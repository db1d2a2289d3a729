/**
 * `sluice gateway` as an operator runs it: a real process, its children, real Envoy, curl-like
 * clients over HTTP. Covers supervision (a killed ext-proc is restarted while Envoy fails
 * closed), SIGTERM drain (in-flight streams finish up to the deadline, new connections are
 * refused), readiness (a policy directory broken at start: not ready, refusing; fixed: ready),
 * the admin port passing the approvals API on, and /metrics.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../common/free-port.ts';
import { waitFor } from '../harness/wait.ts';
import { everyString, sampleValue, scrape } from '../harness/prometheus-text.ts';
import { dashboardMetricNames, isServed } from '../harness/dashboard.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX = import.meta.resolve('tsx');
const SECRET = 'gw-e2e-upstream-secret-6f1d2c';

interface Ports {
  listen: number;
  /** The demo-db target (policies/database.yaml): the shared local PostgreSQL behind it. */
  db: number;
  /** The demo-cache target (policies/redis.yaml): the shared local Redis behind it. */
  cache: number;
  envoyAdmin: number;
  admin: number;
  authz: number;
  proc: number;
  issuer: number;
  upstream: number;
}

interface Gateway {
  dir: string;
  ports: Ports;
  child: ChildProcess;
  /** Everything the gateway process and its children wrote. */
  output(): string;
  exited: Promise<number | null>;
  url(p: string): string;
  admin(p: string): string;
  token(sub: string, groups: string[]): Promise<string>;
  stop(): Promise<void>;
}

async function startGateway(opts: { drainTimeout?: string; brokenPolicy?: boolean; processGroup?: boolean } = {}): Promise<Gateway> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-gateway-e2e-'));
  cpSync(path.join(ROOT, 'policies'), path.join(dir, 'policies'), { recursive: true });
  if (opts.brokenPolicy) writeFileSync(path.join(dir, 'policies', 'zz-broken.yaml'), 'policies:\n  - name: broken\n    targets: [demo-api]\n    rules: [{ effect: maybe }]\n');
  const ports: Ports = {
    listen: await freePort(), db: await freePort(), cache: await freePort(), envoyAdmin: await freePort(), admin: await freePort(), authz: await freePort(),
    proc: await freePort(), issuer: await freePort(), upstream: await freePort(),
  };
  writeFileSync(path.join(dir, 'secrets.yaml'), `secrets:\n  demo-api-token: ${SECRET}\n  ops-api-key: ops-${SECRET}\n  demo-db-password: db-${SECRET}\n`);
  const targets = ['ops-api /ops/', 'sql-api /sql/', 'admin-api /admin/', 'demo-api /']
    .map((t) => t.split(' '))
    .map(([name, prefix]) => `  - { name: ${name}, endpoints: ["127.0.0.1:${ports.upstream}"], http: { pathPrefix: "${prefix}" } }`);
  writeFileSync(path.join(dir, 'sluice.yaml'), [
    'targets:', ...targets,
    `  - { name: demo-db, protocol: postgres, endpoints: ["127.0.0.1:5432"], postgres: { port: ${ports.db}, allowCleartextUpstream: true } }`,
    `  - { name: demo-cache, protocol: redis, endpoints: ["127.0.0.1:6379"], redis: { port: ${ports.cache}, allowPrivilegedUpstream: true } }`,
    `extAuthz: { port: ${ports.authz}, policyDir: policies }`,
    `envoy: { listenPort: ${ports.listen}, adminPort: ${ports.envoyAdmin}, xdsDir: envoy }`,
    `admin: { port: ${ports.admin} }`,
    `gateway: { drainTimeout: ${opts.drainTimeout ?? '10s'}, maxRestartDelay: 2s }`,
    `dev: { enabled: true, issuerPort: ${ports.issuer}, upstreamPort: ${ports.upstream}, audience: sluice }`,
    'extProc:',
    `  port: ${ports.proc}`,
    '  secretsFile: secrets.yaml',
    '  credentials:',
    '    - { target: demo-api, header: authorization, template: "Bearer {secret}", secret: demo-api-token }',
    '    - { target: demo-db, secret: demo-db-password, postgres: { user: postgres } }',
    '  sessions: { store: file, dir: sessions }',
    '',
  ].join('\n'));
  const child = spawn(process.execPath, ['--import', TSX, path.join(ROOT, 'cli/sluice.ts'), 'gateway', '--config', path.join(dir, 'sluice.yaml')], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, as a shell gives a foreground job: Ctrl-C signals the whole group.
    detached: opts.processGroup === true,
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const gateway: Gateway = {
    dir, ports, child, exited,
    output: () => output,
    url: (p) => `http://127.0.0.1:${ports.listen}${p}`,
    admin: (p) => `http://127.0.0.1:${ports.admin}${p}`,
    token: async (sub, groups) => {
      const res = await fetch(`http://127.0.0.1:${ports.issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sub, groups }) });
      return ((await res.json()) as { access_token: string }).access_token;
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`gateway exited during start:\n${output}`);
      return output.includes('Sluice gateway is up');
    }, 60_000, 100);
  } catch (err) {
    await gateway.stop();
    throw err;
  }
  return gateway;
}

async function status(gw: Gateway): Promise<{ name: string; state: string; pid: number | null; restarts: number }[]> {
  return ((await (await fetch(gw.admin('/status'))).json()) as { children: any[] }).children;
}

async function get(gw: Gateway, p: string, token?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const res = await fetch(gw.url(p), { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
  return { status: res.status, body: await res.text() };
}

/** A streamed GET read with node:http, so the test sees each chunk and whether the stream ended or was cut. */
function stream(gw: Gateway, token: string, chunks: string[], delayMs: number): { firstChunk: Promise<void>; done: Promise<{ status: number; body: string; complete: boolean }> } {
  let first!: () => void;
  const firstChunk = new Promise<void>((resolve) => (first = resolve));
  const done = new Promise<{ status: number; body: string; complete: boolean }>((resolve) => {
    const req = request(gw.url('/api/stream'), {
      headers: { authorization: `Bearer ${token}`, 'x-demo-chunks': JSON.stringify(chunks), 'x-demo-delay-ms': String(delayMs), 'x-demo-content-type': 'text/plain' },
    }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
        first();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, complete: res.complete }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body, complete: false }));
      res.on('aborted', () => resolve({ status: res.statusCode ?? 0, body, complete: false }));
    });
    req.on('error', () => resolve({ status: 0, body: '', complete: false }));
    req.end();
  });
  return { firstChunk, done };
}

test('sluice gateway: ready, serves, restarts a killed ext-proc while failing closed, passes the approvals API on, restarts a killed Envoy', { timeout: 120_000 }, async () => {
  const gw = await startGateway();
  try {
    const ready = await fetch(gw.admin('/readyz'));
    const report = (await ready.json()) as { checks: { name: string; ok: boolean }[] };
    assert.equal(ready.status, 200, JSON.stringify(report));
    assert.deepEqual(report.checks.map((c) => c.name).sort(), ['envoy', 'ext-authz', 'ext-proc', 'gateway']);
    assert.equal((await fetch(gw.admin('/healthz'))).status, 200);
    // The startup banner names every port the unit listens on (issue #10: "lists every port").
    const banner = gw.output().slice(gw.output().indexOf('Sluice gateway is up'));
    for (const [name, port] of Object.entries(gw.ports)) assert.match(banner, new RegExp(`:${port}\\b`), `the banner names ${name} (:${port})`);

    const token = await gw.token('alice', ['engineering']);
    const ok = await get(gw, '/api/hello', token);
    assert.equal(ok.status, 200, ok.body);
    assert.equal((await get(gw, '/api/hello')).status, 401);
    // The demo database through the same unit: the token is the password, DDL is refused.
    const psql = (sql: string) => new Promise<{ out: string; err: string }>((resolve) => execFile('psql', [`host=127.0.0.1 port=${gw.ports.db} user=postgres dbname=test password=${token}`, '-X', '-A', '-t', '-c', sql], { timeout: 20_000 }, (_e, out, err) => resolve({ out, err })));
    assert.equal((await psql('select 6 * 7')).out.trim(), '42');
    assert.match((await psql('create table sluice_gateway_e2e (a int)')).err, /ERROR: .*(not allowed|denied by policy)/);

    // The approvals API is ext-authz's; the admin port passes it on, with ext-authz's own answers.
    const approvals = await fetch(gw.admin('/approvals'));
    assert.equal(approvals.status, 401);
    assert.equal(((await approvals.json()) as { error: { code: string } }).error.code, 'ERR_TOKEN_MISSING');

    // Kill ext-proc the hard way. Until it is back, Envoy refuses (never passes unprocessed).
    const before = (await status(gw)).find((c) => c.name === 'ext-proc')!;
    process.kill(before.pid!, 'SIGKILL');
    const down = await waitFor(async () => ((await status(gw)).find((c) => c.name === 'ext-proc')!.state !== 'running' ? true : undefined), 5000, 20);
    assert.ok(down.value);
    const duringOutage = await get(gw, '/api/hello', token);
    assert.notEqual(duringOutage.status, 200, 'nothing passes while ext-proc is down');
    assert.ok(duringOutage.status >= 500, `fails closed with a 5xx, got ${duringOutage.status}`);
    assert.ok(!duringOutage.body.includes(SECRET));
    const notReady = await fetch(gw.admin('/readyz'));
    assert.equal(notReady.status, 503);

    const back = await waitFor(async () => {
      const proc = (await status(gw)).find((c) => c.name === 'ext-proc')!;
      return proc.state === 'running' && proc.pid !== before.pid ? proc : undefined;
    }, 20_000, 100);
    assert.equal(back.value?.restarts, 1);
    await waitFor(async () => (await fetch(gw.admin('/readyz'))).status === 200, 10_000, 100);
    const after = await get(gw, '/api/hello', token);
    assert.equal(after.status, 200, after.body);
    assert.match(gw.output(), /"child":"ext-proc".*"signal":"SIGKILL".*ext-proc exited; restarting/);

    // ext-authz too: while it is down Envoy answers 503 (status_on_error), never a pass.
    const authzBefore = (await status(gw)).find((c) => c.name === 'ext-authz')!;
    process.kill(authzBefore.pid!, 'SIGKILL');
    await waitFor(async () => ((await status(gw)).find((c) => c.name === 'ext-authz')!.state !== 'running' ? true : undefined), 5000, 20);
    assert.equal((await get(gw, '/api/hello', token)).status, 503);
    await waitFor(async () => (await fetch(gw.admin('/readyz'))).status === 200, 20_000, 100);
    assert.equal((await get(gw, '/api/hello', token)).status, 200);
    assert.ok(!gw.output().includes(SECRET), 'the secret is in no log line');


    // One /metrics page for the unit: the gateway's families and both children's, by service,
    // parsed as Prometheus would; with Envoy's own page it serves every name the dashboard reads.
    const page = await scrape(gw.admin('/metrics'));
    const services = new Set(page.families.flatMap((f) => f.metrics.map((m) => m.labels?.service)));
    assert.deepEqual([...services].filter(Boolean).sort(), ['ext-authz', 'ext-proc', 'gateway']);
    assert.equal(sampleValue(page.families, 'sluice_gateway_child_restarts_total', { child: 'ext-proc' }), 1);
    assert.equal(sampleValue(page.families, 'sluice_gateway_child_restarts_total', { child: 'ext-authz' }), 1);
    assert.equal(sampleValue(page.families, 'sluice_gateway_child_up', { child: 'envoy' }), 1);
    assert.ok(sampleValue(page.families, 'sluice_authz_decisions_total', { target: 'demo-api', effect: 'allow' }) >= 1);
    const envoyPage = await scrape(`http://127.0.0.1:${gw.ports.envoyAdmin}/stats/prometheus`);
    const served = new Map([...page.families, ...envoyPage.families].map((f) => [f.name, f.type]));
    const missing = [...dashboardMetricNames()].filter((name) => !isServed(name, served));
    assert.deepEqual(missing, [], 'every metric the dashboard reads is served');
    for (const text of [page.text, ...everyString(page.families)]) {
      assert.ok(!text.includes(SECRET), 'no secret on /metrics');
      assert.ok(!text.includes(token), 'no token on /metrics');
    }

    // Envoy too (last: its own stats start over): restarted on the same bootstrap (same ports),
    // on the latest generated resources.
    const envoyBefore = (await status(gw)).find((c) => c.name === 'envoy')!;
    process.kill(envoyBefore.pid!, 'SIGKILL');
    const envoyBack = await waitFor(async () => {
      const envoy = (await status(gw)).find((c) => c.name === 'envoy')!;
      return envoy.state === 'running' && envoy.pid !== envoyBefore.pid ? envoy : undefined;
    }, 20_000, 100);
    assert.equal(envoyBack.value?.restarts, 1);
    await waitFor(async () => (await fetch(gw.admin('/readyz'))).status === 200, 20_000, 100);
    assert.equal((await get(gw, '/api/hello', token)).status, 200);
    const restarted = await scrape(gw.admin('/metrics'));
    assert.equal(sampleValue(restarted.families, 'sluice_gateway_child_restarts_total', { child: 'envoy' }), 1);
  } finally {
    await gw.stop();
  }
});

test('sluice gateway: SIGTERM lets in-flight streams finish up to the drain deadline, refuses new connections, exits 0', { timeout: 120_000 }, async () => {
  const gw = await startGateway({ drainTimeout: '4s' });
  try {
    const token = await gw.token('alice', ['engineering']);
    // One stream ends inside the deadline (6 × 300 ms), one would need 15 s.
    const short = stream(gw, token, ['s1', 's2', 's3', 's4', 's5', 's6'], 300);
    const long = stream(gw, token, Array.from({ length: 30 }, (_, i) => `L${i}`), 500);
    await Promise.all([short.firstChunk, long.firstChunk]);
    const signalled = Date.now();
    gw.child.kill('SIGTERM');
    await waitFor(() => gw.output().includes('draining: listeners closed'), 5000, 20);

    const refused = await fetch(gw.url('/api/hello'), { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status, () => 'refused');
    assert.equal(refused, 'refused', 'no new connection is accepted while draining');

    const shortResult = await short.done;
    assert.equal(shortResult.status, 200);
    assert.equal(shortResult.body, 's1s2s3s4s5s6');
    assert.equal(shortResult.complete, true, 'the stream inside the deadline finished whole');

    const longResult = await long.done;
    assert.equal(longResult.complete, false, 'the stream past the deadline is cut');
    assert.ok(longResult.body.startsWith('L0L1'), longResult.body);

    const code = await gw.exited;
    const tookMs = Date.now() - signalled;
    assert.equal(code, 0);
    assert.ok(tookMs >= 3500 && tookMs < 15_000, `stopped after the 4 s deadline, took ${tookMs} ms`);
    assert.match(gw.output(), /drain deadline passed; cutting what is left/);
  } finally {
    await gw.stop();
  }
});

test('sluice gateway: Ctrl-C (SIGINT to the whole process group) drains like SIGTERM; the children are not killed under it', { timeout: 120_000 }, async () => {
  const gw = await startGateway({ drainTimeout: '4s', processGroup: true });
  try {
    const token = await gw.token('alice', ['engineering']);
    const short = stream(gw, token, ['s1', 's2', 's3', 's4', 's5', 's6'], 300);
    await short.firstChunk;
    process.kill(-gw.child.pid!, 'SIGINT');
    const result = await short.done;
    assert.equal(result.body, 's1s2s3s4s5s6');
    assert.equal(result.complete, true, 'the in-flight stream finished whole');
    assert.equal(await gw.exited, 0);
    assert.match(gw.output(), /draining: listeners closed/);
    assert.doesNotMatch(gw.output(), /exited; restarting|drain failed/, 'no child died under the drain');
  } finally {
    await gw.stop();
  }
});

test('sluice gateway: a policy directory broken at start is not ready and refuses; fixing it makes it ready', { timeout: 120_000 }, async () => {
  const gw = await startGateway({ brokenPolicy: true });
  try {
    const notReady = await fetch(gw.admin('/readyz'));
    const report = (await notReady.json()) as { checks: { name: string; ok: boolean; detail?: string }[] };
    assert.equal(notReady.status, 503);
    const authz = report.checks.find((c) => c.name === 'ext-authz')!;
    assert.equal(authz.ok, false);
    assert.match(authz.detail ?? '', /policies: no policy has loaded: zz-broken\.yaml:\d+:\d+/);

    const token = await gw.token('alice', ['engineering']);
    const refused = await get(gw, '/api/hello', token);
    assert.equal(refused.status, 503, refused.body);
    assert.equal((JSON.parse(refused.body) as { error: { code: string } }).error.code, 'ERR_POLICY_UNAVAILABLE');

    rmSync(path.join(gw.dir, 'policies', 'zz-broken.yaml'));
    const fixed = await waitFor(async () => (await fetch(gw.admin('/readyz'))).status === 200, 15_000, 100);
    assert.ok(fixed.value);
    const allowed = await get(gw, '/api/hello', token);
    assert.equal(allowed.status, 200, allowed.body);
  } finally {
    await gw.stop();
  }
});

test('sluice gateway --help names its options; a mistyped flag exits 2 without a stack trace', async () => {
  const run = (args: string[]) => new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'cli/sluice.ts'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => resolve({ code, out }));
  });
  const help = await run(['gateway', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /--config/);
  assert.match(help.out, /drainTimeout/);
  const bad = await run(['gateway', '--confg', 'x.yaml']);
  assert.equal(bad.code, 2);
  assert.doesNotMatch(bad.out, /\n\s+at /);
});
