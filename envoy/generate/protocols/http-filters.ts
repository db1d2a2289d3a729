import { EXT_AUTHZ_CLUSTER, EXT_PROC_CLUSTER } from '../resource-types.ts';
import type { EnvoyObject, GeneratorInput } from '../types.ts';
import { localReplyConfig } from './http-local-replies.ts';

export const EXT_AUTHZ_FILTER = 'envoy.filters.http.ext_authz';
export const EXT_PROC_FILTER = 'envoy.filters.http.ext_proc';
export const EXT_AUTHZ_PER_ROUTE = 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute';
export const EXT_PROC_PER_ROUTE = 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute';

/**
 * The HTTP connection manager: ext_authz (identity + policy, fail closed) -> ext_proc
 * (credential injection, fail closed) -> router. `routes` is either { rds } (what Envoy loads)
 * or { route_config } (the inlined form `envoy --mode validate` checks).
 */
export function httpConnectionManager(input: GeneratorInput, routes: EnvoyObject): EnvoyObject {
  return {
    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    stat_prefix: 'sluice_http',
    generate_request_id: true,
    // Callers may not choose their own request id: it keys the decision log and sessions.
    preserve_external_request_id: false,
    use_remote_address: true,
    normalize_path: true,
    merge_slashes: true,
    path_with_escaped_slashes_action: 'REJECT_REQUEST',
    // Virtual hosts match on the name alone, so "api.example.com:10000" finds "api.example.com".
    strip_any_host_port: true,
    // Raised from Envoy's 60 KB so an oversized bearer token (e.g. 100 KB) reaches ext-authz,
    // which refuses it with 401 ERR_TOKEN_TOO_LARGE; past it, Envoy answers 431 (local_reply_config).
    max_request_headers_kb: input.envoy.maxRequestHeadersKb,
    local_reply_config: localReplyConfig(input),
    ...routes,
    http_filters: [extAuthzFilter(input), extProcFilter(), { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
  };
}

function extAuthzFilter(input: GeneratorInput): EnvoyObject {
  return {
    name: EXT_AUTHZ_FILTER,
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
      transport_api_version: 'V3',
      // Fail closed: if ext-authz is down, slow or answers garbage, deny.
      failure_mode_allow: false,
      status_on_error: { code: 'ServiceUnavailable' },
      grpc_service: { envoy_grpc: { cluster_name: EXT_AUTHZ_CLUSTER }, timeout: input.envoy.extAuthzTimeout },
      // Route metadata reaches ext-authz too, for operators who prefer it to context_extensions.
      route_metadata_context_namespaces: ['sluice'],
    },
  };
}

/**
 * Off in the filter chain and on for every route (the route configuration's
 * EXT_PROC_ENABLED), so it runs on each request that has a route and on nothing else. A request
 * the codec refuses before it has headers (and so a route) has no exchange to process; with
 * ext_proc in its chain, Envoy's own 431 / 400 reply was lost and the connection closed without
 * an answer (measured on Envoy 1.40, with ext-proc up or down).
 */
export const EXT_PROC_ENABLED: EnvoyObject = { [EXT_PROC_FILTER]: { '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig', config: {} } };

function extProcFilter(): EnvoyObject {
  return {
    name: EXT_PROC_FILTER,
    disabled: true,
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
      // The stream lives as long as the exchange; each message must be answered within 1 s.
      grpc_service: { envoy_grpc: { cluster_name: EXT_PROC_CLUSTER }, timeout: '300s' },
      // Fail closed: if ext-proc is down or wrong, the caller gets an error, never an exchange
      // without its credential swap.
      failure_mode_allow: false,
      message_timeout: '1s',
      processing_mode: {
        request_header_mode: 'SEND',
        response_header_mode: 'SEND',
        request_body_mode: 'NONE',
        // Bodies stream through ext-proc chunk by chunk (memory bounded by the masker's window);
        // a response that needs no masking is switched back to NONE from its headers
        // (mode_override), so it costs nothing.
        response_body_mode: 'STREAMED',
        request_trailer_mode: 'SKIP',
        response_trailer_mode: 'SKIP',
      },
      // ext-authz's decision (session id, target, rule, identity) reaches ext-proc here.
      metadata_options: { forwarding_namespaces: { untyped: [EXT_AUTHZ_FILTER] } },
      allow_mode_override: true,
    },
  };
}
