import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeStatement, statementKey } from './statement.ts';

/** [class, command, tables] of each statement of a text. */
function summary(text: string): [string, string, string[]][] {
  const analysis = analyzeStatement(text);
  assert.ok(analysis.ok, `${text}: ${!analysis.ok ? analysis.message : ''}`);
  return analysis.statements.map((s) => [s.class, s.command, [...s.tables].sort()]);
}

const one = (text: string) => summary(text)[0]!;

test('classes: session, read, write, ddl, admin', () => {
  const cases: [string, string, string][] = [
    ['SET search_path = public', 'session', 'SET'],
    ['RESET ALL', 'session', 'RESET'],
    ['SHOW work_mem', 'session', 'SHOW'],
    ['BEGIN', 'session', 'BEGIN'],
    ['COMMIT', 'session', 'COMMIT'],
    ['ROLLBACK', 'session', 'ROLLBACK'],
    ['SAVEPOINT a', 'session', 'SAVEPOINT'],
    ['DISCARD ALL', 'session', 'DISCARD'],
    ['LISTEN ch', 'session', 'LISTEN'],
    ['DEALLOCATE ALL', 'session', 'DEALLOCATE'],
    ['SELECT 1', 'read', 'SELECT'],
    ['VALUES (1), (2)', 'read', 'VALUES'],
    ['EXPLAIN SELECT * FROM users', 'read', 'EXPLAIN'],
    ['EXPLAIN DELETE FROM users', 'read', 'EXPLAIN'],
    ['EXPLAIN ANALYZE DELETE FROM users', 'write', 'EXPLAIN'],
    ['COPY users TO STDOUT', 'read', 'COPY'],
    ['COPY (SELECT * FROM users) TO STDOUT', 'read', 'COPY'],
    ['FETCH 10 FROM c', 'read', 'FETCH'],
    ['DECLARE c CURSOR FOR SELECT * FROM users', 'read', 'DECLARE CURSOR'],
    ['PREPARE q AS SELECT * FROM users WHERE id = $1', 'read', 'PREPARE'],
    ['PREPARE d AS DELETE FROM users', 'write', 'PREPARE'],
    ['INSERT INTO users (id) VALUES (1)', 'write', 'INSERT'],
    ['UPDATE users SET a = 1', 'write', 'UPDATE'],
    ['DELETE FROM users', 'write', 'DELETE'],
    ['MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE', 'write', 'MERGE'],
    ['COPY users FROM STDIN', 'write', 'COPY'],
    ['SELECT * INTO copy_of_users FROM users', 'write', 'SELECT'],
    ['SELECT * FROM users FOR UPDATE', 'write', 'SELECT'],
    ['SELECT * FROM (SELECT * FROM users FOR SHARE) s', 'write', 'SELECT'],
    ['TRUNCATE users', 'write', 'TRUNCATE'],
    ['CREATE TABLE t (id int)', 'ddl', 'CREATE TABLE'],
    ['ALTER TABLE t ADD COLUMN b int', 'ddl', 'ALTER TABLE'],
    ['DROP TABLE t', 'ddl', 'DROP TABLE'],
    ['CREATE INDEX i ON t (id)', 'ddl', 'CREATE INDEX'],
    ['COMMENT ON TABLE t IS \'x\'', 'ddl', 'COMMENT'],
    ['GRANT SELECT ON t TO bob', 'admin', 'GRANT'],
    ['REVOKE SELECT ON t FROM bob', 'admin', 'REVOKE'],
    ['CREATE ROLE x', 'admin', 'CREATE ROLE'],
    ['ALTER SYSTEM SET work_mem = \'1GB\'', 'admin', 'ALTER SYSTEM'],
    ['VACUUM', 'admin', 'VACUUM'],
    ['ANALYZE users', 'admin', 'ANALYZE'],
    ['CLUSTER users', 'admin', 'CLUSTER'],
    ['REINDEX TABLE users', 'admin', 'REINDEX'],
    ['CHECKPOINT', 'admin', 'CHECKPOINT'],
    ['LOAD \'x\'', 'admin', 'LOAD'],
    ['DO $$ BEGIN PERFORM 1; END $$', 'admin', 'DO'],
    ['CALL p()', 'admin', 'CALL'],
    ['COPY users TO \'/tmp/x\'', 'admin', 'COPY'],
    ['COPY users FROM PROGRAM \'cat /etc/passwd\'', 'admin', 'COPY'],
    ['SET ROLE postgres', 'admin', 'SET'],
    ['SET SESSION AUTHORIZATION postgres', 'admin', 'SET'],
    ['SELECT pg_read_file(\'/etc/passwd\')', 'admin', 'SELECT'],
    ['SELECT pg_catalog.pg_terminate_backend(42)', 'admin', 'SELECT'],
  ];
  for (const [text, cls, command] of cases) {
    const [gotClass, gotCommand] = one(text);
    assert.deepEqual([gotClass, gotCommand], [cls, command], text);
  }
});

