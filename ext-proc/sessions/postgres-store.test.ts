import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { silentLogger } from '../../common/logger.ts';
import { PostgresSessionStore, type PostgresSessionStoreOptions } from './postgres-store.ts';
import { listAll, sessionRecord, sessionRecordV1, sessionStoreSuite, T0 } from './store-suite.ts';
import { pgSession, pgStatement, redisSession } from './store-suite-decision.ts';
import type { SessionFilter, SessionRecord } from './types.ts';
import { upgradeRecord, type SessionRecordV1 } from './upgrade-record.ts';
import { tcpProxy } from '../../test/harness/tcp-proxy.ts';
import { chainKey } from './chain.ts';
import { verifyChains } from './chain-verify.ts';
import { chainStoreSuite } from './chain-suite.ts';

const DATABASE_URL = process.env.SLUICE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** Every schema this run creates starts with this, so the run can find and drop exactly its own. */
const RUN_PREFIX = `sluice_test_${randomUUID().slice(0, 8)}_`;
let schemas = 0;

function options(overrides: Partial<PostgresSessionStoreOptions> = {}): PostgresSessionStoreOptions {
  return { connectionString: DATABASE_URL, schema: `${RUN_PREFIX}${++schemas}`, logger: silentLogger(), ...overrides };
}

async function admin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

after(async () => {
  await admin(async (client) => {
    const found = await client.query<{ nspname: string }>('SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)', [RUN_PREFIX]);
    for (const { nspname } of found.rows) await client.query(`DROP SCHEMA "${nspname}" CASCADE`);
    const left = await client.query('SELECT 1 FROM pg_namespace WHERE starts_with(nspname, $1)', [RUN_PREFIX]);
    assert.equal(left.rowCount, 0, 'the run left schemas behind');
  });
});

sessionStoreSuite('PostgresSessionStore', async (policy = {}) => {
  const shared = options(policy);
  let store = await PostgresSessionStore.connect(shared);
  return {
    get store() {
      return store;
    },
    reopen: async () => {
      await store.close();
      store = await PostgresSessionStore.connect(shared);
      return store;
    },
    close: () => store.close(),
    writeV1: async (records) => {
      await insertV1(shared.schema!, records);
      return store;
    },
  };
});

chainStoreSuite('PostgresSessionStore', async () => {
  const shared = options();
  const table = `"${shared.schema}".sluice_sessions`;
  const keyOf = (key?: Buffer) => (key === undefined ? {} : { chainKey: key });
  // Migrated before any writer: the tampering helpers may run first.
  await (await PostgresSessionStore.connect(shared)).close();
  return {
    concurrentWriters: true,
    recordsHead: true,
    writer: (o = {}) => PostgresSessionStore.connect({ ...shared, ...keyOf(o.chainKey) }),
    writeUnchained: async (records) => {
      const v2 = records.filter((r): r is SessionRecord => 'protocol' in r);
      const v1 = records.filter((r): r is SessionRecordV1 => !('protocol' in r));
      if (v1.length > 0) await insertV1(shared.schema!, v1);
      if (v2.length === 0) return;
      // As a replica from before 005 writes them: no chain columns, no partition.
      const store = await PostgresSessionStore.connect(shared);
      for (const record of v2) await store.append(record);
      await store.close();
      await admin(async (client) => {
        await client.query(`UPDATE ${table} SET chain_partition = NULL, chain_seq = NULL, chain_prev = NULL, chain_hash = NULL WHERE id = ANY($1::uuid[])`, [v2.map((r) => r.id)]);
        await client.query(`DELETE FROM "${shared.schema}".sluice_session_chains WHERE partition = $1`, [store.partition]);
      });
    },
    alterSubject: (id, subject) => admin(async (client) => void (await client.query(`UPDATE ${table} SET subject = $2 WHERE id = $1`, [id, subject]))),
    remove: (id) => admin(async (client) => void (await client.query(`DELETE FROM ${table} WHERE id = $1`, [id]))),
    swap: (a, b) => admin(async (client) => {
      await client.query('BEGIN');
      await client.query(`UPDATE ${table} SET chain_seq = -chain_seq WHERE id = ANY($1::uuid[])`, [[a, b]]);
      await client.query(`UPDATE ${table} t SET chain_seq = -(SELECT o.chain_seq FROM ${table} o WHERE o.id = CASE WHEN t.id = $1::uuid THEN $2::uuid ELSE $1::uuid END) WHERE t.id = ANY(ARRAY[$1::uuid, $2::uuid])`, [a, b]);
      await client.query('COMMIT');
    }),
    verify: async (o = {}) => {
      const reader = await PostgresSessionStore.connect({ ...shared, readOnly: true });
      try {
        return await verifyChains(reader.chainSource(), o.chainKey === undefined ? {} : { keys: [chainKey(o.chainKey)] });
      } finally {
        await reader.close();
      }
    },
    close: async () => undefined,
  };
});

