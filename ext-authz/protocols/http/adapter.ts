import type { ProtocolAdapter } from '../adapter.ts';
import { toCheckResponse } from './check-response.ts';
import { readHttpCheck } from './read-check-request.ts';

/** Envoy's HTTP ext_authz filter: a request with HTTP attributes in, ok_response/denied_response out. */
export const httpAdapter: ProtocolAdapter = {
  protocol: 'http',
  recognizes: (request) => request.attributes?.request?.http !== undefined,
  read: readHttpCheck,
  respond: toCheckResponse,
};
