import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PgStatementEvent, RedisCommandEvent, SessionEvent, SessionFilter, SessionRecord, SessionStore } from './types.ts';
import type { SessionStoreHarness } from './store-suite.ts';
import { listAll, sessionRecord, T0 } from './store-suite.ts';

/** A database statement event for test records. */
export function pgStatement(at: number, extra: Partial<PgStatementEvent> = {}): PgStatementEvent {
  return { at, kind: 'pg.statement', protocol: 'simple', text: 'SELECT 1', outcome: 'ok', durationMs: 1, rows: 1, tag: 'SELECT 1', ...extra };
}

/** A postgres session record whose events are `statements` then an end. */
export function pgSession(n: number, overrides: Partial<SessionRecord>, statements: (at: number) => SessionEvent[]): SessionRecord {
  const at = T0 + n * 1000;
  return sessionRecord({ protocol: 'postgres', target: 'orders-db', summary: 'app@orders: statements', ...overrides, events: [...statements(at), { at: at + 30, kind: 'end', reason: 'client closed' }] }, n);
}

/** A redis session record: a login, one command (its outcome and code from `command`), an end. */
export function redisSession(n: number, command: Partial<RedisCommandEvent>, overrides: Partial<SessionRecord> = {}): SessionRecord {
  const at = T0 + n * 1000;
  return sessionRecord({
    protocol: 'redis', target: 'cache', rule: 'workers/redis', summary: '1 command', ...overrides,
    events: [
      { at, kind: 'redis.login', outcome: 'ok', subject: 'alice', issuer: 'dev' },
      { at: at + 1, kind: 'redis.command', command: 'GET', keys: ['jobs:1'], args: 1, bytes: 24, outcome: 'sent', ...command },
      { at: at + 30, kind: 'end' },
    ],
  }, n);
}

/**
 * The decision filters (rule, approval, refusals) of the shared store suite: every store answers
 * them alike, also after a reopen (the file store rebuilds its index from the lines then).
 */
