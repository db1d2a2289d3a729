import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { startAdminServer, type AdminServer } from './admin-server.ts';
import { HttpRefusal } from './http-refusal.ts';
import { sendJson } from './http.ts';

describe('admin server', () => {
  const lines: string[] = [];
  let admin: AdminServer;
  let base: string;
  let ready = true;
  let aborted: Promise<void>;
  let markAborted: () => void;

  before(async () => {
    admin = await startAdminServer({ port: 0, logger: pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) }), readinessTimeoutMs: 200 });
    base = `http://127.0.0.1:${admin.port}`;
    admin.route('GET', '/things/:id', (_req, res, params) => sendJson(res, 200, { id: params.id }));
    admin.route('DELETE', '/things/:id', () => {
      throw new HttpRefusal(409, 'ERR_THING_BUSY', 'the thing is busy', { headers: { 'retry-after': '5' } });
    });
    admin.route('POST', '/things/:id', async () => {
      throw new HttpRefusal(503, 'ERR_THING_STORE_UNAVAILABLE', 'try again shortly', { cause: new Error('db at 10.1.2.3 refused') });
    });
    admin.route('GET', '/crash', async () => {
      throw new TypeError('cannot read x of undefined at secret-internal.ts:9');
    });
    admin.route('GET', '/hang', (_req, _res, _params, signal) => new Promise<void>((resolve) => {
      signal.addEventListener('abort', () => {
        markAborted();
        resolve();
      });
    }));
    admin.readiness('flag', async () => (ready ? { ok: true } : { ok: false, detail: 'flag is down' }));
  });
  after(() => admin.close());
  beforeEach(() => {
    lines.length = 0;
    ready = true;
    aborted = new Promise((resolve) => (markAborted = resolve));
  });

  async function get(path: string, method = 'GET') {
    const res = await fetch(`${base}${path}`, { method });
    return { status: res.status, headers: res.headers, body: (await res.json()) as any };
  }

  it('GET /healthz is alive without any check', async () => {
    ready = false;
    const res = await get('/healthz');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { status: 'ok' });
  });

  it('GET /readyz is 200 when every check passes, else 503 listing each check', async () => {
    const up = await get('/readyz');
    assert.equal(up.status, 200);
    assert.deepEqual(up.body, { status: 'ready', checks: [{ name: 'flag', ok: true }] });
    ready = false;
    const down = await get('/readyz');
    assert.equal(down.status, 503);
    assert.deepEqual(down.body, { status: 'not ready', checks: [{ name: 'flag', ok: false, detail: 'flag is down' }] });
    assert.equal(down.headers.get('cache-control'), 'no-store');
  });

  it('routes with params; unknown paths are 404 and wrong methods 405 with Allow', async () => {
    assert.deepEqual((await get('/things/a%20b')).body, { id: 'a b' });
    const missing = await get('/nothing');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'ERR_ROUTE_NOT_FOUND');
    const wrong = await get('/things/1', 'PUT');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.body.error.code, 'ERR_METHOD_NOT_ALLOWED');
    assert.equal(wrong.headers.get('allow'), 'DELETE, GET, POST');
    assert.equal((await get('/healthz', 'POST')).headers.get('allow'), 'GET');
  });

  it('a typed refusal keeps its status, code, message and headers', async () => {
    const res = await get('/things/1', 'DELETE');
    assert.equal(res.status, 409);
    assert.deepEqual(res.body, { error: { code: 'ERR_THING_BUSY', message: 'the thing is busy' } });
    assert.equal(res.headers.get('retry-after'), '5');
    assert.equal(lines.filter((l) => l.includes('"level":50')).length, 0, 'a 4xx is not an operator error');
  });

  it('a deliberate 5xx is answered as given and its cause logged', async () => {
    const res = await get('/things/1', 'POST');
    assert.equal(res.status, 503);
    assert.deepEqual(res.body.error, { code: 'ERR_THING_STORE_UNAVAILABLE', message: 'try again shortly' });
    assert.ok(lines.some((l) => l.includes('10.1.2.3')));
  });

  it('anything else is 500 ERR_INTERNAL with the detail in the log only', async () => {
    const res = await get('/crash');
    assert.equal(res.status, 500);
    assert.deepEqual(res.body, { error: { code: 'ERR_INTERNAL', message: 'internal error' } });
    assert.ok(lines.some((l) => l.includes('secret-internal')));
  });

  it('the handler signal fires when the client goes away', async () => {
    const req = request(`${base}/hang`);
    req.on('error', () => {});
    req.end();
    await new Promise((resolve) => setTimeout(resolve, 50));
    req.destroy();
    await aborted;
  });

  it('refuses a route registered twice', () => {
    assert.throws(() => admin.route('GET', '/healthz', () => {}), { code: 'ERR_ADMIN_ROUTE_INVALID' });
  });
});
