/**
 * The baselines' Envoy for bench:redis: one listener per step between a plain redis_proxy and
 * Sluice's generated listener, so each difference is measured on its own, side by side.
 *   plain      redis_proxy, no auth, the default user upstream (the floor of any Envoy path)
 *   faults     + the deny list as redis_proxy error faults (what every Sluice redis target has)
 *   acl        + the upstream ACL user on the cluster (auth_username/auth_password)
 *   extauth    + external auth (AUTH <token> checked by Sluice's own ext-authz, expiry on)
 *   all        all three at once: Sluice's listener and cluster, in this Envoy
 *   echo       a network ext_proc in front of the plain redis_proxy, to a processor that echoes
 *              every chunk in both directions (bench/lib/echo-network-proc-server.ts): Envoy's filter
 *              + gRPC round trips, before any Sluice work
 *   echoRead   the same with processing_mode.process_write SKIP: only client chunks go to the processor
 */
import { deniedCommandsOf } from '../../envoy/generate/protocols/redis.ts';

export interface RedisBaselinePorts {
  plain: number;
  faults: number;
  acl: number;
  extauth: number;
  all: number;
  echo: number;
  echoRead: number;
  /** The echo processor's gRPC port. */
  echoProc: number;
  /** Sluice's ext-authz gRPC port (the extauth listener asks it, for target `authTarget`). */
  authz: number;
}

export interface RedisBaselineOptions {
  redisPort: number;
  /** The upstream ACL user the acl listener logs in as. */
  aclUser: string;
  aclPassword: string;
  /** A redis target ext-authz knows whose policy lets the bench's token in. */
  authTarget: string;
}

export function redisBaselineEnvoyConfig(ports: RedisBaselinePorts, options: RedisBaselineOptions): string {
  const faults = JSON.stringify([{
    fault_type: 'ERROR',
    fault_enabled: { default_value: { numerator: 100, denominator: 'HUNDRED' } },
    commands: deniedCommandsOf().map((c) => c.toLowerCase()),
  }]);
  const extAuth = JSON.stringify({
    grpc_service: { envoy_grpc: { cluster_name: 'authz' }, timeout: '1s', initial_metadata: [{ key: 'x-sluice-target', value: options.authTarget }] },
    enable_auth_expiration: true,
  });
  const redisProxy = (prefix: string, cluster: string, extra = '') => `
            - name: envoy.filters.network.redis_proxy
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.redis_proxy.v3.RedisProxy
                stat_prefix: ${prefix}
                settings: { op_timeout: 5s }
                prefix_routes: { catch_all_route: { cluster: ${cluster} } }${extra}`;
  const echoFilter = (prefix: string, mode: string) => `
            - name: envoy.filters.network.ext_proc
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.ext_proc.v3.NetworkExternalProcessor
                grpc_service: { envoy_grpc: { cluster_name: echo_proc } }
                failure_mode_allow: false
                message_timeout: 2s
                stat_prefix: ${prefix}${mode}`;
  const listener = (name: string, port: number, filters: string) => `
    - name: ${name}
      address: { socket_address: { address: 127.0.0.1, port_value: ${port} } }
      filter_chains:
        - filters:${filters}`;
  const cluster = (name: string, port: number, extra = '') => `
    - name: ${name}
      connect_timeout: 1s
      type: STATIC${extra}
      load_assignment:
        cluster_name: ${name}
        endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${port} } } } }] }]`;
  const grpc = `
      typed_extension_protocol_options:
        envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
          "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
          explicit_http_config: { http2_protocol_options: {} }`;
  const aclAuth = `
      typed_extension_protocol_options:
        envoy.filters.network.redis_proxy:
          "@type": type.googleapis.com/envoy.extensions.filters.network.redis_proxy.v3.RedisProtocolOptions
          auth_username: { inline_string: ${JSON.stringify(options.aclUser)} }
          auth_password: { inline_string: ${JSON.stringify(options.aclPassword)} }`;
  return `
admin: { address: { socket_address: { address: 127.0.0.1, port_value: 0 } } }
static_resources:
  listeners:${[
    listener('plain', ports.plain, redisProxy('plain', 'redis')),
    listener('faults', ports.faults, redisProxy('faults', 'redis', `\n                faults: ${faults}`)),
    listener('acl', ports.acl, redisProxy('acl', 'redis_acl')),
    listener('extauth', ports.extauth, redisProxy('extauth', 'redis', `\n                external_auth_provider: ${extAuth}`)),
    listener('all', ports.all, redisProxy('all', 'redis_acl', `\n                external_auth_provider: ${extAuth}\n                faults: ${faults}`)),
    listener('echo', ports.echo, echoFilter('echo', '') + redisProxy('echo', 'redis')),
    listener('echo_read', ports.echoRead, echoFilter('echo_read', '\n                processing_mode: { process_write: SKIP }') + redisProxy('echo_read', 'redis')),
  ].join('')}
  clusters:${[
    cluster('redis', options.redisPort),
    cluster('redis_acl', options.redisPort, aclAuth),
    cluster('echo_proc', ports.echoProc, grpc),
    cluster('authz', ports.authz, grpc),
  ].join('')}
`;
}
