import { SluiceError } from '../../../common/errors.ts';

/**
 * Codes raised while the gateway logs in to the real PostgreSQL server. They are operator codes:
 * a failed upstream login is logged, and the client sees PostgreSQL's own ErrorResponse, never
 * these.
 */
export type PgAuthErrorCode =
  /** The server's SCRAM message is malformed or out of bounds (nonce, salt, iterations, m=). */
  | 'ERR_PG_SCRAM_INVALID'
  /** The server did not prove it knows the password (wrong v=), or answered e=. */
  | 'ERR_PG_SCRAM_SERVER_SIGNATURE'
  /** The server asked for a method or message shape the gateway does not speak. */
  | 'ERR_PG_AUTH_UNSUPPORTED';

export class PgAuthError extends SluiceError {
  declare readonly code: PgAuthErrorCode;

  constructor(message: string, code: PgAuthErrorCode, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(code, message, options);
  }
}
