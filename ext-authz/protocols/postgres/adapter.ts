import { isPostgresCheckRequest } from '../../../common/postgres-check.ts';
import type { ProtocolAdapter } from '../adapter.ts';
import { toPostgresCheckResponse } from './check-response.ts';
import { readPostgresCheck } from './read-check-request.ts';

/**
 * ext-proc's PostgreSQL processor: a synthetic CheckRequest per login and per statement
 * (context_extensions.sluice_protocol = postgres) in, status and dynamic metadata out.
 */
export const postgresAdapter: ProtocolAdapter = {
  protocol: 'postgres',
  recognizes: isPostgresCheckRequest,
  read: readPostgresCheck,
  respond: toPostgresCheckResponse,
};
