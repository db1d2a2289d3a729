import { durationSeconds } from '../envoy-values.ts';
import { EXT_AUTHZ_CLUSTER, targetClusterName, targetRouteName } from '../resource-types.ts';
import type { EnvoyObject, GeneratorInput, RoutingNeeds, TargetSpec } from '../types.ts';
import { EXT_AUTHZ_FILTER, EXT_AUTHZ_PER_ROUTE, EXT_PROC_FILTER, EXT_PROC_PER_ROUTE } from './http-filters.ts';

export const NOT_FOUND_BODY = JSON.stringify({ error: { code: 'ERR_ROUTE_NOT_FOUND', message: 'no target is routed at this host and path' } });

/**
 * The route to one target. Its ext_authz check names the target (policies, credentials and
 * masking are keyed by it). Streams and long downloads are not cut by a total time unless the
 * target sets one; a stream silent for the idle timeout is.
 */
export function targetRoute(target: TargetSpec, prefix: string, needs: RoutingNeeds, input: GeneratorInput): EnvoyObject {
  const contextExtensions: Record<string, string> = { target: target.name };
  const checkSettings: EnvoyObject = { context_extensions: contextExtensions };
  if (needs.mayHold) {
    // Policies may pause this route for a just-in-time approval: ext_authz waits longer here, and
    // ext-authz holds at most one second less, so its answer always arrives before Envoy gives up.
    const seconds = durationSeconds(input.envoy.approvalTimeout, 'envoy.approvalTimeout');
    contextExtensions.max_hold_ms = String(Math.max(0, Math.round((seconds - 1) * 1000)));
    checkSettings.grpc_service = { envoy_grpc: { cluster_name: EXT_AUTHZ_CLUSTER }, timeout: input.envoy.approvalTimeout };
  }
  if (needs.inspectsBody) {
    // Content guardrails see the body with the check, so a blocked request never reaches the
    // upstream; a larger body is refused with 413.
    checkSettings.with_request_body = { max_request_bytes: input.envoy.maxRequestBodyBytes, allow_partial_message: false, pack_as_bytes: true };
  }
  return {
    name: targetRouteName(target.name),
    match: { prefix },
    route: { cluster: targetClusterName(target.name), timeout: target.timeouts.request, idle_timeout: target.timeouts.idle },
    typed_per_filter_config: { [EXT_AUTHZ_FILTER]: { '@type': EXT_AUTHZ_PER_ROUTE, check_settings: checkSettings } },
  };
}

/**
 * Ends every virtual host: a path no target owns gets a JSON 404 from Envoy itself. Neither
 * service is asked, since there is no target to decide on and nothing to forward.
 */
export function notFoundRoute(): EnvoyObject {
  return {
    name: 'not_found',
    match: { prefix: '/' },
    direct_response: { status: 404, body: { inline_string: NOT_FOUND_BODY } },
    response_headers_to_add: [{ header: { key: 'content-type', value: 'application/json' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
    typed_per_filter_config: {
      [EXT_AUTHZ_FILTER]: { '@type': EXT_AUTHZ_PER_ROUTE, disabled: true },
      [EXT_PROC_FILTER]: { '@type': EXT_PROC_PER_ROUTE, disabled: true },
    },
  };
}
