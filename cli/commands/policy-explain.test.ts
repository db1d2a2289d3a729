import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

const CLI = fileURLToPath(new URL('../sluice.ts', import.meta.url));

/** The repo's policies/ (the demo-db policy: engineers read, DDL denied, writes need an SRE). */
function explain(...args: string[]) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'policy', 'explain', '--target', 'demo-db', ...args], { encoding: 'utf8', env: { ...process.env, SLUICE_CONFIG: '' } });
  return { code: run.status, out: run.stdout, err: run.stderr };
}
const alice = ['--sub', 'alice', '--groups', 'engineering', '--user', 'postgres', '--database', 'test'];

describe('sluice policy explain for a PostgreSQL target', () => {
  test('a read is allowed (exit 0) and each statement of a text is named with its class and tables', () => {
    const read = explain(...alice, '--sql', 'select * from public.orders o join customers c on c.id = o.customer');
    assert.equal(read.code, 0, read.err);
    assert.match(read.out, /^ALLOW {2}alice statement as "postgres" to "test" on demo-db/);
    assert.match(read.out, /statement 1: read \(SELECT\) on public\.orders, customers/);
    assert.match(read.out, /\+ demo-db-engineers\/read: read \(SELECT\) on public\.orders, customers: matches \(allow\); this rule decides/);
  });

  test('a write inside a text needs approval; DDL is denied by its rule; an unparsable text is denied with its code (exit 3)', () => {
    const write = explain(...alice, '--sql', 'begin; delete from orders where id = 1; commit');
    assert.equal(write.code, 3);
    assert.match(write.out, /^APPROVE/);
    assert.match(write.out, /rule: {3}demo-db-engineers\/writes/);
    assert.match(write.out, /statement 2, write \(DELETE\) on orders: matches \(approve\); this rule decides/);
    const ddl = explain(...alice, '--sql', 'drop table orders', '--json');
    assert.equal(ddl.code, 3);
    const parsed = JSON.parse(ddl.out) as { decision: { effect: string; rule: string; code: string }; statements: { class: string }[] };
    assert.deepEqual([parsed.decision.effect, parsed.decision.rule, parsed.decision.code], ['deny', 'demo-db-engineers/no-ddl', 'ERR_STATEMENT_DENIED']);
    assert.equal(parsed.statements[0]!.class, 'ddl');
    const bad = explain(...alice, '--sql', 'selec 1');
    assert.equal(bad.code, 3);
    assert.match(bad.out, /denied: ERR_STATEMENT_UNPARSABLE syntax error at or near "selec"/);
  });

  test('a login the grant does not cover says which part missed; --user without --database is a usage error', () => {
    const other = explain('--sub', 'bob', '--groups', 'sales', '--user', 'postgres', '--database', 'test');
    assert.equal(other.code, 3);
    assert.match(other.out, /denied: ERR_DB_LOGIN_DENIED/);
    assert.match(other.out, /- demo-db-engineers: no subject entry matches \(#1: no group in \[engineering\]\)/);
    const db = explain('--sub', 'alice', '--groups', 'engineering', '--user', 'postgres', '--database', 'prod');
    assert.match(db.out, /- demo-db-engineers\/database: database "prod" is not one of \[test\]/);
    const usage = explain('--sub', 'alice', '--user', 'postgres');
    assert.equal(usage.code, 2);
    assert.match(usage.err, /--user and --database are required/);
    assert.doesNotMatch(usage.err, /\n\s+at /, 'no stack trace');
  });
});