test('a write in a CTE makes the statement a write; CTE names are not tables', () => {
  assert.deepEqual(one('WITH gone AS (DELETE FROM audit RETURNING *) SELECT * FROM gone'), ['write', 'SELECT', ['audit']]);
  assert.deepEqual(one('WITH recent AS (SELECT * FROM orders) SELECT * FROM recent JOIN users ON true'), ['read', 'SELECT', ['orders', 'users']]);
  // A CTE name hides a table only where the WITH is in scope.
  assert.deepEqual(one('SELECT * FROM (WITH users AS (SELECT 1) SELECT * FROM users) a, users'), ['read', 'SELECT', ['users']]);
  // Schema-qualified, it is a table whatever a CTE is called.
  assert.deepEqual(one('WITH users AS (SELECT 1) SELECT * FROM public.users'), ['read', 'SELECT', ['public.users']]);
});

test('tables: schema-qualified as written, through joins, subqueries, EXISTS, INSERT ... SELECT, DROP lists', () => {
  assert.deepEqual(one('SELECT * FROM public.users u JOIN orders o ON o.uid = u.id WHERE EXISTS (SELECT 1 FROM billing.invoices i WHERE i.o = o.id)'),
    ['read', 'SELECT', ['billing.invoices', 'orders', 'public.users']]);
  assert.deepEqual(one('INSERT INTO archive.orders SELECT * FROM orders'), ['write', 'INSERT', ['archive.orders', 'orders']]);
  assert.deepEqual(one('UPDATE users SET n = (SELECT max(n) FROM stats)'), ['write', 'UPDATE', ['stats', 'users']]);
  assert.deepEqual(one('DROP TABLE public.a, b'), ['ddl', 'DROP TABLE', ['b', 'public.a']]);
  assert.deepEqual(one('TRUNCATE a, s.b'), ['write', 'TRUNCATE', ['a', 's.b']]);
  assert.deepEqual(one('SELECT 1'), ['read', 'SELECT', []]);
});

test('a multi-statement text: each statement analysed, in order; constants normalized away', () => {
  const analysis = analyzeStatement("BEGIN; UPDATE users SET email = 'a@b.c' WHERE id = 7; SELECT * FROM users; COMMIT");
  assert.ok(analysis.ok);
  assert.deepEqual(analysis.statements.map((s) => [s.class, s.command]), [['session', 'BEGIN'], ['write', 'UPDATE'], ['read', 'SELECT'], ['session', 'COMMIT']]);
  assert.doesNotMatch(analysis.normalized, /a@b\.c|7/);
  assert.match(analysis.normalized, /\$1/);
});

test('an empty text is one session statement; unparsable text is ERR_STATEMENT_UNPARSABLE with the parser\'s message', () => {
  for (const text of ['', '   ', ' ; ;']) {
    const analysis = analyzeStatement(text);
    assert.ok(analysis.ok);
    assert.deepEqual(analysis.statements, [{ class: 'session', command: 'EMPTY', tables: [] }]);
  }
  const bad = analyzeStatement('SELEC * FROM users');
  assert.ok(!bad.ok);
  assert.equal(bad.code, 'ERR_STATEMENT_UNPARSABLE');
  assert.match(bad.message, /syntax error at or near "SELEC"/);
  assert.ok(!analyzeStatement('SELECT 1; DELET FROM x').ok, 'one bad statement fails the whole text');
});

test('the statement key is stable for the same normalized text', () => {
  const a = analyzeStatement('TRUNCATE users');
  assert.ok(a.ok);
  assert.equal(statementKey(a.normalized), statementKey('TRUNCATE users'));
  assert.match(statementKey(a.normalized), /^sql:[0-9a-f]{64}$/);
});
