import { fromProtoStruct } from '../common/struct.ts';

/** The parts of an Envoy CheckRequest that the decision uses, normalised once. */
export interface HttpAttributes {
  requestId: string;
  method: string;
  /** Path without the query string. */
  path: string;
  /** Query string without the `?` ('' when none). */
  query: string;
  /** Request body, when the route asks Envoy to send it (with_request_body, pack_as_bytes). */
  body: Buffer | undefined;
  headers: Readonly<Record<string, string>>;
  /** Target named by the route (context_extensions.target, else route metadata sluice.target). */
  target: string | undefined;
  sourceAddress: string | undefined;
  /**
   * How long Envoy waits for this check on this route (context_extensions `max_hold_ms`), so an
   * approval hold never outlives Envoy's timeout. 0 when the route does not say: no hold.
   */
  holdBudgetMs: number;
}

interface RawCheckRequest {
  attributes?: {
    source?: { address?: { socket_address?: { address?: string } } };
    request?: { http?: { id?: string; method?: string; path?: string; headers?: Record<string, string>; body?: string; raw_body?: Buffer } };
    context_extensions?: Record<string, string>;
    route_metadata_context?: { filter_metadata?: Record<string, { fields?: Record<string, Record<string, unknown>> }> };
  };
}

export function readHttpAttributes(request: RawCheckRequest): HttpAttributes {
  const attributes = request.attributes ?? {};
  const http = attributes.request?.http ?? {};
  const rawPath = http.path ?? '';
  const headers = http.headers ?? {};
  const queryAt = rawPath.indexOf('?');
  return {
    // x-request-id is what Envoy forwards upstream and logs; the attribute id is only a stream id.
    requestId: headers['x-request-id'] || http.id || '',
    method: (http.method ?? '').toUpperCase(),
    path: queryAt === -1 ? rawPath : rawPath.slice(0, queryAt),
    query: queryAt === -1 ? '' : rawPath.slice(queryAt + 1),
    body: http.raw_body && http.raw_body.length > 0 ? http.raw_body : http.body ? Buffer.from(http.body, 'utf8') : undefined,
    headers,
    target: attributes.context_extensions?.target || routeMetadataTarget(attributes.route_metadata_context),
    sourceAddress: attributes.source?.address?.socket_address?.address || undefined,
    holdBudgetMs: Number(attributes.context_extensions?.max_hold_ms) || 0,
  };
}

function routeMetadataTarget(metadata: NonNullable<RawCheckRequest['attributes']>['route_metadata_context']): string | undefined {
  const sluice = metadata?.filter_metadata?.sluice;
  if (!sluice) return undefined;
  const target = fromProtoStruct(sluice).target;
  return typeof target === 'string' && target !== '' ? target : undefined;
}
