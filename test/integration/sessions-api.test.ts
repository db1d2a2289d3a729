import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { startAdminServer, type AdminServer } from '../../common/admin-server.ts';
import { DevIssuer } from '../../dev/dev-issuer.ts';
import { JwtIdentityVerifier, parseIssuerConfig } from '../../ext-authz/identity/index.ts';
import { FileSessionStore, REDACTED, SessionError, type SessionStore } from '../../ext-proc/sessions/index.ts';
import { sessionRecord, T0 } from '../../ext-proc/sessions/store-suite.ts';
import { registerSessionsApi } from '../../ext-proc/sessions-api/index.ts';

/** The file store, with a switch that makes every read fail the way an unreachable store does. */
class Switchable implements Pick<SessionStore, 'get' | 'list'> {
  down = false;
  constructor(private readonly inner: SessionStore) {}
  private check(): void {
    if (this.down) throw new SessionError('ERR_SESSION_STORE_UNAVAILABLE', 'cannot read /var/lib/sluice/sessions/segment-7 on 10.0.0.9');
  }
  async get(id: string) {
    this.check();
    return this.inner.get(id);
  }
  async list(filter?: Parameters<SessionStore['list']>[0]) {
    this.check();
    return this.inner.list(filter);
  }
}

describe('sessions API over HTTP (file store, local issuer)', () => {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  let dir: string;
  let issuer: DevIssuer;
  let store: FileSessionStore;
  let reads: Switchable;
  let admin: AdminServer;
  let nobodyAdmin: AdminServer;
  let base: string;
  let auditor: string;
  let root: string;
  let alice: string;
  const records = [
    sessionRecord({ subject: 'alice', target: 'orders-api' }, 0),
    sessionRecord({ subject: 'bob', target: 'orders-api', rule: 'staging/allow-orders', events: [{ at: T0 + 1000, kind: 'approval', approvalId: 'ap-1', waitMs: 800 }, ...sessionRecord({}, 1).events] }, 1),
    sessionRecord({ subject: 'alice', target: 'billing' }, 2),
    sessionRecord({
      subject: 'alice',
      target: 'orders-api',
      request: { headers: { authorization: 'Bearer eyJ.caller-SECRET.sig', 'content-type': 'application/json' }, body: { text: '{"card":"****"}', bytes: 15, truncated: false } },
    }, 3),
  ];

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sluice-sessions-api-'));
    store = await FileSessionStore.open({ dir, logger, fsync: 'off' });
    for (const record of records) await store.append(record);
    reads = new Switchable(store);
    issuer = await DevIssuer.start();
    const verifier = new JwtIdentityVerifier({ issuers: [parseIssuerConfig({ name: 'people', issuer: issuer.url, audiences: ['sluice'] }, 'issuers[0]')], logger });
    admin = await startAdminServer({ port: 0, logger });
    registerSessionsApi(admin, { store: reads, verifier, logger, readers: [{ groups: ['auditors'] }, { issuer: 'people', users: ['root'] }] });
    nobodyAdmin = await startAdminServer({ port: 0, logger });
    registerSessionsApi(nobodyAdmin, { store: reads, verifier, logger, readers: [] });
    base = `http://127.0.0.1:${admin.port}`;
    auditor = await issuer.mint({ sub: 'carol', groups: ['auditors'] });
    root = await issuer.mint({ sub: 'root' });
    alice = await issuer.mint({ sub: 'alice', groups: ['engineering'] });
  });
  after(async () => {
    await admin.close();
    await nobodyAdmin.close();
    await issuer.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    reads.down = false;
    lines.length = 0;
  });

  async function call(pathAndQuery: string, token?: string, at = base) {
    const res = await fetch(`${at}${pathAndQuery}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
    return { status: res.status, headers: res.headers, body: (await res.json()) as any };
  }

  async function expectError(pathAndQuery: string, token: string | undefined, status: number, code: string) {
    const res = await call(pathAndQuery, token);
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.equal(res.body.error.code, code);
    return res;
  }

  const ids = (res: { body: any }) => (res.body.sessions as { id: string }[]).map((s) => s.id);
  const newestFirst = (subset: typeof records) => [...subset].sort((a, b) => b.startedAt - a.startedAt).map((r) => r.id);

  it('needs a valid bearer token, refused exactly as the approvals API refuses it', async () => {
    const missing = await expectError('/sessions', undefined, 401, 'ERR_TOKEN_MISSING');
    assert.equal(missing.headers.get('www-authenticate'), 'Bearer realm="sluice"');
    const forged = await expectError('/sessions/x', `${auditor.slice(0, -4)}AAAA`, 401, 'ERR_TOKEN_SIGNATURE_INVALID');
    assert.match(forged.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  });

  it('a valid token that matches no reader is 403, for the list and for a known id', async () => {
    await expectError('/sessions', alice, 403, 'ERR_SESSION_FORBIDDEN');
    await expectError(`/sessions/${records[0]!.id}`, alice, 403, 'ERR_SESSION_FORBIDDEN');
    await expectError('/sessions?limit=bogus', alice, 403, 'ERR_SESSION_FORBIDDEN');
    const res = await call('/sessions', auditor, `http://127.0.0.1:${nobodyAdmin.port}`);
    assert.equal(res.status, 403, 'an empty readers list lets nobody in');
  });

  it('readers list newest first, records exactly as stored, with cursor paging', async () => {
    for (const token of [auditor, root]) {
      const res = await call('/sessions', token);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.deepEqual(ids(res), newestFirst(records));
      assert.equal(res.body.next_cursor, null);
      assert.deepEqual(res.body.sessions[0], JSON.parse(JSON.stringify(await store.get(res.body.sessions[0].id))));
    }
    const first = await call('/sessions?limit=3', auditor);
    assert.equal(ids(first).length, 3);
    assert.equal(typeof first.body.next_cursor, 'string');
    const second = await call(`/sessions?limit=3&cursor=${encodeURIComponent(first.body.next_cursor)}`, auditor);
    assert.deepEqual([...ids(first), ...ids(second)], newestFirst(records));
  });

  it('filters by subject, target and time (milliseconds or ISO 8601)', async () => {
    assert.deepEqual(ids(await call('/sessions?subject=alice&target=orders-api', auditor)), newestFirst([records[0]!, records[3]!]));
    assert.deepEqual(ids(await call(`/sessions?from=${T0 + 1000}&to=${T0 + 3000}`, auditor)), newestFirst([records[1]!, records[2]!]));
    const iso = (ms: number) => encodeURIComponent(new Date(ms).toISOString());
    assert.deepEqual(ids(await call(`/sessions?from=${iso(T0 + 2000)}`, auditor)), newestFirst([records[2]!, records[3]!]));
  });

  it('filters by the rule that decided (exact or policy/*) and by approval', async () => {
    assert.deepEqual(ids(await call('/sessions?rule=staging%2Fallow-orders', auditor)), [records[1]!.id]);
    assert.deepEqual(ids(await call('/sessions?rule=prod%2F*', auditor)), newestFirst([records[0]!, records[2]!, records[3]!]));
    assert.deepEqual(ids(await call('/sessions?approval=yes', auditor)), [records[1]!.id]);
    assert.deepEqual(ids(await call('/sessions?approval=no&subject=alice&rule=prod%2F*', auditor)), newestFirst([records[0]!, records[2]!, records[3]!]));
    assert.deepEqual(ids(await call('/sessions?refusals=yes', auditor)), []);
    for (const query of ['rule=prod', 'approval=true', 'refusals=']) await expectError(`/sessions?${query}`, auditor, 400, 'ERR_SESSION_INVALID');
  });

  it('headers the recorder redacted stay redacted', async () => {
    const res = await call(`/sessions/${records[3]!.id}`, auditor);
    assert.equal(res.status, 200);
    const request = res.body.session.events.find((e: { kind: string }) => e.kind === 'http.request');
    assert.equal(request.headers.authorization, REDACTED);
    assert.ok(!JSON.stringify(res.body).includes('caller-SECRET'));
  });

  it('GET /sessions/:id: a missing or malformed id is 404', async () => {
    await expectError('/sessions/00000000-0000-4000-8000-000000000000', auditor, 404, 'ERR_SESSION_NOT_FOUND');
    await expectError('/sessions/not-a-uuid', auditor, 404, 'ERR_SESSION_NOT_FOUND');
  });

  it('a bad query is 400 ERR_SESSION_INVALID naming the problem', async () => {
    for (const query of ['limit=0', 'limit=501', 'limit=ten', 'subjet=alice', 'subject=a&subject=b', 'from=yesterday', 'to=2030-01-01T10:00', `from=${T0 + 5}&to=${T0}`, 'cursor=bogus', 'subject=']) {
      const res = await expectError(`/sessions?${query}`, auditor, 400, 'ERR_SESSION_INVALID');
      assert.match(res.body.error.message, /invalid session query/, query);
    }
    assert.equal(ids(await call('/sessions?limit=500', auditor)).length, records.length, 'the maximum itself is fine');
  });

  it('an unreachable store is 503 with a generic message; the detail is logged', async () => {
    reads.down = true;
    const res = await expectError('/sessions', auditor, 503, 'ERR_SESSION_STORE_UNAVAILABLE');
    assert.ok(!JSON.stringify(res.body).includes('10.0.0.9'));
    await expectError(`/sessions/${records[0]!.id}`, auditor, 503, 'ERR_SESSION_STORE_UNAVAILABLE');
    assert.ok(lines.some((l) => l.includes('10.0.0.9')));
  });

  it('every read leaves one sessions.read line naming the reader, and no token', async () => {
    await call(`/sessions/${records[1]!.id}`, auditor);
    await call('/sessions', alice);
    const read = lines.map((l) => JSON.parse(l)).filter((l) => l.event === 'sessions.read');
    assert.deepEqual(read.map((l) => [l.reader_subject, l.result, l.session_id]), [['carol', 'ok', records[1]!.id], ['alice', 'ERR_SESSION_FORBIDDEN', undefined]]);
    for (const token of [auditor, alice]) assert.ok(!lines.join('\n').includes(token.split('.')[2]!));
  });
});
