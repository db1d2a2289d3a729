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

/** Tells ext-proc how the client reached the listener: `plaintext-refused` when TLS is required and the client did not speak it. */
export const TRANSPORT_METADATA_KEY = 'x-sluice-transport';

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
    const listeners = targets.map((target): EnvoyObject => {
      const pg = target.postgres!;
      const chain = (transport: 'tls' | 'plaintext' | 'plaintext-refused'): EnvoyObject => ({
        ...(pg.tls ? { filter_chain_match: { transport_protocol: transport === 'tls' ? 'tls' : 'raw_buffer' } } : {}),
        ...(transport === 'tls' ? { transport_socket: downstreamTls(pg.tls!) } : {}),
        filters: sessionFilters(target, transport),
      });
      const chains = !pg.tls ? [chain('plaintext')] : [chain('tls'), chain(pg.tls.require ? 'plaintext-refused' : 'plaintext')];
      return {
        '@type': LISTENER_TYPE,
        name: postgresListenerName(target.name),
        address: socketAddress(context.input.envoy.listenAddress, pg.port),
        ...(pg.tls ? { listener_filters: [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } }] } : {}),
        filter_chains: chains,
      };
    });
    return {
      listeners,
      routeConfigs: [],
      owners: targets.map((t: TargetSpec) => [postgresListenerName(t.name), t.name]),
    };
  },
};

/** The session's filters on one filter chain: ext-proc (told the target and the transport), then tcp_proxy. */
function sessionFilters(target: TargetSpec, transport: 'tls' | 'plaintext' | 'plaintext-refused'): EnvoyObject[] {
  return [
    {
      name: 'envoy.filters.network.ext_proc',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.network.ext_proc.v3.NetworkExternalProcessor',
        grpc_service: {
          envoy_grpc: { cluster_name: EXT_PROC_CLUSTER },
          initial_metadata: [{ key: TARGET_METADATA_KEY, value: target.name }, { key: TRANSPORT_METADATA_KEY, value: transport }],
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
  ];
}

/** Direct TLS as PostgreSQL 17 clients speak it: ALPN "postgresql", TLS 1.2 or later. */
function downstreamTls(tls: { certFile: string; keyFile: string }): EnvoyObject {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
      common_tls_context: {
        tls_params: { tls_minimum_protocol_version: 'TLSv1_2' },
        tls_certificates: [{ certificate_chain: { filename: tls.certFile }, private_key: { filename: tls.keyFile } }],
        alpn_protocols: ['postgresql'],
      },
    },
  };
}
