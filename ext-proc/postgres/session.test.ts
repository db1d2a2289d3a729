import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { capturedLogger } from '../../test/harness/log-capture.ts';
import type { SessionRecord } from '../sessions/types.ts';
import type { PgAuthorizer, PgLoginRequest, PgStatementRequest, PgVerdict } from './authorizer.ts';
import type { NetworkResponse } from './outbox.ts';
import { PgSession, type PgSessionSettings } from './session.ts';
import { AUTH, encodeAuthentication, encodeCommandComplete, encodeDataRow, encodeReadyForQuery, encodeRowDescription, encodeParameterStatus } from './wire/backend.ts';
import { encodeExecute, encodeParse, encodeBind, encodePassword, encodeQuery, encodeStartupMessage, encodeSync, encodeTerminate } from './wire/frontend.ts';
import { Framer } from './wire/framer.ts';
import { SSL_REQUEST_CODE } from './wire/framer.ts';

const SETTINGS: PgSessionSettings = {
  maxMessageBytes: 1 << 20, statementCacheMs: 5000, recheckMs: 0, expiryGraceMs: 0, holdBudgetMs: 0,
  respondWithinMs: 50, maxRecordedStatements: 100, maxStatementBytes: 1024, allowCleartextUpstream: false,
};

const ALLOW: PgVerdict = { allowed: true, subject: 'alice', issuer: 'dev', groups: ['engineering'], rule: 'p/database', masking: null, expiresAt: Date.now() + 3_600_000, approvalId: null, approvalWaitMs: undefined, startedAt: Date.now() };

class FakeAuthorizer implements PgAuthorizer {
  logins: PgLoginRequest[] = [];
  statements: PgStatementRequest[] = [];
  constructor(private readonly decide: (text: string) => PgVerdict = () => ALLOW, private readonly loginVerdict: PgVerdict = ALLOW) {}
  async login(request: PgLoginRequest) { this.logins.push(request); return this.loginVerdict; }
  async statement(request: PgStatementRequest) { this.statements.push(request); return this.decide(request.text); }
}

function sslRequest(): Buffer {
  const b = Buffer.alloc(8);
  b.writeInt32BE(8, 0);
  b.writeInt32BE(SSL_REQUEST_CODE, 4);
  return b;
}

/** Plays Envoy: hands chunks to the session and collects what it sends, by direction. */
function harness(authorizer: PgAuthorizer) {
  const responses: NetworkResponse[] = [];
  const records: SessionRecord[] = [];
  const session = new PgSession({
    target: 'db', authorizer, settings: SETTINGS, logger: capturedLogger('pg').logger, sourceAddress: undefined,
    credential: async (_t, user) => ({ user, password: 'real-db-password', secret: { name: 'db', version: 'v1' } }),
    maskers: () => null,
    record: (r) => records.push(r),
  }, (r) => responses.push(r));
  const sent = (dir: 'read' | 'write') => Buffer.concat(responses.flatMap((r) => (dir === 'read' ? r.read_data : r.write_data)?.data ?? []));
  const types = (dir: 'read' | 'write') => new Framer({ startup: false, maxMessageBytes: 1 << 20 }).push(sent(dir)).map((f) => String.fromCharCode(f.type));
  return { session, responses, records, sent, types, reset: () => { responses.length = 0; } };
}

async function login(h: ReturnType<typeof harness>): Promise<void> {
  await h.session.onClientData(sslRequest(), false);
  assert.equal(h.sent('write').toString(), 'N');
  h.reset();
  await h.session.onClientData(encodeStartupMessage(new Map([['user', 'app'], ['database', 'appdb'], ['application_name', 'unit']])), false);
  assert.deepEqual(h.types('write'), ['R']);
  h.reset();
  await h.session.onClientData(encodePassword('the-token'), false);
  // The gateway's own StartupMessage went to the server; the server trusts it (no password asked).
  await h.session.onServerData(Buffer.concat([encodeAuthentication(AUTH.Ok), encodeParameterStatus('server_version', '15'), encodeReadyForQuery('I')]), false);
  h.reset();
}

