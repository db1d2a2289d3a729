import { createHash } from 'node:crypto';
import { PgAuthError } from './errors.ts';

const md5hex = (data: Buffer | string) => createHash('md5').update(data).digest('hex');

/**
 * The PasswordMessage body for AuthenticationMD5Password: "md5" + md5hex(md5hex(password + user)
 * + salt). The inner hash is what PostgreSQL stores (pg_authid.rolpassword without the prefix);
 * the 4-byte salt is the one the server sent with this login.
 */
export function md5PasswordMessage(user: string, password: string, salt: Buffer): string {
  if (salt.length !== 4) {
    throw new PgAuthError(`AuthenticationMD5Password carries a 4-byte salt, got ${salt.length} bytes`, 'ERR_PG_AUTH_UNSUPPORTED');
  }
  const stored = md5hex(password + user);
  return 'md5' + md5hex(Buffer.concat([Buffer.from(stored, 'latin1'), salt]));
}
