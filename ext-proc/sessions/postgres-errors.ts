import { describeError } from '../../common/errors.ts';
import { SessionError } from './errors.ts';

export function unavailable(message: string, cause?: unknown): SessionError {
  const detail = cause === undefined ? '' : `: ${describeError(cause).message}`;
  return new SessionError('ERR_SESSION_STORE_UNAVAILABLE', `${message}${detail}`, cause === undefined ? {} : { cause });
}

/**
 * A driver error as a SessionError. SQLSTATE class 22 (data exception) is a record PostgreSQL will
 * never take, so it is ERR_SESSION_INVALID and not retried; a missing table means the migrations
 * have not run; anything else (refused, reset, timed out, shutting down) is unavailable.
 */
export function storeError(err: unknown, message: string): SessionError {
  if (err instanceof SessionError) return err;
  const sqlState = (err as { code?: unknown }).code;
  if (typeof sqlState === 'string' && sqlState.startsWith('22')) {
    return new SessionError('ERR_SESSION_INVALID', `${message}: PostgreSQL refused the record: ${describeError(err).message}`, { cause: err });
  }
  if (sqlState === '42P01') return unavailable(`${message}: no sessions table (ext-proc applies the migrations when it starts)`, err);
  return unavailable(message, err);
}
