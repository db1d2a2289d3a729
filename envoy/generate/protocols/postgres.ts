import { socketAddress } from '../envoy-values.ts';
import { EXT_PROC_CLUSTER, LISTENER_TYPE, targetClusterName } from '../resource-types.ts';
import type { EnvoyObject, TargetSpec } from '../types.ts';
import type { ProtocolBuilder } from './protocol.ts';

/** The gRPC metadata key that tells ext-proc which target a network stream belongs to. */
export const TARGET_METADATA_KEY = 'x-sluice-target';

/**
 * How long Envoy waits for ext-proc's answer to one chunk. ext-proc answers every chunk within
 * its own respond-within budget (150 ms), also while a login or statement is still being checked
 * (the outcome follows as data of its own), so this only fires when ext-proc is hung.
 */
export const PG_MESSAGE_TIMEOUT = '2s';

export function postgresListenerName(target: string): string {
  return `pg_${target}`;
}

/**
 * PostgreSQL targets: one listener each, on the target's own port. Envoy's network ext_proc
 * filter hands every byte of the session to ext-proc (which runs the login with the caller's
 * token, checks each statement and masks results), then tcp_proxy carries it to the target's
 * cluster. failure_mode_allow is off: with ext-proc gone, the connection closes, nothing passes.
 */
export const postgresProtocol: ProtocolBuilder = {
  protocol: 'postgres',

  check(target) {
    if (!target.postgres) return ['postgres: a postgres target needs postgres.port (where clients connect)'];
    const issues: string[] = [];
    if (!Number.isInteger(target.postgres.port) || target.postgres.port < 1 || target.postgres.port > 65535) issues.push(`postgres.port: ${target.postgres.port} is not a port`);
    return issues;
  },

  build(targets, context) {
    const listeners = targets.map((target): EnvoyObject => ({
      '@type': LISTENER_TYPE,
      name: postgresListenerName(target.name),
      address: socketAddress(context.input.envoy.listenAddress, target.postgres!.port),
      filter_chains: [{
        filters: [
          {
            name: 'envoy.filters.network.ext_proc',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.ext_proc.v3.NetworkExternalProcessor',
              grpc_service: {
                envoy_grpc: { cluster_name: EXT_PROC_CLUSTER },
                initial_metadata: [{ key: TARGET_METADATA_KEY, value: target.name }],
              },
              failure_mode_allow: false,
              message_timeout: PG_MESSAGE_TIMEOUT,
              stat_prefix: postgresListenerName(target.name),
            },
          },
          {
            name: 'envoy.filters.network.tcp_proxy',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
              stat_prefix: postgresListenerName(target.name),
              cluster: targetClusterName(target.name),
            },
          },
        ],
      }],
    }));
    return {
      listeners,
      routeConfigs: [],
      owners: targets.map((t: TargetSpec) => [postgresListenerName(t.name), t.name]),
    };
  },
};