describe('PgSession', () => {
  test('login: SSL declined, cleartext password asked, the token checked, the server logged in with the gateway\'s own StartupMessage', async () => {
    const authorizer = new FakeAuthorizer();
    const h = harness(authorizer);
    await h.session.onClientData(sslRequest(), false);
    await h.session.onClientData(encodeStartupMessage(new Map([['user', 'app'], ['database', 'appdb'], ['options', '-c x=y']])), false);
    // `options` is refused: it could set anything on the server.
    assert.match(h.sent('write').toString(), /options/);
    assert.equal(h.responses.at(-1)?.connection_status, 'CLOSE');
    assert.equal(authorizer.logins.length, 0);

    const ok = harness(authorizer);
    await login(ok);
    assert.equal(authorizer.logins.at(-1)?.token, 'the-token');
    assert.equal(authorizer.logins.at(-1)?.user, 'app');
  });

  test('every chunk gets exactly one response in its own direction, with its bytes', async () => {
    const h = harness(new FakeAuthorizer());
    await login(h);
    const query = encodeQuery('select 1');
    await h.session.onClientData(query, false);
    assert.equal(h.responses.length, 1);
    assert.deepEqual(h.responses[0]!.read_data?.data, query);
    h.reset();
    const rows = Buffer.concat([encodeRowDescription([{ name: 'a', tableOid: 0, attribute: 0, typeOid: 23, typeSize: 4, typeModifier: -1, format: 0 }]), encodeDataRow([Buffer.from('1')]), encodeCommandComplete('SELECT 1'), encodeReadyForQuery('I')]);
    // Split at an awkward place: the bytes still all pass, in order.
    await h.session.onServerData(rows.subarray(0, 13), false);
    await h.session.onServerData(rows.subarray(13), false);
    assert.equal(h.responses.length, 2);
    assert.deepEqual(h.sent('write'), rows);
  });

  test('a refused Query is replaced by a statement that makes the server raise the refusal; Parse/Bind of a refused statement follow it', async () => {
    const authorizer = new FakeAuthorizer((text) => (/drop/i.test(text) ? { allowed: false, code: 'ERR_STATEMENT_DENIED', sqlstate: '42501', message: "ddl is not allowed for alice" } : ALLOW));
    const h = harness(authorizer);
    await login(h);
    await h.session.onClientData(encodeQuery('drop table t'), false);
    const sent = h.sent('read').toString();
    assert.doesNotMatch(sent, /drop table/);
    assert.match(sent, /RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = 'ddl is not allowed for alice'/);
    h.reset();
    await h.session.onClientData(Buffer.concat([
      encodeParse({ statement: '', query: 'drop table t where $1', paramTypes: [23] }),
      encodeBind({ portal: '', statement: '', paramFormats: [], params: [Buffer.from('1')], resultFormats: [] }),
      encodeExecute(''), encodeSync(),
    ]), false);
    assert.deepEqual(h.types('read'), ['P', 'B', 'E', 'S']);
    assert.doesNotMatch(h.sent('read').toString(), /drop table/);
    // The rewritten Bind carries no parameters (the refusal statement takes none).
    const bind = new Framer({ startup: false, maxMessageBytes: 1 << 20 }).push(h.sent('read'))[1]!;
    assert.equal(bind.payload.length, 2 + 2 + 2 + 2);
    h.reset();
    await h.session.onClientData(encodeTerminate(), false);
    h.session.closed(false);
    const record = h.records[0]!;
    assert.equal(record.protocol, 'postgres');
    assert.equal(record.outcome, 'completed');
    const statements = record.events.filter((e) => e.kind === 'pg.statement');
    assert.equal(statements.length, 2);
    assert.ok(statements.every((e) => (e as any).outcome === 'refused' || (e as any).outcome === 'cut'));
    assert.ok(!JSON.stringify(record).includes('real-db-password'));
    assert.ok(!JSON.stringify(record).includes('the-token'));
  });

  test('a refused login is a FATAL ErrorResponse and a close, never a dropped connection', async () => {
    const h = harness(new FakeAuthorizer(undefined, { allowed: false, code: 'ERR_TOKEN_EXPIRED', sqlstate: '28P01', message: 'the token expired' }));
    await h.session.onClientData(encodeStartupMessage(new Map([['user', 'app'], ['database', 'appdb']])), false);
    h.reset();
    await h.session.onClientData(encodePassword('old-token'), false);
    const text = h.sent('write').toString();
    assert.match(text, /FATAL/);
    assert.match(text, /28P01/);
    assert.match(text, /the token expired/);
    assert.equal(h.responses.at(-1)?.connection_status, 'CLOSE');
    h.session.closed(false);
    assert.equal(h.records[0]!.outcome, 'refused');
  });

  test('a client that pipelines a query before the login completes is refused before anything reaches the server', async () => {
    const h = harness(new FakeAuthorizer());
    await h.session.onClientData(encodeStartupMessage(new Map([['user', 'app'], ['database', 'appdb']])), false);
    h.reset();
    await h.session.onClientData(Buffer.concat([encodePassword('t'), encodeQuery('select secret')]), false);
    assert.doesNotMatch(h.sent('read').toString(), /select secret/);
    assert.match(h.sent('write').toString(), /08P01/);
  });
});

