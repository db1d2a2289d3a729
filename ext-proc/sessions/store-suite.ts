import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { BodyCapture } from './body-capture.ts';
import { httpRequestOf, httpResponseOf, httpSummary } from './http-events.ts';
import type { RecordPolicyOptions } from './prepare-record.ts';
import type { CapturedBody, SessionEvent, SessionFilter, SessionRecord, SessionStore } from './types.ts';
import { upgradeRecord, type SessionRecordV1 } from './upgrade-record.ts';
import { decisionFilterTests } from './store-suite-decision.ts';

/** What a store implementation hands the shared suite: an empty store and a way to reopen it. */
export interface SessionStoreHarness {
  store: SessionStore;
  /** Closes the current store and opens the same storage again. */
  reopen(): Promise<SessionStore>;
  /** Closes whatever is open and removes the storage. */
  close(): Promise<void>;
  /**
   * Puts version 1 records into the storage the way the previous version of the store wrote them
   * (file lines with the old index part; PostgreSQL rows as an old replica inserts them), and
   * returns the store to read them through (reopened if need be).
   */
  writeV1(records: readonly SessionRecordV1[]): Promise<SessionStore>;
}

export const T0 = Date.UTC(2025, 0, 1);

/** The HTTP parts of a test record, turned into its events by sessionRecord(). */
export interface HttpParts {
  method?: string;
  path?: string;
  /** null: no response (the exchange was cut before it; outcome incomplete). */
  status?: number | null;
  request?: { headers?: Record<string, string>; body?: CapturedBody };
  response?: { headers?: Record<string, string>; body?: CapturedBody };
}

/**
 * A well-formed HTTP record; `n` spreads start times one second apart. The HTTP parts (method,
 * path, status, request, response) become its events unless `events` is given; the envelope
 * fields override as they are.
 */
export function sessionRecord(overrides: Partial<SessionRecord> & HttpParts = {}, n = 0): SessionRecord {
  const { method = 'POST', path = `/orders/${n}?expand=items`, status = 201, request = {}, response = {}, ...envelope } = overrides;
  const startedAt = envelope.startedAt ?? T0 + n * 1000;
  const requestBody = request.body ?? { text: '{"item":"book","qty":1}', bytes: 23, truncated: false };
  const responseBody = response.body ?? { text: '{"id":7}', bytes: 8, truncated: false };
  const events: SessionEvent[] = [
    { at: startedAt, kind: 'http.request', method, path, headers: request.headers ?? { 'content-type': 'application/json', 'x-request-id': `req-${n}` }, body: requestBody },
    { at: startedAt + 1, kind: 'body', direction: 'request', bytes: requestBody.bytes },
  ];
  if (status !== null) {
    events.push(
      { at: startedAt + 40, kind: 'http.response', status, headers: response.headers ?? { 'content-type': 'application/json', 'x-upstream': 'orders-1' }, body: responseBody },
      { at: startedAt + 41, kind: 'body', direction: 'response', bytes: responseBody.bytes },
      { at: startedAt + 42, kind: 'end' },
    );
  } else {
    events.push({ at: startedAt + 42, kind: 'error', reason: 'the exchange ended before a response' });
  }
  return {
    version: 2,
    id: randomUUID(),
    requestId: `req-${n}`,
    protocol: 'http',
    subject: 'alice',
    issuer: 'corp',
    target: 'orders-api',
    rule: 'prod/allow-orders',
    decision: 'allow',
    startedAt,
    endedAt: startedAt + 42,
    outcome: status === null ? 'incomplete' : 'completed',
    summary: httpSummary(method, path, status),
    events,
    ...envelope,
  };
}

