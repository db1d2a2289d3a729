import { discoveryType, loadAssignment } from './envoy-values.ts';
import { healthCheck } from './health-check.ts';
import { CLUSTER_TYPE, targetClusterName } from './resource-types.ts';
import { upstreamTlsSocket } from './upstream-tls.ts';
import type { EnvoyObject, TargetSpec } from './types.ts';

const LB_POLICY = { round_robin: 'ROUND_ROBIN', least_request: 'LEAST_REQUEST', random: 'RANDOM' } as const;

/**
 * A PostgreSQL server's bytes reach ext-proc one Envoy read at a time, and a read is bounded by the
 * connection's buffer limit (1 MiB by default). A fast result (COPY OUT) then arrived in 1 MiB
 * chunks, and the masking of each held the chunk, its rows and its output at once: ext-proc's RSS
 * peaked 50–80 MB higher than with 64 KiB reads, at the same COPY speed (bench:postgres).
 */
export const PG_UPSTREAM_READ_BYTES = 64 * 1024;

/** The upstream cluster of one target, whatever its protocol. */
export function targetCluster(target: TargetSpec): EnvoyObject {
  const name = targetClusterName(target.name);
  return {
    '@type': CLUSTER_TYPE,
    name,
    ...discoveryType(target.endpoints),
    connect_timeout: target.timeouts.connect,
    lb_policy: LB_POLICY[target.lbPolicy],
    load_assignment: loadAssignment(name, target.endpoints),
    ...(target.healthCheck ? { health_checks: [healthCheck(target, target.healthCheck)] } : {}),
    ...(target.tls ? { transport_socket: upstreamTlsSocket(target, target.tls) } : {}),
    ...(target.protocol === 'postgres' ? { per_connection_buffer_limit_bytes: PG_UPSTREAM_READ_BYTES } : {}),
    ...(target.redis?.upstreamAuth ? { typed_extension_protocol_options: redisUpstreamAuth(target.redis.upstreamAuth) } : {}),
  };
}

/**
 * How Envoy logs in to a redis upstream: the ACL user and password, read from files only Envoy's
 * user may read (never inline: the xDS files are not secret). The file names carry the secret's
 * version, so a rotation changes the cluster, and Envoy's new connections log in with the new
 * password without a restart.
 */
function redisUpstreamAuth(auth: { usernameFile?: string; passwordFile: string }): EnvoyObject {
  return {
    'envoy.filters.network.redis_proxy': {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.redis_proxy.v3.RedisProtocolOptions',
      auth_password: { filename: auth.passwordFile },
      ...(auth.usernameFile ? { auth_username: { filename: auth.usernameFile } } : {}),
    },
  };
}
