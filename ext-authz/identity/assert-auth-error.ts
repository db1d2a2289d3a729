/** Test support only: asserts a rejection is a given AuthError and leaks nothing of the token. */
import assert from 'node:assert/strict';
import { AuthError, type AuthErrorCode } from './errors.ts';

export async function rejectsWithCode(promise: Promise<unknown>, code: AuthErrorCode, token?: string): Promise<AuthError> {
  const err: unknown = await promise.then(
    (value) => assert.fail(`expected ${code}, resolved with ${JSON.stringify(value)}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof AuthError, `expected an AuthError ${code}, got ${String(err)}`);
  assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
  if (token !== undefined) assertNoTokenLeak(err, token);
  return err;
}

export function throwsWithCode(fn: () => unknown, code: AuthErrorCode, token?: string): AuthError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof AuthError, `expected an AuthError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code);
  if (token !== undefined) assertNoTokenLeak(caught, token);
  return caught;
}

/** Neither the token nor its signature may appear in the message, details or causes. */
export function assertNoTokenLeak(err: unknown, token: string): void {
  const secrets = [token];
  const signature = token.split('.').at(-1) ?? '';
  if (signature.length >= 16) secrets.push(signature);
  for (let current: unknown = err, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    const text = `${current.message}\n${JSON.stringify((current as { details?: unknown }).details ?? null)}`;
    for (const secret of secrets) assert.ok(!text.includes(secret), `error text leaks the token: ${text.slice(0, 200)}`);
  }
}