/** A record as version 1 of the stores wrote it (HTTP-shaped), for the upgrade tests. */
export function sessionRecordV1(overrides: Partial<SessionRecordV1> = {}, n = 0): SessionRecordV1 {
  const startedAt = T0 + n * 1000;
  return {
    id: randomUUID(),
    requestId: `req-${n}`,
    subject: 'alice',
    issuer: 'corp',
    target: 'orders-api',
    rule: 'prod/allow-orders',
    decision: 'allow',
    method: 'POST',
    path: `/orders/${n}?expand=items`,
    status: 201,
    startedAt,
    endedAt: startedAt + 42,
    timings: { requestHeadersMs: 1.25, upstreamMs: 38.5, totalMs: 42 },
    request: {
      headers: { 'content-type': 'application/json', 'x-request-id': `req-${n}` },
      body: { text: '{"item":"book","qty":1}', bytes: 23, truncated: false },
    },
    response: {
      headers: { 'content-type': 'application/json', 'x-upstream': 'orders-1' },
      body: { text: '{"id":7}', bytes: 8, truncated: false },
    },
    events: [
      { at: startedAt, direction: 'request', kind: 'headers' },
      { at: startedAt + 1, direction: 'request', kind: 'body', bytes: 23 },
      { at: startedAt + 40, direction: 'response', kind: 'headers' },
      { at: startedAt + 41, direction: 'response', kind: 'body', bytes: 8 },
      { at: startedAt + 42, direction: 'response', kind: 'end' },
    ],
    ...overrides,
  };
}

/** Every record matching `filter`, following cursors page by page. */
export async function listAll(store: SessionStore, filter: SessionFilter = {}): Promise<SessionRecord[]> {
  const all: SessionRecord[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 10_000; pages += 1) {
    const page = await store.list({ ...filter, ...(cursor === undefined ? {} : { cursor }) });
    all.push(...page.records);
    if (page.nextCursor === undefined) return all;
    cursor = page.nextCursor;
  }
  throw new Error('pagination does not end');
}

