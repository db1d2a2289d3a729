import { SluiceError } from '../../common/errors.ts';

/**
 * Every code the session stores and the recording queue raise. The recording queue retries only
 * ERR_SESSION_STORE_UNAVAILABLE; anything else is final for that record. Bad store options are
 * ERR_CONFIG_INVALID (they come from sluice.yaml), raised as a plain SluiceError.
 */
export const SESSION_ERROR_CODES = [
  /** A record or a list query is malformed; the message names the field. */
  'ERR_SESSION_INVALID',
  /** The store cannot be reached or written (database down, disk error, closed store). */
  'ERR_SESSION_STORE_UNAVAILABLE',
  /** Another process is writing to the same file-store directory. */
  'ERR_SESSION_STORE_LOCKED',
  /** A stored record no longer matches its checksum. */
  'ERR_SESSION_STORE_CORRUPT',
  /** The file store's chain was written under another chain key (or none) than the one given. */
  'ERR_SESSION_CHAIN_KEY',
] as const;

export type SessionErrorCode = (typeof SESSION_ERROR_CODES)[number];

export class SessionError extends SluiceError {
  declare readonly code: SessionErrorCode;

  constructor(code: SessionErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(code, message, options);
  }
}

export function isSessionError(err: unknown, code?: SessionErrorCode): err is SessionError {
  return err instanceof SessionError && (code === undefined || err.code === code);
}

/** Bad options for a store or the queue: named, all at once, as configuration errors. */
export function invalidOptions(what: string, problems: readonly string[]): SluiceError {
  return new SluiceError('ERR_CONFIG_INVALID', `invalid ${what} options: ${problems.join('; ')}`, { details: { problems: [...problems] } });
}
