import { discoveryType, loadAssignment } from './envoy-values.ts';
import { EXT_AUTHZ_CLUSTER, EXT_PROC_CLUSTER } from './resource-types.ts';
import type { Endpoint, EnvoyObject } from './types.ts';

/** Both services speak gRPC, so HTTP/2 to them. */
function grpcCluster(name: string, endpoints: readonly Endpoint[], protocolOptions: EnvoyObject): EnvoyObject {
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
    // One entry per replica; ext-authz replicas share approvals through Redis.
    load_assignment: loadAssignment(name, endpoints),
  };
}

export function extAuthzCluster(endpoints: readonly Endpoint[]): EnvoyObject {
  return grpcCluster(EXT_AUTHZ_CLUSTER, endpoints, {});
}

export function extProcCluster(endpoints: readonly Endpoint[]): EnvoyObject {
  // Envoy ends every ext_proc stream with RST_STREAM. Node's HTTP/2 (nghttp2's rapid-reset guard:
  // a burst of 1000, then 33/s) answers a steady flow of those with GOAWAY, which refuses the
  // streams in flight (a 500 for their callers). A fresh connection every 500 exchanges stays
  // under the burst.
  return grpcCluster(EXT_PROC_CLUSTER, endpoints, { common_http_protocol_options: { max_requests_per_connection: 500 } });
}
