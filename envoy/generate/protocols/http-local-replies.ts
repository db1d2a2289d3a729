import type { EnvoyObject, GeneratorInput } from '../types.ts';

const CEL_FILTER = 'envoy.access_loggers.extension_filters.cel';
const CEL_FILTER_TYPE = 'type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter';

/** Matches the local replies whose CEL expression holds (response.code, response.code_details). */
function when(expression: string): EnvoyObject {
  return { extension_filter: { name: CEL_FILTER, typed_config: { '@type': CEL_FILTER_TYPE, expression } } };
}

/**
 * The caller's JSON error body (common/caller-error.ts) for a refusal Envoy makes itself. The
 * request id is null: these requests are refused before Envoy assigns one.
 */
function jsonBody(code: string, message: string, extra: Record<string, string> = {}): EnvoyObject {
  return { json_format: { error: { code, message }, ...extra, request_id: '%REQ(X-REQUEST-ID)%' } };
}

/**
 * Refusals Envoy answers before either service sees the request get the same JSON body as
 * Sluice's own: headers past max_request_headers_kb (431, else a bare text reply), requests the
 * HTTP/1 codec cannot parse (a raw control or non-ASCII byte in the path), and paths
 * path_with_escaped_slashes_action / normalize_path reject (`%2F`, `%5C`, `%00`: an empty 400).
 * Each is matched on what Envoy reports for it, so the replies ext-authz and ext-proc send
 * (their own JSON) are left as they are; `reason` is Envoy's response code detail.
 */
export function localReplyConfig(input: GeneratorInput): EnvoyObject {
  return {
    mappers: [
      {
        filter: when('response.code == 431'),
        body_format_override: jsonBody('ERR_HEADERS_TOO_LARGE', `the request headers are larger than the gateway accepts (${input.envoy.maxRequestHeadersKb} KiB)`),
      },
      {
        filter: when("response.code == 400 && response.code_details == 'path_normalization_failed'"),
        body_format_override: jsonBody('ERR_PATH_AMBIGUOUS', 'the path could be read as a different path upstream; refused', { reason: '%RESPONSE_CODE_DETAILS%' }),
      },
      {
        filter: when("response.code == 400 && response.code_details.startsWith('http1.')"),
        body_format_override: jsonBody('ERR_REQUEST_MALFORMED', 'the request is not valid HTTP/1.1; refused', { reason: '%RESPONSE_CODE_DETAILS%' }),
      },
    ],
  };
}