/** Rows as a version 1 replica inserts them: the 001 columns only. */
async function insertV1(schema: string, records: readonly SessionRecordV1[]): Promise<void> {
  await admin(async (client) => {
    for (const r of records) {
      await client.query(
        `INSERT INTO "${schema}".sluice_sessions (id, request_id, subject, issuer, target, rule, decision, method, path, status, started_at, ended_at, timings, request, response, events)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
        [
          r.id, r.requestId, r.subject, r.issuer, r.target, r.rule, r.decision, r.method, r.path, r.status, new Date(r.startedAt), new Date(r.endedAt), JSON.stringify(r.timings),
          JSON.stringify({ headers: Object.entries(r.request.headers), body: r.request.body }), JSON.stringify({ headers: Object.entries(r.response.headers), body: r.response.body }),
          r.events === undefined ? null : JSON.stringify(r.events),
        ],
      );
    }
  });
}

/** Applies only the sessions migrations `keep` selects: the database as an older version (or a replica without some) left it. */
async function migrateOnly(schema: string, keep: (m: { version: string }) => boolean): Promise<void> {
  const { loadMigrations, migrate } = await import('./migrate.ts');
  const all = await loadMigrations(new URL('./migrations/', import.meta.url));
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
  try {
    await migrate(pool, { schema, component: 'sessions', migrations: all.filter(keep), logger: silentLogger() });
  } finally {
    await pool.end();
  }
}

describe('PostgresSessionStore migrations and outages', () => {
  test('replicas starting together apply the migration once (advisory lock); a restart applies nothing', async () => {
    const shared = options();
    const replicas = await Promise.all(Array.from({ length: 4 }, () => PostgresSessionStore.connect(shared)));
    await Promise.all(replicas.map((r) => r.close()));
    const again = await PostgresSessionStore.connect(shared);
    await again.close();
    await admin(async (client) => {
      const applied = await client.query(`SELECT component, version FROM "${shared.schema}".sluice_schema_migrations`);
      assert.deepEqual(applied.rows, [{ component: 'sessions', version: '001_sessions' }, { component: 'sessions', version: '002_session_events' }, { component: 'sessions', version: '003_session_audit' }, { component: 'sessions', version: '004_session_decision' }, { component: 'sessions', version: '005_session_chain' }, { component: 'sessions', version: '006_session_refusals_redis' }]);
      const indexes = await client.query<{ indexname: string }>('SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY indexname', [shared.schema, 'sluice_sessions']);
      assert.deepEqual(indexes.rows.map((r) => r.indexname), [
        'sluice_sessions_approval_idx', 'sluice_sessions_chain_idx', 'sluice_sessions_credential_idx', 'sluice_sessions_credential_version_idx', 'sluice_sessions_masked_idx',
        'sluice_sessions_outcome_idx', 'sluice_sessions_pkey', 'sluice_sessions_protocol_idx', 'sluice_sessions_refusals_idx', 'sluice_sessions_rule_idx', 'sluice_sessions_rule_policy_idx',
        'sluice_sessions_started_idx', 'sluice_sessions_subject_idx', 'sluice_sessions_target_idx',
      ]);
    });
  });

  test('002 backfills the rows 001 holds: they list, filter and read as version 2', async () => {
    const shared = options();
    // The database as version 1 left it: only 001 applied, rows in the old shape.
    await migrateOnly(shared.schema!, (m) => m.version === '001_sessions');
    const old = [sessionRecordV1({}, 0), sessionRecordV1({ status: null, events: undefined }, 1)];
    await insertV1(shared.schema!, old);
    const store = await PostgresSessionStore.connect(shared);
    try {
      assert.deepEqual(await listAll(store), old.map(upgradeRecord).reverse());
      assert.deepEqual((await store.list({ outcome: 'incomplete' })).records.map((r) => r.id), [old[1]!.id]);
      assert.deepEqual((await store.list({ protocol: 'http', outcome: 'completed' })).records.map((r) => r.id), [old[0]!.id]);
      const current = sessionRecord({}, 5);
      await store.append(current);
      await admin(async (client) => {
        const row = await client.query(`SELECT version, method, path, status, timings, request FROM "${shared.schema}".sluice_sessions WHERE id = $1`, [current.id]);
        assert.deepEqual(row.rows[0], { version: 2, method: 'POST', path: '/orders/5?expand=items', status: 201, timings: null, request: null }, 'the 001 scalars are filled for http sessions');
      });
    } finally {
      await store.close();
    }
  });

  test('004 derives the decision keys of the rows 003 holds, and of rows a replica without 004 inserts', async () => {
    const shared = options();
    // 005 (the chain columns, which append writes) without 004 (nor 006, which remakes 004's refusals): a replica from before 004 inserts the same columns but those.
    await migrateOnly(shared.schema!, (m) => !m.version.startsWith('004') && !m.version.startsWith('006'));
    const approved = sessionRecord({ rule: 'prod/allow-orders', events: [{ at: T0, kind: 'approval', approvalId: 'ap-1', waitMs: 5 }, ...sessionRecord({}, 0).events] }, 0);
    const refused = pgSession(1, { rule: 'prod/db-read' }, (at) => [pgStatement(at + 1, { outcome: 'refused', code: 'ERR_STATEMENT_DENIED' })]);
    const plain = sessionRecord({ rule: 'staging/allow-orders' }, 2);
    // append names no 004 column: the same insert as a replica from before 004.
    const before = await PostgresSessionStore.connect({ ...shared, migrate: false });
    await before.append(approved);
    await before.append(refused);
    await before.close();
    const store = await PostgresSessionStore.connect(shared);
    try {
      await store.append(plain);
      const v1 = sessionRecordV1({ rule: 'prod/allow-orders' }, 3);
      await insertV1(shared.schema!, [v1]);
      const list = async (filter: SessionFilter) => (await store.list(filter)).records.map((r) => r.id);
      assert.deepEqual(await list({ rule: 'prod/*' }), [v1.id, refused.id, approved.id]);
      assert.deepEqual(await list({ approval: true }), [approved.id]);
      assert.deepEqual(await list({ refusals: true }), [refused.id]);
      assert.deepEqual(await list({ approval: false, refusals: false }), [v1.id, plain.id], 'a version 1 row waited for nothing');
    } finally {
      await store.close();
    }
  });

  test('006 counts refused Redis commands as refusals, for the rows stored before it and the rows a replica without it inserts', async () => {
    const shared = options();
    await migrateOnly(shared.schema!, (m) => !m.version.startsWith('006'));
    const refused = redisSession(0, { command: 'CONFIG', keys: [], outcome: 'refused', code: 'ERR_REDIS_COMMAND_DENIED' });
    const clean = redisSession(1, { outcome: 'sent' });
    const statement = pgSession(2, {}, (at) => [pgStatement(at + 1, { outcome: 'refused', code: 'ERR_STATEMENT_DENIED' })]);
    const before = await PostgresSessionStore.connect({ ...shared, migrate: false });
    try {
      await before.append(refused);
      await before.append(clean);
      assert.deepEqual((await before.list({ refusals: true })).records.map((r) => r.id), [], 'before 006 a refused Redis command was no refusal');
    } finally {
      await before.close();
    }
    const store = await PostgresSessionStore.connect(shared);
    try {
      const later = redisSession(3, { outcome: 'refused', code: 'ERR_REDIS_NOT_LOGGED_IN' });
      await store.append(statement);
      await store.append(later);
      const list = async (filter: SessionFilter) => (await store.list(filter)).records.map((r) => r.id);
      assert.deepEqual(await list({ refusals: true }), [later.id, statement.id, refused.id]);
      assert.deepEqual(await list({ refusals: false }), [clean.id]);
    } finally {
      await store.close();
    }
  });

  test('the decision filters use their indexes with keyset pagination (no sort)', async () => {
    const shared = options();
    const store = await PostgresSessionStore.connect(shared);
    await store.close();
    await admin(async (client) => {
      const cases: [string, unknown[], RegExp][] = [
        ['rule = $3', ['prod/allow-orders'], /sluice_sessions_rule_idx/],
        ['rule_policy = $3', ['prod'], /sluice_sessions_rule_policy_idx/],
        ['approval', [], /sluice_sessions_approval_idx/],
        ['refusals', [], /sluice_sessions_refusals_idx/],
      ];
      for (const [condition, values, index] of cases) {
        await client.query('BEGIN');
        // On an empty table the planner would pick a bitmap scan plus a sort for anything; what is
        // checked is that an index can serve the filter in list order. (On 20,000 rows with 0.5%
        // approvals the planner picks these indexes by itself, about 0.1 ms for a page.)
        await client.query('SET LOCAL enable_seqscan = off');
        await client.query('SET LOCAL enable_bitmapscan = off');
        const plan = await client.query<{ 'QUERY PLAN': string }>(
          `EXPLAIN SELECT id FROM "${shared.schema}".sluice_sessions WHERE ${condition} AND (started_at, id) < ($1, $2::uuid) ORDER BY started_at DESC, id DESC LIMIT 51`,
          [new Date(), randomUUID(), ...values],
        );
        await client.query('ROLLBACK');
        const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
        assert.match(text, index, condition);
        assert.doesNotMatch(text, /Sort/, condition);
      }
    });
  });

  test('list by subject uses the index and keyset pagination (no sort, no offset)', async () => {
    const shared = options();
    const store = await PostgresSessionStore.connect(shared);
    await store.close();
    await admin(async (client) => {
      await client.query('BEGIN');
      await client.query('SET LOCAL enable_seqscan = off');
      const plan = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT id FROM "${shared.schema}".sluice_sessions WHERE subject = $1 AND (started_at, id) < ($2, $3::uuid) ORDER BY started_at DESC, id DESC LIMIT 51`,
        ['alice', new Date(), randomUUID()],
      );
      await client.query('ROLLBACK');
      const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
      assert.match(text, /sluice_sessions_subject_idx/);
      assert.doesNotMatch(text, /Sort/);
    });
  });

  test('read-only: append is refused, reads work, and the connection itself is read-only', async () => {
    const shared = options();
    const writer = await PostgresSessionStore.connect(shared);
    const record = sessionRecord();
    await writer.append(record);
    await writer.close();
    const reader = await PostgresSessionStore.connect({ ...shared, readOnly: true });
    try {
      assert.deepEqual(await reader.get(record.id), record);
      await assert.rejects(reader.append(sessionRecord()), { code: 'ERR_SESSION_STORE_UNAVAILABLE' });
    } finally {
      await reader.close();
    }
    // Bypassing the check, the database still refuses the write.
    const sneaky = await PostgresSessionStore.connect({ ...shared, readOnly: true });
    (sneaky as unknown as { readOnly: boolean }).readOnly = false;
    try {
      await assert.rejects(sneaky.append(sessionRecord()), (err: { code: string; cause?: { code?: string } }) => err.cause?.code === '25006');
    } finally {
      await sneaky.close();
    }
  });

  test('read-only against a schema that was never migrated reports the missing table', async () => {
    const reader = await PostgresSessionStore.connect(options({ readOnly: true }));
    try {
      await assert.rejects(reader.list(), (err: { code: string; message: string }) => {
        assert.equal(err.code, 'ERR_SESSION_STORE_UNAVAILABLE');
        assert.match(err.message, /no sessions table/);
        return true;
      });
    } finally {
      await reader.close();
    }
  });

  test('connect() to a dead port rejects quickly with ERR_SESSION_STORE_UNAVAILABLE', async () => {
    const started = performance.now();
    await assert.rejects(PostgresSessionStore.connect(options({ connectionString: 'postgres://postgres@127.0.0.1:1/test' })), { code: 'ERR_SESSION_STORE_UNAVAILABLE' });
    assert.ok(performance.now() - started < 2000);
  });

  test('once the database is unreachable every operation rejects with ERR_SESSION_STORE_UNAVAILABLE, and recovers when it is back', async () => {
    const proxy = await proxyTo(new URL(DATABASE_URL));
    const url = new URL(DATABASE_URL);
    url.port = String(proxy.port);
    const store = await PostgresSessionStore.connect(options({ connectionString: url.toString(), connectTimeoutMs: 500, queryTimeoutMs: 1000 }));
    try {
      const record = sessionRecord();
      await store.append(record);
      await proxy.stop();
      const started = performance.now();
      const operations: [string, () => Promise<unknown>][] = [
        ['append', () => store.append(sessionRecord())],
        ['get', () => store.get(record.id)],
        ['list', () => store.list({ subject: 'alice' })],
      ];
      for (const [name, run] of operations) {
        await assert.rejects(run(), (err: { code?: string; cause?: unknown }) => {
          assert.equal(err.code, 'ERR_SESSION_STORE_UNAVAILABLE', name);
          assert.ok(err.cause !== undefined, `${name}: the driver error is kept as the cause`);
          return true;
        });
      }
      assert.ok(performance.now() - started < 3000, `took ${(performance.now() - started).toFixed(0)} ms`);
      await proxy.restart();
      assert.deepEqual(await store.get(record.id), record);
    } finally {
      await store.close();
      await proxy.stop();
    }
  });

  test('bad options are ERR_CONFIG_INVALID', async () => {
    await assert.rejects(PostgresSessionStore.connect({ connectionString: 'mysql://x', schema: 'Robert"; DROP', poolSize: 0 }), (err: { code: string; message: string }) => {
      assert.equal(err.code, 'ERR_CONFIG_INVALID');
      for (const name of ['connectionString', 'schema', 'poolSize']) assert.ok(err.message.includes(name), name);
      return true;
    });
  });
});

