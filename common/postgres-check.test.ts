import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodePostgresCheckResponse, encodePostgresCheckRequest, encodePostgresCheckResponse, isPostgresCheckRequest,
  readPostgresCheckRequest, type PostgresCheckResult,
} from './postgres-check.ts';

test('a statement check round-trips: context extensions, bearer header, body, source address', () => {
  const request = encodePostgresCheckRequest({
    phase: 'statement', target: 'orders-db', user: 'analyst', database: 'orders', token: 'tok', sessionId: 's-1',
    sourceAddress: '10.0.0.7', statement: { text: 'SELECT 1', kind: 'parse' }, holdBudgetMs: 2500.7,
  });
  assert.deepEqual(request.attributes.context_extensions, {
    sluice_protocol: 'postgres', sluice_target: 'orders-db', sluice_pg_phase: 'statement', sluice_pg_user: 'analyst',
    sluice_pg_database: 'orders', sluice_session_id: 's-1', sluice_hold_budget_ms: '2500', sluice_pg_statement_kind: 'parse',
  });
  assert.deepEqual(request.attributes.request.http, { headers: { authorization: 'Bearer tok' }, body: 'SELECT 1' });
  assert.ok(isPostgresCheckRequest(request));
  assert.deepEqual(readPostgresCheckRequest(request), {
    target: 'orders-db', phase: 'statement', user: 'analyst', database: 'orders', sessionId: 's-1', authorization: 'Bearer tok',
    sourceAddress: '10.0.0.7', statement: { text: 'SELECT 1', kind: 'parse' }, holdBudgetMs: 2500, problem: null,
  });
});

test('a login check has no statement kind and no body', () => {
  const request = encodePostgresCheckRequest({ phase: 'login', target: 't', user: 'u', database: 'd', token: 'x', sessionId: 's', holdBudgetMs: 0 });
  assert.equal(request.attributes.context_extensions.sluice_pg_statement_kind, undefined);
  assert.equal(request.attributes.request.http.body, undefined);
  assert.equal(request.attributes.source, undefined);
  const read = readPostgresCheckRequest(request);
  assert.equal(read.statement, null);
  assert.equal(read.problem, null);
});

test('a malformed request reads with a problem, never a throw', () => {
  assert.match(readPostgresCheckRequest({ attributes: { context_extensions: { sluice_protocol: 'postgres' } } }).problem!, /sluice_pg_phase/);
  assert.match(readPostgresCheckRequest({ attributes: { context_extensions: { sluice_pg_phase: 'login', sluice_pg_user: 'u' } } }).problem!, /database/);
  assert.equal(readPostgresCheckRequest({}).problem !== null, true);
  assert.equal(isPostgresCheckRequest({ attributes: { context_extensions: { target: 'demo-api' } } }), false);
});

/** As @grpc/proto-loader hands a Struct to a client (oneofs: true adds `kind`). */
function overTheWire(value: unknown): any {
  return JSON.parse(JSON.stringify(value, (_key, v) => {
    if (v && typeof v === 'object' && !Array.isArray(v) && !('fields' in v) && !('values' in v)) {
      const kind = ['stringValue', 'numberValue', 'boolValue', 'nullValue', 'listValue', 'structValue'].find((k) => k in v);
      if (kind) return { ...v, kind };
    }
    return v;
  }));
}

test('allow and deny round-trip, plain and as the gRPC client decodes them', () => {
  const allow: PostgresCheckResult = {
    allowed: true, subject: 'alice', issuer: 'dev', groups: ['eng'], rule: 'p/read', masking: null, expiresAt: 1_900_000_000_000,
    approvalId: 'a-1', approvalWaitMs: 1200, startedAt: 1_800_000_000_000,
    statement: [{ class: 'read', command: 'SELECT', tables: ['public.users'] }, { class: 'session', command: 'SET', tables: [] }],
  };
  const deny: PostgresCheckResult = { allowed: false, code: 'ERR_STATEMENT_DENIED', sqlstate: '42501', message: 'no', subject: 'alice', issuer: 'dev', approvalId: 'a-2' };
  for (const result of [allow, deny]) {
    const encoded = encodePostgresCheckResponse(result);
    assert.deepEqual(decodePostgresCheckResponse(encoded), result);
    assert.deepEqual(decodePostgresCheckResponse(overTheWire(encoded)), result);
  }
  assert.equal(encodePostgresCheckResponse(allow).status.code, 0);
  assert.equal(encodePostgresCheckResponse(deny).status.code, 7);
  assert.equal(encodePostgresCheckResponse(deny, { unauthenticated: true }).status.code, 16);
  const login: PostgresCheckResult = { allowed: true, subject: 'bob', issuer: 'dev', groups: [], rule: 'p/database', masking: 'pii', approvalId: null };
  assert.deepEqual(decodePostgresCheckResponse(encodePostgresCheckResponse(login)), login);
});