/** Newest first, then by id descending: the order every store lists in. */
function newestFirst(records: readonly SessionRecord[]): SessionRecord[] {
  return [...records].sort((a, b) => b.startedAt - a.startedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

const ids = (records: readonly SessionRecord[]) => records.map((r) => r.id);

/**
 * The behaviour every SessionStore must have. The file store and PostgreSQL run exactly this, so
 * the recording queue and `sluice sessions` can rely on one set of semantics.
 */
export function sessionStoreSuite(name: string, open: (policy?: RecordPolicyOptions) => Promise<SessionStoreHarness>): void {
  async function withStore(run: (h: SessionStoreHarness) => Promise<void>, policy?: RecordPolicyOptions): Promise<void> {
    const harness = await open(policy);
    try {
      await run(harness);
    } finally {
      await harness.close();
    }
  }

  describe(name, () => {
    test('a record reads back unchanged; unknown and malformed ids read as undefined; ids match in any case', () =>
      withStore(async ({ store }) => {
        const record = sessionRecord();
        await store.append(record);
        assert.deepEqual(await store.get(record.id), record);
        assert.deepEqual(await store.get(record.id.toUpperCase()), record);
        assert.equal(await store.get(randomUUID()), undefined);
        assert.equal(await store.get('not-a-uuid'), undefined);

        const cut = sessionRecord({ status: null }, 1);
        await store.append(cut);
        assert.deepEqual(await store.get(cut.id), cut);

        // Optional fields stay absent; a session of another protocol with no events yet is a record too.
        const bare = sessionRecord({
          events: [
            { at: T0, kind: 'http.request', method: 'GET', path: '/', headers: {}, body: { text: '', bytes: 0, truncated: false } },
            { at: T0 + 1, kind: 'error', code: 'ERR_BODY_REFUSED' },
          ],
          outcome: 'refused',
        }, 2);
        await store.append(bare);
        assert.deepEqual(await store.get(bare.id), bare, 'optional fields stay absent');
        const other = sessionRecord({ protocol: 'postgres', summary: 'psql to orders-db', events: [], outcome: 'failed' }, 3);
        await store.append(other);
        assert.deepEqual(await store.get(other.id), other);
      }));

    test('append is idempotent on the id: the first write wins', () =>
      withStore(async ({ store }) => {
        const record = sessionRecord();
        await store.append(record);
        await store.append({ ...record, subject: 'mallory' });
        await Promise.all([store.append(record), store.append(record)]);
        assert.equal((await store.get(record.id))?.subject, 'alice');
        assert.deepEqual(ids((await store.list()).records), [record.id]);
      }));

    test('a malformed record is refused with ERR_SESSION_INVALID and nothing is stored', () =>
      withStore(async ({ store }) => {
        const bad: [string, unknown][] = [
          ['id', { ...sessionRecord(), id: 'nope' }],
          ['decision', { ...sessionRecord(), decision: 'maybe' }],
          ['version', { ...sessionRecord(), version: 1 }],
          ['protocol', { ...sessionRecord(), protocol: 'ftp' }],
          ['outcome', { ...sessionRecord(), outcome: 'fine' }],
          ['summary', { ...sessionRecord(), summary: undefined }],
          ['status', sessionRecord({ status: 42 })],
          ['times', { ...sessionRecord(), endedAt: T0 - 1 }],
          ['body', sessionRecord({ request: { body: { text: 'x', base64: 'eA==', bytes: 1, truncated: false } as unknown as CapturedBody } })],
          ['bytes', sessionRecord({ response: { body: { text: 'hello', bytes: 2, truncated: true } } })],
          ['header', sessionRecord({ request: { headers: { a: 1 } as unknown as Record<string, string> } })],
          ['events', { ...sessionRecord(), events: undefined }],
          ['event kind', { ...sessionRecord(), events: [{ at: T0, kind: 'sideways' }] }],
          ['event direction', { ...sessionRecord(), events: [{ at: T0, kind: 'body', direction: 'sideways', bytes: 1 }] }],
          ['http event outside http', { ...sessionRecord(), protocol: 'redis' }],
        ];
        for (const [what, record] of bad) {
          await assert.rejects(store.append(record as SessionRecord), { code: 'ERR_SESSION_INVALID' }, what);
        }
        assert.deepEqual((await store.list()).records, []);
      }));

    test('credential headers are redacted by the store, in any case, plus the configured names', () =>
      withStore(async ({ store }) => {
        const record = sessionRecord({
          request: {
            headers: {
              Authorization: 'Bearer eyJhbGciOi.secret.sig',
              cookie: 'session=abc',
              'Proxy-Authorization': 'Basic dXNlcjpwYXNz',
              'X-API-Key': 'k-123',
              'x-vault-token': 'hvs.secret',
              'content-type': 'text/plain',
            },
            body: { text: 'hi', bytes: 2, truncated: false },
          },
          response: { headers: { 'Set-Cookie': 'id=1; HttpOnly', etag: '"v1"' }, body: { text: '', bytes: 0, truncated: false } },
        });
        const before = structuredClone(record);
        await store.append(record);
        assert.deepEqual(record, before, "the caller's record is not modified");
        const stored = await store.get(record.id);
        assert.deepEqual(httpRequestOf(stored!)?.headers, {
          Authorization: '[redacted]',
          cookie: '[redacted]',
          'Proxy-Authorization': '[redacted]',
          'X-API-Key': '[redacted]',
          'x-vault-token': '[redacted]',
          'content-type': 'text/plain',
        });
        assert.deepEqual(httpResponseOf(stored!)?.headers, { 'Set-Cookie': '[redacted]', etag: '"v1"' });
        const page = JSON.stringify(await store.list());
        for (const secret of ['eyJhbGciOi', 'session=abc', 'dXNlcjpwYXNz', 'k-123', 'hvs.secret', 'id=1']) assert.ok(!page.includes(secret), secret);
      }, { redactHeaders: ['X-Vault-Token'] }));

    test('bodies over the store maximum are cut and flagged; the wire size is kept', () =>
      withStore(async ({ store }) => {
        const text = 'a'.repeat(5000);
        const binary = randomBytes(4000);
        const accented = 'é'.repeat(600); // 1200 bytes: the cut at 1024 falls between the two bytes of a letter
        const record = sessionRecord({
          request: { headers: {}, body: { text, bytes: 5000, truncated: false } },
          response: { headers: {}, body: { base64: binary.toString('base64'), bytes: 4000, truncated: false } },
        });
        await store.append(record);
        const stored = await store.get(record.id);
        assert.deepEqual(httpRequestOf(stored!)?.body, { text: 'a'.repeat(1024), bytes: 5000, truncated: true });
        assert.deepEqual(httpResponseOf(stored!)?.body, { base64: binary.subarray(0, 1024).toString('base64'), bytes: 4000, truncated: true });

        const cut = sessionRecord({ request: { headers: {}, body: { text: accented, bytes: 1200, truncated: false } } }, 1);
        await store.append(cut);
        assert.deepEqual(httpRequestOf((await store.get(cut.id))!)?.body, { text: 'é'.repeat(512), bytes: 1200, truncated: true });

        // Cut by the caller's capture, below the store maximum: kept as captured.
        const capture = new BodyCapture(100);
        for (let i = 0; i < 100; i += 1) capture.push(Buffer.from('0123456789'));
        const captured = sessionRecord({ response: { headers: {}, body: capture.body() } }, 2);
        await store.append(captured);
        assert.deepEqual(httpResponseOf((await store.get(captured.id))!)?.body, { text: '0123456789'.repeat(10), bytes: 1000, truncated: true });
      }, { maxBodyBytes: 1024 }));

    test('unicode and binary bodies, headers and fields round-trip', () =>
      withStore(async ({ store }) => {
        const unicode = '\uFEFFgrüße 🚀 日本語 مرحبا \u2028line\u2029 "quoted" \\ back\tslash\n';
        const everyByte = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        const record = sessionRecord({
          subject: 'zoë@例え.jp',
          path: '/files/%F0%9F%9A%80/naïve?q=☃',
          request: { headers: { 'x-note': 'café ☕' }, body: { text: unicode, bytes: Buffer.byteLength(unicode), truncated: false } },
          response: { headers: { 'content-type': 'application/octet-stream' }, body: { base64: everyByte.toString('base64'), bytes: 256, truncated: false } },
        });
        await store.append(record);
        assert.deepEqual(await store.get(record.id), record);

        const ordered = sessionRecord({ response: { headers: { 'x-z': '1', via: '2', 'content-length': '3', a: '4', 'x-aa': '5' }, body: { text: '', bytes: 0, truncated: false } } }, 3);
        await store.append(ordered);
        assert.deepEqual(Object.keys(httpResponseOf((await store.get(ordered.id))!)!.headers), ['x-z', 'via', 'content-length', 'a', 'x-aa'], 'headers keep their order');

        // NUL cannot be stored as text (PostgreSQL): a text body with NUL is kept as base64, losslessly.
        const nul = sessionRecord({ request: { headers: {}, body: { text: 'a\u0000b', bytes: 3, truncated: false } } }, 1);
        await store.append(nul);
        const stored = await store.get(nul.id);
        assert.deepEqual(httpRequestOf(stored!)?.body, { base64: Buffer.from('a\u0000b').toString('base64'), bytes: 3, truncated: false });
        // ...and NUL in a text field becomes U+FFFD.
        const nulSubject = sessionRecord({ subject: 'eve\u0000admin' }, 2);
        await store.append(nulSubject);
        assert.equal((await store.get(nulSubject.id))?.subject, 'eve\uFFFDadmin');
        assert.deepEqual(ids((await store.list({ subject: 'eve\uFFFDadmin' })).records), [nulSubject.id]);
      }));

    test('list: newest first, filtered by subject, target and time range', () =>
      withStore(async ({ store }) => {
        const records = [
          sessionRecord({ subject: 'alice', target: 'orders-api' }, 0),
          sessionRecord({ subject: 'bob', target: 'orders-api' }, 1),
          sessionRecord({ subject: 'alice', target: 'billing-db' }, 2),
          sessionRecord({ subject: 'carol', target: 'billing-db', decision: 'deny', status: 403 }, 3),
          sessionRecord({ subject: 'alice', target: 'orders-api' }, 4),
        ];
        // Out of time order, as concurrent exchanges finish.
        for (const i of [3, 0, 4, 1, 2]) await store.append(records[i]!);
        const at = (...which: number[]) => which.map((i) => records[i]!.id);

        assert.deepEqual(ids((await store.list()).records), at(4, 3, 2, 1, 0));
        assert.deepEqual(ids((await store.list({ subject: 'alice' })).records), at(4, 2, 0));
        assert.deepEqual(ids((await store.list({ target: 'billing-db' })).records), at(3, 2));
        assert.deepEqual(ids((await store.list({ subject: 'alice', target: 'orders-api' })).records), at(4, 0));
        assert.deepEqual(ids((await store.list({ from: T0 + 1000, to: T0 + 4000 })).records), at(3, 2, 1), 'from inclusive, to exclusive');
        assert.deepEqual(ids((await store.list({ subject: 'alice', from: T0 + 1 })).records), at(4, 2));
        assert.deepEqual(ids((await store.list({ to: T0 + 1 })).records), at(0));
        assert.deepEqual((await store.list({ subject: 'nobody' })).records, []);
        assert.deepEqual((await store.list({ from: T0 + 10_000 })).records, []);
      }));

    test('list: filtered by protocol and outcome, alone and with the other filters', () =>
      withStore(async ({ store }) => {
        const records = [
          sessionRecord({}, 0),
          sessionRecord({ status: null }, 1),
          sessionRecord({ protocol: 'postgres', events: [], summary: 'orders-db', subject: 'bob' }, 2),
          sessionRecord({ protocol: 'redis', events: [], summary: 'cache', outcome: 'failed' }, 3),
          sessionRecord({ outcome: 'refused', subject: 'bob' }, 4),
          sessionRecord({ protocol: 'postgres', events: [], summary: 'orders-db', outcome: 'incomplete' }, 5),
        ];
        for (const record of records) await store.append(record);
        const at = (...which: number[]) => which.map((i) => records[i]!.id);
        assert.deepEqual(ids((await store.list({ protocol: 'http' })).records), at(4, 1, 0));
        assert.deepEqual(ids((await store.list({ protocol: 'postgres' })).records), at(5, 2));
        assert.deepEqual(ids((await store.list({ outcome: 'incomplete' })).records), at(5, 1));
        assert.deepEqual(ids((await store.list({ outcome: 'completed', protocol: 'postgres' })).records), at(2));
        assert.deepEqual(ids((await store.list({ subject: 'bob', outcome: 'refused' })).records), at(4));
        assert.deepEqual(ids((await store.list({ outcome: 'failed', from: T0 + 4000 })).records), []);
        assert.deepEqual(ids(await listAll(store, { protocol: 'http', limit: 1 })), at(4, 1, 0), 'pages with the filter');
        for (const filter of [{ protocol: 'ftp' }, { outcome: 'fine' }] as unknown as SessionFilter[]) {
          await assert.rejects(store.list(filter), { code: 'ERR_SESSION_INVALID' }, JSON.stringify(filter));
        }
      }));

    test('audit fields (credential, masking) read back unchanged and filter by credential, version and masked, also after a reopen', () =>
      withStore(async (harness) => {
        const masking = (response: Record<string, number>, request: Record<string, number> = {}) => ({
          profile: 'pii',
          request: { masked: request, delivered: false, recordedTruncated: false },
          response: { masked: response, delivered: true, recordedTruncated: false },
        });
        const secret = (name: string, version: string) => ({ target: 'orders-api', kind: 'secret' as const, secret: { name, version } });
        const records = [
          sessionRecord({ credential: secret('orders-token', 'v1:00000000000000aa'), masking: masking({ card: 2, email: 1 }) }, 0),
          sessionRecord({ credential: secret('orders-token', 'v1:00000000000000bb'), masking: masking({}, { email: 3 }), subject: 'bob' }, 1),
          sessionRecord({
            target: 'billing',
            credential: { target: 'billing', kind: 'oauth2', oauth2: { clientId: 'sluice', clientSecret: { name: 'billing-client', version: 'v1:00000000000000cc' }, expiresAt: T0 + 3_600_000, jti: 'tok-1' } },
            masking: masking({ card: 1 }),
          }, 2),
          sessionRecord({}, 3),
          sessionRecord({ credential: secret('orders-token', 'v1:00000000000000aa'), masking: masking({ 'order-id': 4 }) }, 4),
        ];
        for (const record of records) await harness.store.append(record);
        const at = (...which: number[]) => which.map((i) => records[i]!.id);
        const check = async (store: SessionStore) => {
          for (const record of records) assert.deepEqual(await store.get(record.id), record);
          assert.deepEqual(ids((await store.list({ credential: 'orders-token' })).records), at(4, 1, 0));
          assert.deepEqual(ids((await store.list({ credential: 'orders-token', version: 'v1:00000000000000aa' })).records), at(4, 0));
          assert.deepEqual(ids((await store.list({ version: 'v1:00000000000000bb' })).records), at(1));
          assert.deepEqual(ids((await store.list({ credential: 'billing-client' })).records), at(2), 'an OAuth2 client secret is a credential name too');
          assert.deepEqual(ids((await store.list({ masked: 'card' })).records), at(2, 0));
          assert.deepEqual(ids((await store.list({ masked: 'email' })).records), at(1, 0), 'either direction counts');
          assert.deepEqual(ids((await store.list({ masked: 'card', credential: 'orders-token' })).records), at(0));
          assert.deepEqual(ids((await store.list({ masked: 'ssn' })).records), []);
          assert.deepEqual(ids((await store.list({ credential: 'orders-token', subject: 'bob' })).records), at(1));
          assert.deepEqual(ids((await store.list({ credential: 'orders-token', from: T0 + 1000, to: T0 + 4000 })).records), at(1));
          assert.deepEqual(ids(await listAll(store, { credential: 'orders-token', limit: 1 })), at(4, 1, 0), 'pages with the filter');
        };
        await check(harness.store);
        await check(await harness.reopen());
        await assert.rejects(harness.store.append(sessionRecord({ credential: { target: 'x', kind: 'secret' } as never }, 9)), { code: 'ERR_SESSION_INVALID' });
        await assert.rejects(harness.store.list({ masked: 7 } as unknown as SessionFilter), { code: 'ERR_SESSION_INVALID' });
      }));

    decisionFilterTests(withStore);

    test('the masking report marks a body the store cut as recordedTruncated', () =>
      withStore(async ({ store }) => {
        const record = sessionRecord({
          request: { body: { text: '{}', bytes: 2, truncated: false } },
          response: { body: { text: 'x'.repeat(64), bytes: 64, truncated: false } },
          masking: { profile: 'pii', request: { masked: {}, delivered: false, recordedTruncated: false }, response: { masked: { card: 1 }, delivered: true, recordedTruncated: false } },
        });
        await store.append(record);
        const stored = await store.get(record.id);
        assert.equal(stored?.masking?.response.recordedTruncated, true);
        assert.equal(stored?.masking?.request.recordedTruncated, false);
      }, { maxBodyBytes: 16 }));

    test('header masking counts read back in order, also after a reopen, and a value masked only in headers is found by masked', () =>
      withStore(async (harness) => {
        const headerOnly = sessionRecord({
          masking: {
            profile: 'pii',
            request: { masked: {}, delivered: false, recordedTruncated: false, headers: { email: 1, card: 2 } },
            response: { masked: {}, delivered: true, recordedTruncated: false, headers: { 'employee-id': 1 } },
          },
        }, 0);
        const bodyOnly = sessionRecord({ masking: { profile: 'pii', request: { masked: {}, delivered: false, recordedTruncated: false }, response: { masked: { email: 1 }, delivered: true, recordedTruncated: false } } }, 1);
        await harness.store.append(headerOnly);
        await harness.store.append(bodyOnly);
        const check = async (store: SessionStore) => {
          const stored = await store.get(headerOnly.id);
          assert.deepEqual(stored, headerOnly);
          assert.deepEqual(Object.keys(stored?.masking?.request.headers ?? {}), ['email', 'card'], 'counts keep their order');
          assert.equal('headers' in (await store.get(bodyOnly.id))!.masking!.response, false, 'no headers entry where none was masked');
          assert.deepEqual(ids((await store.list({ masked: 'card' })).records), [headerOnly.id]);
          assert.deepEqual(ids((await store.list({ masked: 'employee-id' })).records), [headerOnly.id], 'response headers count too');
          assert.deepEqual(ids((await store.list({ masked: 'email' })).records), [bodyOnly.id, headerOnly.id]);
        };
        await check(harness.store);
        await check(await harness.reopen());
        const bad = sessionRecord({ masking: { profile: 'pii', request: { masked: {}, delivered: false, recordedTruncated: false, headers: { card: -1 } }, response: { masked: {}, delivered: true, recordedTruncated: false } } }, 2);
        await assert.rejects(harness.store.append(bad), { code: 'ERR_SESSION_INVALID' });
      }));

    test('version 1 records (written before the event shape) list, read and filter as version 2', () =>
      withStore(async (harness) => {
        const current = sessionRecord({}, 10);
        await harness.store.append(current);
        const old = [
          sessionRecordV1({}, 0),
          sessionRecordV1({ status: null, subject: 'bob', events: undefined, response: { headers: { 'content-type': 'text/plain' }, body: { text: 'par', bytes: 9, truncated: true } } }, 1),
          sessionRecordV1({ status: 403, decision: 'deny', events: undefined }, 2),
        ];
        const store = await harness.writeV1(old);
        const upgraded = old.map(upgradeRecord);
        for (const record of upgraded) assert.deepEqual(await store.get(record.id), record);
        assert.deepEqual(await listAll(store), newestFirst([current, ...upgraded]));
        assert.deepEqual(ids((await store.list({ outcome: 'incomplete' })).records), [old[1]!.id]);
        assert.deepEqual(ids((await store.list({ protocol: 'http', outcome: 'completed', subject: 'alice' })).records), ids(newestFirst([current, upgraded[0]!, upgraded[2]!])));

        const [first, cut, plain] = upgraded;
        assert.equal(first!.summary, 'POST /orders/0?expand=items → 201');
        assert.deepEqual(first!.events.map((e) => e.kind), ['http.request', 'body', 'http.response', 'body', 'end']);
        assert.deepEqual(httpResponseOf(first!), { at: T0 + 40, kind: 'http.response', status: 201, headers: old[0]!.response.headers, body: old[0]!.response.body });
        assert.equal(cut!.summary, 'POST /orders/1?expand=items → no response');
        assert.deepEqual(cut!.events.map((e) => e.kind), ['http.request', 'http.response', 'error']);
        assert.equal(httpResponseOf(cut!)?.status, undefined, 'version 1 did not keep the status of a cut exchange');
        assert.deepEqual(httpResponseOf(cut!)?.body, { text: 'par', bytes: 9, truncated: true }, 'what the caller got of the response is kept');
        assert.equal(plain!.outcome, 'completed');
        assert.equal(httpResponseOf(plain!)?.at, T0 + 2000 + 38.5, 'without events the response is placed at upstreamMs');
      }));

    test('list pages with cursors: every record once, in order, with and without filters; same-time ties ordered by id', () =>
      withStore(async ({ store }) => {
        const records: SessionRecord[] = [];
        for (let i = 0; i < 23; i += 1) records.push(sessionRecord({ subject: i % 3 === 0 ? 'alice' : 'bob' }, Math.floor(i / 4)));
        for (const record of records) await store.append(record);
        const first = await store.list({ limit: 5 });
        assert.equal(first.records.length, 5);
        assert.ok(first.nextCursor !== undefined);
        assert.deepEqual(ids(await listAll(store, { limit: 5 })), ids(newestFirst(records)));
        assert.deepEqual(ids(await listAll(store, { limit: 2, subject: 'alice' })), ids(newestFirst(records.filter((r) => r.subject === 'alice'))));
        assert.deepEqual(ids(await listAll(store, { limit: 23 })), ids(newestFirst(records)));
        const exact = await store.list({ limit: 23 });
        assert.equal(exact.nextCursor, undefined, 'no cursor when nothing is left');
      }));

    test('a bad limit or cursor is ERR_SESSION_INVALID', () =>
      withStore(async ({ store }) => {
        for (const filter of [{ limit: 0 }, { limit: 1001 }, { limit: 2.5 }, { cursor: 'garbage' }, { from: Number.NaN }] as SessionFilter[]) {
          await assert.rejects(store.list(filter), { code: 'ERR_SESSION_INVALID' }, JSON.stringify(filter));
        }
      }));

    test('1,000 records: all stored, listed in pages, filtered and read back', () =>
      withStore(async ({ store }) => {
        const records = Array.from({ length: 1000 }, (_, i) =>
          sessionRecord({ subject: `user-${i % 10}`, target: `target-${i % 7}`, request: { headers: { n: String(i) }, body: { text: `body ${i}`, bytes: `body ${i}`.length, truncated: false } } }, i),
        );
        for (let i = 0; i < records.length; i += 100) await Promise.all(records.slice(i, i + 100).map((r) => store.append(r)));
        const all = await listAll(store, { limit: 100 });
        assert.equal(all.length, 1000);
        assert.deepEqual(ids(all), ids(newestFirst(records)));
        const user3 = await listAll(store, { subject: 'user-3', limit: 1000 });
        assert.equal(user3.length, 100);
        const slice = await listAll(store, { target: 'target-2', from: T0 + 100_000, to: T0 + 200_000, limit: 7 });
        assert.deepEqual(ids(slice), ids(newestFirst(records.filter((r) => r.target === 'target-2' && r.startedAt >= T0 + 100_000 && r.startedAt < T0 + 200_000))));
        for (const i of [0, 499, 999]) assert.deepEqual(await store.get(records[i]!.id), records[i]);
      }));

    test('records survive close and reopen; the reopened store takes new appends; a closed store refuses', () =>
      withStore(async (harness) => {
        const records = Array.from({ length: 20 }, (_, i) => sessionRecord({}, i));
        for (const record of records) await harness.store.append(record);
        const closed = harness.store;
        const reopened = await harness.reopen();
        await assert.rejects(closed.get(records[0]!.id), { code: 'ERR_SESSION_STORE_UNAVAILABLE' });
        await assert.rejects(closed.append(sessionRecord()), { code: 'ERR_SESSION_STORE_UNAVAILABLE' });
        assert.deepEqual(await listAll(reopened), newestFirst(records));
        const later = sessionRecord({}, 100);
        await reopened.append(later);
        await reopened.append(records[3]!); // still idempotent across a reopen
        const again = await harness.reopen();
        assert.deepEqual(ids(await listAll(again)), ids(newestFirst([...records, later])));
      }));
  });
}