export function decisionFilterTests(withStore: (run: (h: SessionStoreHarness) => Promise<void>) => Promise<void>): void {
  test('list: filtered by the rule that decided, exactly or by policy/*, also after a reopen', () =>
    withStore(async (harness) => {
      const records = [
        sessionRecord({ rule: 'prod/allow-orders' }, 0),
        sessionRecord({ rule: 'prod/allow-billing', subject: 'bob' }, 1),
        pgSession(2, { rule: 'prod/db-read' }, (at) => [pgStatement(at + 1)]),
        pgSession(3, { rule: 'staging/db-write' }, (at) => [pgStatement(at + 1)]),
        sessionRecord({ rule: 'prodx/allow-orders' }, 4),
        pgSession(5, { rule: '', decision: 'deny', outcome: 'refused', summary: 'app@orders: login refused' }, () => []),
      ];
      for (const record of records) await harness.store.append(record);
      const at = (...which: number[]) => which.map((i) => records[i]!.id);
      const check = async (store: SessionStore) => {
        const list = async (filter: SessionFilter) => (await store.list(filter)).records.map((r) => r.id);
        assert.deepEqual(await list({ rule: 'prod/allow-orders' }), at(0));
        assert.deepEqual(await list({ rule: 'prod/*' }), at(2, 1, 0), 'every rule of the policy, not prodx');
        assert.deepEqual(await list({ rule: 'prodx/*' }), at(4));
        assert.deepEqual(await list({ rule: 'staging/db-write' }), at(3));
        assert.deepEqual(await list({ rule: 'prod/allow' }), [], 'exact, not a prefix');
        assert.deepEqual(await list({ rule: 'nope/*' }), []);
        assert.deepEqual(await list({ rule: 'prod/*', protocol: 'postgres' }), at(2));
        assert.deepEqual(await list({ rule: 'prod/*', subject: 'bob' }), at(1));
        assert.deepEqual(await list({ rule: 'prod/*', from: T0 + 1000 }), at(2, 1));
        assert.deepEqual((await listAll(store, { rule: 'prod/*', limit: 1 })).map((r) => r.id), at(2, 1, 0), 'pages with the filter');
      };
      await check(harness.store);
      await check(await harness.reopen());
      for (const rule of ['prod', 'prod/', '/x', '*', '*/*', 'prod/allow-*', 'pr*/x', 7]) {
        await assert.rejects(harness.store.list({ rule } as unknown as SessionFilter), { code: 'ERR_SESSION_INVALID' }, String(rule));
      }
    }));

  test('list: filtered by approval (an approval event, or a statement with an approvalId) and by refused statements or Redis commands', () =>
    withStore(async (harness) => {
      const records = [
        sessionRecord({}, 0),
        sessionRecord({ subject: 'bob', events: [{ at: T0 + 1000, kind: 'approval', approvalId: 'ap-1', waitMs: 900 }, ...sessionRecord({}, 1).events] }, 1),
        pgSession(2, {}, (at) => [pgStatement(at + 1), pgStatement(at + 2, { text: 'DELETE FROM orders', approvalId: 'ap-2', tag: 'DELETE 3' })]),
        pgSession(3, {}, (at) => [pgStatement(at + 1, { text: 'DROP TABLE orders', outcome: 'refused', code: 'ERR_STATEMENT_DENIED', error: { sqlstate: '42501', message: 'refused' } })]),
        pgSession(4, { subject: 'bob' }, (at) => [
          pgStatement(at + 1, { outcome: 'error', error: { sqlstate: '42P01', message: 'no such table' } }),
          pgStatement(at + 2, { outcome: 'refused', code: 'ERR_APPROVAL_DENIED', approvalId: 'ap-3' }),
        ]),
        pgSession(5, {}, (at) => [pgStatement(at + 1, { outcome: 'skipped' }), pgStatement(at + 2, { outcome: 'cut' })]),
        redisSession(6, { command: 'CONFIG', keys: [], outcome: 'refused', code: 'ERR_REDIS_COMMAND_DENIED' }),
        redisSession(7, { outcome: 'error', error: 'WRONGTYPE' }),
      ];
      for (const record of records) await harness.store.append(record);
      const at = (...which: number[]) => which.map((i) => records[i]!.id);
      const check = async (store: SessionStore) => {
        const list = async (filter: SessionFilter) => (await store.list(filter)).records.map((r) => r.id);
        assert.deepEqual(await list({ approval: true }), at(4, 2, 1));
        assert.deepEqual(await list({ approval: false }), at(7, 6, 5, 3, 0));
        assert.deepEqual(await list({ refusals: true }), at(6, 4, 3), 'a statement error or a skipped statement is no refusal; a refused Redis command is one');
        assert.deepEqual(await list({ refusals: false }), at(7, 5, 2, 1, 0));
        assert.deepEqual(await list({ refusals: true, protocol: 'redis' }), at(6));
        assert.deepEqual(await list({ approval: true, refusals: true }), at(4));
        assert.deepEqual(await list({ approval: true, subject: 'bob' }), at(4, 1));
        assert.deepEqual(await list({ refusals: false, protocol: 'postgres' }), at(5, 2));
        assert.deepEqual(await list({ approval: true, to: T0 + 4000 }), at(2, 1));
        assert.deepEqual((await listAll(store, { approval: true, limit: 2 })).map((r) => r.id), at(4, 2, 1), 'pages with the filter');
        for (const record of records) assert.deepEqual(await store.get(record.id), record);
      };
      await check(harness.store);
      await check(await harness.reopen());
      for (const filter of [{ approval: 'yes' }, { refusals: 1 }, { approval: null }] as unknown as SessionFilter[]) {
        await assert.rejects(harness.store.list(filter), { code: 'ERR_SESSION_INVALID' }, JSON.stringify(filter));
      }
    }));
}