test('anything malformed decodes as a denial with ERR_DB_CHECK_INVALID and SQLSTATE 08006 (fail closed)', () => {
  const allow = encodePostgresCheckResponse({ allowed: true, subject: 'a', issuer: 'dev', groups: [], rule: 'p/r', masking: null, approvalId: null });
  const deny = encodePostgresCheckResponse({ allowed: false, code: 'ERR_STATEMENT_DENIED', sqlstate: '42501', message: 'm' });
  const field = (struct: any, key: string, value: unknown) => ({ ...struct, dynamic_metadata: { fields: { ...struct.dynamic_metadata.fields, [key]: value } } });
  const cases: unknown[] = [
    undefined,
    null,
    {},
    { status: { code: 0 } },
    { ...allow, status: { code: 7 } }, // a refusal carrying allow metadata
    { ...deny, status: { code: 0 } }, // OK carrying deny metadata
    field(allow, 'v', { numberValue: 2 }), // version 2 without db_roles
    field(allow, 'protocol', { stringValue: 'http' }),
    field(allow, 'subject', { stringValue: '' }),
    field(allow, 'groups', { stringValue: 'eng' }),
    field(allow, 'statements', { listValue: { values: [{ structValue: { fields: { class: { stringValue: 'root' } } } }] } }),
    field(deny, 'sqlstate', { stringValue: '4250' }),
    field(deny, 'code', { stringValue: 'denied' }),
  ];
  for (const response of cases) {
    const result = decodePostgresCheckResponse(response as any);
    assert.equal(result.allowed, false, JSON.stringify(response));
    if (!result.allowed) {
      assert.equal(result.code, 'ERR_DB_CHECK_INVALID');
      assert.equal(result.sqlstate, '08006');
    }
  }
});

test('a deny message is made safe for the client: no control characters, bounded', () => {
  const encoded = encodePostgresCheckResponse({ allowed: false, code: 'ERR_X', sqlstate: '42501', message: `a\r\nb${'x'.repeat(5000)}` });
  const result = decodePostgresCheckResponse(encoded);
  assert.ok(!result.allowed);
  assert.ok(!result.allowed && result.message.startsWith('a  b') && result.message.length === 1000);
});

test('granted roles ride as version 2; without them the wire stays version 1', () => {
  const plain: PostgresCheckResult = { allowed: true, subject: 'bob', issuer: 'dev', groups: [], rule: 'p/database', masking: null, approvalId: null };
  const granted: PostgresCheckResult = { ...plain, grantedRoles: ['readonly', 'reporting'] };
  const v = (r: PostgresCheckResult) => (encodePostgresCheckResponse(r).dynamic_metadata as any).fields.v.numberValue;
  assert.equal(v(plain), 1);
  assert.equal(v(granted), 2);
  assert.deepEqual(decodePostgresCheckResponse(overTheWire(encodePostgresCheckResponse(granted))), granted);
  // An empty grant is still a grant (the processor then refuses a minting login).
  assert.deepEqual(decodePostgresCheckResponse(encodePostgresCheckResponse({ ...plain, grantedRoles: [] })), { ...plain, grantedRoles: [] });
});

test('granted roles in any shape the reader does not know fail closed', () => {
  const allow = encodePostgresCheckResponse({ allowed: true, subject: 'a', issuer: 'dev', groups: [], rule: 'p/database', masking: null, approvalId: null, grantedRoles: ['readonly'] });
  const v1 = encodePostgresCheckResponse({ allowed: true, subject: 'a', issuer: 'dev', groups: [], rule: 'p/database', masking: null, approvalId: null });
  const field = (struct: any, key: string, value: unknown) => ({ ...struct, dynamic_metadata: { fields: { ...struct.dynamic_metadata.fields, [key]: value } } });
  const list = (...values: unknown[]) => ({ listValue: { values } });
  const cases = [
    field(v1, 'db_roles', list({ stringValue: 'readonly' })), // roles in a version 1 answer
    field(allow, 'db_roles', { nullValue: 'NULL_VALUE' }), // v2 without a list
    field(allow, 'db_roles', list({ stringValue: 'Read Only' })),
    field(allow, 'db_roles', list({ stringValue: 'x"; DROP ROLE y; --' })),
    field(allow, 'db_roles', list({ numberValue: 1 })),
    field(allow, 'db_roles', list(...Array.from({ length: 65 }, (_, i) => ({ stringValue: `r${i}` })))),
    field(allow, 'v', { numberValue: 3 }),
    { ...allow, status: { code: 7 } },
  ];
  for (const response of cases) {
    const result = decodePostgresCheckResponse(response);
    assert.ok(!result.allowed && result.code === 'ERR_DB_CHECK_INVALID', JSON.stringify(response));
  }
  // A reader from before session roles accepted only v 1: this answer is one it refuses.
  assert.equal((allow.dynamic_metadata as any).fields.v.numberValue, 2);
});
