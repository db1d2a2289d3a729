import { fromProtoStruct } from '../../../common/struct.ts';
import { capReason, type CheckInput } from '../../check-input.ts';
import type { CheckRequestMessage } from '../adapter.ts';

/** Header in which a caller may say why it needs a risky action; shown to approvers. */
export const REASON_HEADER = 'x-sluice-reason';

/** A CheckRequest from Envoy's HTTP ext_authz filter as the neutral input, normalised once. */
export function readHttpCheck(request: CheckRequestMessage): CheckInput {
  const attributes = request.attributes ?? {};
  const http = attributes.request?.http ?? {};
  const rawPath = http.path ?? '';
  const headers = http.headers ?? {};
  const queryAt = rawPath.indexOf('?');
  return {
    protocol: 'http',
    // x-request-id is what Envoy forwards upstream and logs; the attribute id is only a stream id.
    requestId: headers['x-request-id'] || http.id || '',
    // Target named by the route: context_extensions.target, else route metadata sluice.target.
    target: attributes.context_extensions?.target || routeMetadataTarget(attributes.route_metadata_context),
    credential: { kind: 'bearer', authorization: headers.authorization },
    action: {
      kind: 'http',
      method: (http.method ?? '').toUpperCase(),
      path: queryAt === -1 ? rawPath : rawPath.slice(0, queryAt),
      query: queryAt === -1 ? '' : rawPath.slice(queryAt + 1),
      headers,
      body: http.raw_body && http.raw_body.length > 0 ? http.raw_body : http.body ? Buffer.from(http.body, 'utf8') : undefined,
    },
    sourceAddress: attributes.source?.address?.socket_address?.address || undefined,
    // How long Envoy waits for this check on this route (context_extensions `max_hold_ms`).
    holdBudgetMs: Number(attributes.context_extensions?.max_hold_ms) || 0,
    reason: capReason(headers[REASON_HEADER]),
  };
}

function routeMetadataTarget(metadata: NonNullable<CheckRequestMessage['attributes']>['route_metadata_context']): string | undefined {
  const sluice = metadata?.filter_metadata?.sluice;
  if (!sluice) return undefined;
  const target = fromProtoStruct(sluice).target;
  return typeof target === 'string' && target !== '' ? target : undefined;
}
