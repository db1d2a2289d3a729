import type { ErrorCode } from '../../../common/error-codes.ts';

/** The bytes on a PostgreSQL connection do not follow the protocol: the connection is refused. */
export class PgProtocolError extends Error {
  constructor(message: string, readonly code: ErrorCode = 'ERR_PG_PROTOCOL_VIOLATION') {
    super(message);
    this.name = 'PgProtocolError';
  }
}
