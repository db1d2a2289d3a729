import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PgAuthError } from './errors.ts';
import { md5PasswordMessage } from './md5.ts';

// Expected values computed independently with Python's hashlib; md5("postgrespostgres") is the
// well-known stored hash 3175bce1d3201d16594cebf9d7eb3f9d.
test('md5PasswordMessage: "md5" + md5hex(md5hex(password + user) + salt)', () => {
  assert.equal(md5PasswordMessage('postgres', 'postgres', Buffer.from([1, 2, 3, 4])), 'md568be9ed08db75f318087ab337aaea044');
  assert.equal(md5PasswordMessage('sluice_app', 'pässword', Buffer.from('deadbeef', 'hex')), 'md58cc80730a021d78afcf061880ef61bc1', 'UTF-8 password');
});

test('md5PasswordMessage: a salt that is not 4 bytes is refused', () => {
  assert.throws(() => md5PasswordMessage('u', 'p', Buffer.alloc(3)), (err: unknown) => err instanceof PgAuthError && err.code === 'ERR_PG_AUTH_UNSUPPORTED');
});