describe('PgSession with per-session roles', () => {
  class FakeMinter {
    minted: unknown[] = [];
    released: [string, string][] = [];
    constructor(private readonly fail?: Error) {}
    async mint(request: { sessionId: string; database: string; granted: readonly string[] | undefined; expiresAt: number | undefined }) {
      if (this.fail) throw this.fail;
      this.minted.push(request);
      return { name: 'sluice_00aa', password: 'minted-password-never-recorded', granted: [...request.granted!], validUntil: request.expiresAt!, database: request.database };
    }
    release(role: { name: string }, reason: string) { this.released.push([role.name, reason]); }
  }
  function rolesHarness(minter: FakeMinter) {
    const responses: NetworkResponse[] = [];
    const records: SessionRecord[] = [];
    const logs = capturedLogger('pg');
    const session = new PgSession({
      target: 'db', authorizer: new FakeAuthorizer(() => ALLOW, { ...(ALLOW as Extract<PgVerdict, { allowed: true }>), grantedRoles: ['readonly'] }), settings: SETTINGS, logger: logs.logger, sourceAddress: undefined,
      credential: async () => { throw new Error('a minting target never asks for the static credential'); },
      sessionRoles: minter, maskers: () => null, record: (r) => records.push(r),
    }, (r) => responses.push(r));
    const sent = (dir: 'read' | 'write') => Buffer.concat(responses.flatMap((r) => (dir === 'read' ? r.read_data : r.write_data)?.data ?? []));
    return { session, responses, records, sent, logs };
  }

  test('the login mints a role with the verdict\'s grant and logs in upstream as it; the record names it, never its password; the end releases it once', async () => {
    const minter = new FakeMinter();
    const h = rolesHarness(minter);
    await h.session.onClientData(encodeStartupMessage(new Map([['user', 'analyst'], ['database', 'orders']])), false);
    await h.session.onClientData(encodePassword('the-token'), false);
    assert.deepEqual(minter.minted, [{ sessionId: (minter.minted[0] as any).sessionId, database: 'orders', granted: ['readonly'], expiresAt: ALLOW.allowed && ALLOW.expiresAt }]);
    // The gateway's StartupMessage names the minted role, not the client's db user.
    assert.match(h.sent('read').toString('latin1'), /user\0sluice_00aa\0database\0orders\0/);
    await h.session.onServerData(Buffer.concat([encodeAuthentication(AUTH.Ok), encodeReadyForQuery('I')]), false);
    await h.session.onClientData(encodeTerminate(), false);
    h.session.closed(false);
    h.session.closed(false);
    assert.deepEqual(minter.released, [['sluice_00aa', 'the session ended']]);
    const login = h.records[0]!.events.find((e) => e.kind === 'pg.login') as any;
    assert.equal(login.upstreamUser, 'sluice_00aa');
    assert.deepEqual(login.sessionRole, { granted: ['readonly'], validUntil: ALLOW.allowed && ALLOW.expiresAt });
    assert.equal(h.records[0]!.credential, undefined);
    assert.doesNotMatch(JSON.stringify(h.records) + h.logs.text(), /minted-password-never-recorded/);
  });

  test('a mint that fails refuses the login with a FATAL of its code, and a refused upstream login releases the role', async () => {
    const { SessionRoleError } = await import('./session-roles/errors.ts');
    const down = rolesHarness(new FakeMinter(new SessionRoleError('ERR_PG_ROLE_ADMIN_UNAVAILABLE', 'connect ECONNREFUSED 10.0.0.1:5432')));
    await down.session.onClientData(encodeStartupMessage(new Map([['user', 'analyst'], ['database', 'orders']])), false);
    await down.session.onClientData(encodePassword('the-token'), false);
    const fatal = down.sent('write').toString('latin1');
    assert.match(fatal, /FATAL/);
    assert.match(fatal, /C08004\0/);
    assert.match(fatal, /admin connection to the database is unavailable/);
    assert.doesNotMatch(fatal, /10\.0\.0\.1/); // the detail is for the log
    assert.equal(down.responses.at(-1)?.connection_status, 'CLOSE');
    assert.equal(down.sent('read').length, 0);

    const minter = new FakeMinter();
    const refused = rolesHarness(minter);
    await refused.session.onClientData(encodeStartupMessage(new Map([['user', 'analyst'], ['database', 'orders']])), false);
    await refused.session.onClientData(encodePassword('the-token'), false);
    const { encodeErrorResponse } = await import('./wire/backend.ts');
    await refused.session.onServerData(encodeErrorResponse({ severity: 'FATAL', sqlstate: '28P01', message: 'password authentication failed' }), false);
    assert.deepEqual(minter.released.map(([name]) => name), ['sluice_00aa']);
  });
});
