import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRoleSql, decodeMarker, encodeMarker, likePrefix, quoteIdent, quoteLiteral, releaseRoleSql } from './role-sql.ts';

test('identifiers and literals are quoted whatever they hold', () => {
  assert.equal(quoteIdent('readonly'), '"readonly"');
  assert.equal(quoteIdent('a"b'), '"a""b"');
  assert.equal(quoteIdent('x"; DROP ROLE postgres; --'), '"x""; DROP ROLE postgres; --"');
  assert.throws(() => quoteIdent(''));
  assert.throws(() => quoteIdent('a\u0000b'));
  assert.equal(quoteLiteral("it's"), "'it''s'");
  assert.equal(quoteLiteral('a\\b\'c'), "E'a\\\\b''c'");
  assert.throws(() => quoteLiteral('\u0000'));
});

const marker = { replica: 'ext-proc-0', session: 's-1', target: 'orders-db', database: 'orders', validUntil: Date.UTC(2030, 0, 2, 3, 4, 5) };

test('CREATE ROLE: no powers of its own, one connection, the verifier, VALID UNTIL, the grant and the admin as member, then the marker', () => {
  const sql = createRoleSql({
    name: 'sluice_0123456789abcdef', verifier: 'SCRAM-SHA-256$4096:c2FsdA==$a2V5:c2Vydg==', validUntil: marker.validUntil,
    granted: ['readonly', 'report"ing'], admin: 'sluice_admin', marker,
  });
  const [create, comment] = sql.split(';\n') as [string, string];
  assert.equal(create, 'CREATE ROLE "sluice_0123456789abcdef" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT CONNECTION LIMIT 1'
    + " PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$a2V5:c2Vydg==' VALID UNTIL '2030-01-02T03:04:05.000Z' IN ROLE \"readonly\", \"report\"\"ing\" ROLE \"sluice_admin\"");
  assert.match(comment, /^COMMENT ON ROLE "sluice_0123456789abcdef" IS '\{"sluice-session-role":1,/);
  assert.deepEqual(decodeMarker(comment.slice(comment.indexOf("'") + 1, -1)), marker);
});

test('a marker is read back only when the gateway wrote it', () => {
  assert.deepEqual(decodeMarker(encodeMarker(marker)), marker);
  for (const comment of [null, '', 'hand made role', '{"replica":"x"}', JSON.stringify({ 'sluice-session-role': 1, ...marker, validUntil: 'soon' }), '[1]', 'null']) {
    assert.equal(decodeMarker(comment), null, String(comment));
  }
});

test('release: what the role owns goes first, in its database, then the role; disable keeps both', () => {
  assert.equal(releaseRoleSql('sluice_ab', 'drop', { kind: 'drop' }), 'DROP OWNED BY "sluice_ab";\nDROP ROLE "sluice_ab"');
  assert.equal(releaseRoleSql('sluice_ab', 'drop', { kind: 'reassign', to: 'app_owner' }), 'REASSIGN OWNED BY "sluice_ab" TO "app_owner";\nDROP OWNED BY "sluice_ab";\nDROP ROLE "sluice_ab"');
  assert.equal(releaseRoleSql('sluice_ab', 'disable', { kind: 'drop' }), `ALTER ROLE "sluice_ab" WITH NOLOGIN VALID UNTIL '-infinity'`);
});

test('the sweep pattern takes the prefix literally ("_" and "%" are not wildcards)', () => {
  assert.equal(likePrefix('sluice_'), 'sluice!_%');
  assert.equal(likePrefix('a%b!'), 'a!%b!!%');
});
