import { createHash, createHmac, randomBytes } from 'node:crypto';
import { SALTED_PASSWORDS } from '../auth/salted-password.ts';

/** PostgreSQL's default (scram_iterations); the password is 32 random bytes, so more would buy nothing. */
export const VERIFIER_ITERATIONS = 4096;
const SALT_BYTES = 16;

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password
 * (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, base64), computed here so that
 * `CREATE ROLE … PASSWORD '<verifier>'` never sends the password itself. The salted password goes
 * through the process's SCRAM cache: the gateway's own login as the role, a moment later, with the
 * same salt and count, then skips its PBKDF2.
 */
export async function scramVerifier(password: string, options: { salt?: Buffer; iterations?: number } = {}): Promise<string> {
  const salt = options.salt ?? randomBytes(SALT_BYTES);
  const iterations = options.iterations ?? VERIFIER_ITERATIONS;
  // Minted passwords are ASCII (base64url), which SASLprep leaves as they are.
  if (!/^[\x21-\x7e]+$/.test(password)) throw new Error('a minted password must be printable ASCII');
  const salted = await SALTED_PASSWORDS.getAsync(Buffer.from(password, 'utf8'), salt, iterations);
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** A password for one role: 32 random bytes, base64url (never logged, never recorded). */
export function mintPassword(): string {
  return randomBytes(32).toString('base64url');
}
