import { discoveryType, loadAssignment, msDuration } from './envoy-values.ts';
import { EXT_AUTHZ_CLUSTER, EXT_PROC_CLUSTER } from './resource-types.ts';
import type { Endpoint, EnvoyObject } from './types.ts';

/**
 * Envoy's active health check of every ext-authz and ext-proc replica (grpc.health.v1 Check,
 * answered from the replica's readiness, common/grpc-health.ts). A draining replica answers
 * NOT_SERVING at once, so it is out after two failed checks: within two intervals plus the
 * answer's way (≈ 2-3 s). The drain delay (extAuthz.drain.delay, extProc.drain.delay, 5 s by
 * default) is longer, so no new call reaches it once it sends its GOAWAY. One good check brings a
 * restarted replica back. The timeout (2 s) is above what a busy replica needs to answer: on a
 * loaded 2-core machine, checks of the replica that carried the load while the other restarted
 * were slow enough that 1 s marked it unhealthy too, and with both out Envoy's panic mode sent
 * traffic to the one still starting. no_traffic_interval is the same interval: Envoy's default
 * (60 s) on a quiet cluster would leave a drained replica "healthy" for a minute.
 */
export const SERVICE_HEALTH_CHECK = { intervalMs: 1000, timeoutMs: 2000, unhealthyThreshold: 2, healthyThreshold: 1 } as const;

/** The longest time Envoy may take to stop sending new calls to a replica that turned NOT_SERVING (its answers are immediate; 1 s for their way). */
export const SERVICE_HEALTH_OUT_MS = SERVICE_HEALTH_CHECK.intervalMs * SERVICE_HEALTH_CHECK.unhealthyThreshold + 1000;

function healthChecks(serviceName: string): EnvoyObject[] {
  const c = SERVICE_HEALTH_CHECK;
  return [{
    timeout: msDuration(c.timeoutMs),
    interval: msDuration(c.intervalMs),
    no_traffic_interval: msDuration(c.intervalMs),
    unhealthy_threshold: c.unhealthyThreshold,
    healthy_threshold: c.healthyThreshold,
    grpc_health_check: { service_name: serviceName },
  }];
}

/**
 * A replica that crashed (no NOT_SERVING first) is caught between health checks by its refused
 * connections: three local-origin failures in a row eject it for 5 s (longer each time), at most
 * half the replicas. Only connection-level failures count (split_external_local_origin_errors):
 * measured, counting gateway failures (with timeouts and resets among them) ejected the replica
 * that carried the load while the other restarted, and with both out Envoy's panic mode sent
 * calls to the one still starting (137 failed requests in one restart).
 */
const OUTLIER_DETECTION: EnvoyObject = {
  split_external_local_origin_errors: true,
  consecutive_local_origin_failure: 3,
  enforcing_consecutive_local_origin_failure: 100,
  enforcing_consecutive_5xx: 0,
  enforcing_consecutive_gateway_failure: 0,
  enforcing_success_rate: 0,
  enforcing_local_origin_success_rate: 0,
  interval: '1s',
  base_ejection_time: '5s',
  max_ejection_percent: 50,
};

/*
 * No retry_policy on the ext_authz / ext_proc grpc_service: measured on Envoy 1.40, any retry
 * policy there (even retry_on "connect-failure,refused-stream,unavailable" only) makes Envoy end an
 * approval hold with its status_on_error (503) instead of ext-authz's answer: held checks were cut
 * after ~0.3 s, or their 403 at the hold's end became a 503 (test/e2e/approvals.test.ts failed 4 of
 * 10). A replica going away is covered by the health check above and the drain instead.
 */

/** Both services speak gRPC, so HTTP/2 to them. */
function grpcCluster(name: string, endpoints: readonly Endpoint[], serviceName: string, protocolOptions: EnvoyObject): EnvoyObject {
  return {
    name,
    ...discoveryType(endpoints),
    connect_timeout: '1s',
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: {} },
        ...protocolOptions,
      },
    },
    health_checks: healthChecks(serviceName),
    outlier_detection: OUTLIER_DETECTION,
    // One entry per replica; ext-authz replicas share approvals through Redis, ext-proc replicas
    // sessions through PostgreSQL.
    load_assignment: loadAssignment(name, endpoints),
  };
}

export function extAuthzCluster(endpoints: readonly Endpoint[]): EnvoyObject {
  return grpcCluster(EXT_AUTHZ_CLUSTER, endpoints, 'envoy.service.auth.v3.Authorization', {});
}

export function extProcCluster(endpoints: readonly Endpoint[]): EnvoyObject {
  // Envoy ends every ext_proc stream with RST_STREAM. Node's HTTP/2 (nghttp2's rapid-reset guard:
  // a burst of 1000, then 33/s) answers a steady flow of those with GOAWAY, which refuses the
  // streams in flight (a 500 for their callers). A fresh connection every 500 exchanges stays
  // under the burst.
  return grpcCluster(EXT_PROC_CLUSTER, endpoints, 'envoy.service.ext_proc.v3.ExternalProcessor', { common_http_protocol_options: { max_requests_per_connection: 500 } });
}