/** A cuttable pass-through to the server at `url`. */
function proxyTo(url: URL) {
  return tcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
}

describe('PostgresSessionStore chain writer', () => {
  /** Wraps the store's pool.query to watch (and break) what goes to the database. */
  function spy(store: PostgresSessionStore, hook: (sql: string, run: () => Promise<unknown>, values: unknown[]) => Promise<unknown>): void {
    const pool = (store as unknown as { pool: pg.Pool }).pool;
    const query = pool.query.bind(pool) as (sql: string, values?: unknown[]) => Promise<unknown>;
    (pool as unknown as { query: unknown }).query = (sql: string, values: unknown[] = []) => hook(sql, () => query(sql, values), values);
  }

  async function verify(shared: PostgresSessionStoreOptions) {
    const reader = await PostgresSessionStore.connect({ ...shared, readOnly: true });
    try {
      return await verifyChains(reader.chainSource());
    } finally {
      await reader.close();
    }
  }

  test('concurrent appends go to the database in batches: one INSERT for many records, not one per record', async () => {
    const shared = options();
    const store = await PostgresSessionStore.connect(shared);
    let inserts = 0;
    spy(store, (sql, run) => {
      if (sql.includes('INSERT INTO') && sql.includes('sluice_sessions (')) inserts += 1;
      return run();
    });
    try {
      await Promise.all(Array.from({ length: 100 }, (_, i) => store.append(sessionRecord({}, i))));
      assert.ok(inserts >= 1 && inserts <= 3, `${inserts} INSERTs for 100 records`);
    } finally {
      await store.close();
    }
    const report = await verify(shared);
    assert.equal(report.ok, true);
    assert.equal(report.verified, 100);
  });

  test('a batch that committed though the client saw the connection fail: the retry finds the ids, links nothing twice, the chain verifies', async () => {
    const shared = options();
    const store = await PostgresSessionStore.connect(shared);
    const list = Array.from({ length: 5 }, (_, i) => sessionRecord({}, i));
    let broken = 0;
    spy(store, async (sql, run) => {
      const result = await run();
      if (broken === 0 && sql.startsWith('WITH inserted')) {
        broken += 1;
        // As a connection reset after the server committed: no SQLSTATE, outcome unknown.
        throw Object.assign(new Error('Connection terminated unexpectedly'), { code: undefined });
      }
      return result;
    });
    try {
      const first = await Promise.allSettled(list.slice(0, 3).map((r) => store.append(r)));
      assert.ok(first.every((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'ERR_SESSION_STORE_UNAVAILABLE'));
      // The queue retries them, with new records behind them.
      await Promise.all(list.map((r) => store.append(r)));
    } finally {
      await store.close();
    }
    const report = await verify(shared);
    assert.equal(report.ok, true, JSON.stringify(report.partitions[0]?.break));
    assert.equal(report.verified, 5);
    await admin(async (client) => {
      const rows = await client.query(`SELECT count(*)::int AS n FROM "${shared.schema}".sluice_sessions`);
      assert.equal(rows.rows[0].n, 5);
    });
  });

  test('a purge committing while verify reads does not look like removed records (verify reads one snapshot)', async () => {
    const shared = options();
    const store = await PostgresSessionStore.connect(shared);
    const reader = await PostgresSessionStore.connect({ ...shared, readOnly: true });
    try {
      for (let i = 0; i < 5; i += 1) await store.append(sessionRecord({}, i));
      const source = reader.chainSource();
      const report = await verifyChains({
        ...source,
        partitions: async () => {
          const partitions = await source.partitions();
          // After verify has read the partition rows (no purge point yet), before it reads the records.
          assert.equal((await store.purge({ before: T0 + 2000 })).removed, 2);
          return partitions;
        },
      });
      assert.equal(report.ok, true, JSON.stringify(report.partitions[0]?.break));
      assert.equal(report.verified, 5, 'the snapshot still holds the purged records');
      const after = await verifyChains(reader.chainSource());
      assert.equal(after.ok, true);
      assert.equal(after.verified, 3);
    } finally {
      await reader.close();
      await store.close();
    }
  });

  test('a batch with a record PostgreSQL refuses: only that one is refused (ERR_SESSION_INVALID), the others are linked', async () => {
    const shared = options();
    const store = await PostgresSessionStore.connect(shared);
    const good = [sessionRecord({}, 0), sessionRecord({}, 2)];
    const bad = sessionRecord({}, 1);
    // prepareRecord leaves nothing PostgreSQL would refuse, so the refusal is played: every INSERT
    // carrying this record fails as a data exception would (SQLSTATE class 22), as one statement.
    spy(store, (sql, run, values) => (sql.startsWith('WITH inserted') && values.includes(bad.id) ? Promise.reject(Object.assign(new Error('invalid input syntax'), { code: '22P02' })) : run()));
    try {
      const results = await Promise.allSettled([store.append(good[0]!), store.append(bad), store.append(good[1]!)]);
      assert.equal(results[0]!.status, 'fulfilled');
      assert.equal(results[2]!.status, 'fulfilled');
      assert.equal(results[1]!.status, 'rejected');
      assert.equal((results[1] as PromiseRejectedResult).reason.code, 'ERR_SESSION_INVALID');
    } finally {
      await store.close();
    }
    const report = await verify(shared);
    assert.equal(report.ok, true, JSON.stringify(report.partitions[0]?.break));
    assert.equal(report.verified, 2);
  });
});

