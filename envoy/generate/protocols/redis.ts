import { socketAddress } from '../envoy-values.ts';
import { EXT_AUTHZ_CLUSTER, EXT_PROC_CLUSTER, LISTENER_TYPE, targetClusterName } from '../resource-types.ts';
import type { EnvoyObject, TargetSpec } from '../types.ts';
import { PG_MESSAGE_TIMEOUT, TARGET_METADATA_KEY } from './postgres.ts';
import type { ProtocolBuilder } from './protocol.ts';

/**
 * Commands no caller may send to any redis target, whatever policy says. Each one either hands
 * out or changes what the gateway relies on: CONFIG GET requirepass returns the server's password
 * (measured with the default user), SELECT switches the database of an upstream connection Envoy
 * pools for every client, FLUSHALL/FLUSHDB/KEYS/DEBUG/SHUTDOWN/SAVE… are the operator's, SCRIPT
 * (FLUSH) drops every client's scripts, SLOWLOG and MONITOR show other clients' arguments.
 * Envoy matches a fault on the command name only, so SCRIPT is refused whole (EVAL still works).
 * The upstream ACL user (README) refuses them too: this list does not depend on it.
 */
export const ALWAYS_DENIED_COMMANDS: readonly string[] = Object.freeze([
  'ACL', 'BGREWRITEAOF', 'BGSAVE', 'CLIENT', 'CLUSTER', 'CONFIG', 'DEBUG', 'FAILOVER', 'FLUSHALL', 'FLUSHDB',
  'FUNCTION', 'KEYS', 'LATENCY', 'MIGRATE', 'MODULE', 'MONITOR', 'MOVE', 'PSYNC', 'REPLICAOF', 'SAVE',
  'SCRIPT', 'SELECT', 'SHUTDOWN', 'SLAVEOF', 'SLOWLOG', 'SWAPDB', 'SYNC',
]);

/** Tells ext-proc that a network stream is a redis connection (its target comes in TARGET_METADATA_KEY). */
export const PROTOCOL_METADATA_KEY = 'x-sluice-protocol';

/**
 * Tells ext-proc what the listener of a redis connection sends it: `commands` (client bytes only)
 * or `commands+replies` (both directions). ext-proc follows the connection's listener, not its own
 * config, so a reload that changes `recording` never leaves a connection with the other shape.
 */
export const RECORDING_METADATA_KEY = 'x-sluice-redis-recording';

/**
 * The command ext-proc sends upstream in place of a command it refuses inside MULTI when it does
 * not read replies (`recording: commands`). redis_proxy forwards it (it is one of its custom
 * commands); Redis knows no such command, so it refuses it when queueing, and that makes its EXEC
 * answer EXECABORT: the transaction is discarded whole by Redis itself, and nothing of the refused
 * command runs. Its argument is the refusal, which Redis quotes back in its error.
 */
export const REFUSED_IN_MULTI_COMMAND = 'sluice.refused';

export function redisListenerName(target: string): string {
  return `redis_${target}`;
}

/** Every command a target refuses: the built-in list and the target's own, upper case, sorted. */
export function deniedCommandsOf(own: readonly string[] = []): string[] {
  return [...new Set([...ALWAYS_DENIED_COMMANDS, ...own.map((c) => c.toUpperCase())])].sort();
}

/**
 * Redis targets: one listener each, on the target's own port, with redis_proxy in front of the
 * target's cluster. Clients log in with `AUTH <token>`; redis_proxy asks ext-authz
 * (RedisProxyExternalAuth, the target named in the call's metadata) and ends the login at the
 * expiration ext-authz returns (the token's exp). Denied commands are answered by Envoy with an
 * error fault and never reach the server. With command checks, Sluice's network ext_proc sits in
 * front and sees every command (per-identity rules, the command log); it fails closed.
 * The upstream login (ACL user and password) is on the cluster (target-cluster.ts).
 */
export const redisProtocol: ProtocolBuilder = {
  protocol: 'redis',

  check(target) {
    if (!target.redis) return ['redis: a redis target needs redis.port (where clients connect)'];
    const issues: string[] = [];
    if (!Number.isInteger(target.redis.port) || target.redis.port < 1 || target.redis.port > 65535) issues.push(`redis.port: ${target.redis.port} is not a port`);
    if (target.tls) issues.push('tls: TLS to a redis upstream is not supported yet');
    return issues;
  },

  build(targets, context) {
    const listeners = targets.map((target): EnvoyObject => ({
      '@type': LISTENER_TYPE,
      name: redisListenerName(target.name),
      address: socketAddress(context.input.envoy.listenAddress, target.redis!.port),
      filter_chains: [{ filters: [...(target.redis!.commandChecks ? [commandFilter(target)] : []), redisProxy(target, context.input.envoy.extAuthzTimeout)] }],
    }));
    return { listeners, routeConfigs: [], owners: targets.map((t) => [redisListenerName(t.name), t.name]) };
  },
};

function redisProxy(target: TargetSpec, extAuthzTimeout: string): EnvoyObject {
  const redis = target.redis!;
  return {
    name: 'envoy.filters.network.redis_proxy',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.redis_proxy.v3.RedisProxy',
      stat_prefix: redisListenerName(target.name),
      settings: { op_timeout: redis.opTimeout },
      prefix_routes: { catch_all_route: { cluster: targetClusterName(target.name) } },
      external_auth_provider: {
        grpc_service: {
          envoy_grpc: { cluster_name: EXT_AUTHZ_CLUSTER },
          timeout: extAuthzTimeout,
          initial_metadata: [{ key: TARGET_METADATA_KEY, value: target.name }],
        },
        // Without it a login would outlive its token. ext-authz always returns an expiration
        // (measured: an OK without one makes the very next command fail with NOAUTH).
        enable_auth_expiration: true,
      },
      faults: [{
        fault_type: 'ERROR',
        fault_enabled: { default_value: { numerator: 100, denominator: 'HUNDRED' } },
        commands: deniedCommandsOf(redis.deniedCommands).map((c) => c.toLowerCase()),
      }],
      ...(redis.commandChecks && redis.recording === 'commands' ? { custom_commands: [REFUSED_IN_MULTI_COMMAND] } : {}),
    },
  };
}

/**
 * Sluice's RESP processor in front of redis_proxy: every command is checked and recorded; fail
 * closed. With `recording: commands` it reads the client's bytes only: redis_proxy writes each
 * reply on its own, so reading replies costs one gRPC round trip per reply (measured with an
 * echoing processor, bench:redis, three runs: both directions ×0.13–0.21 of plain redis_proxy,
 * client bytes only ×0.50–0.90).
 */
function commandFilter(target: TargetSpec): EnvoyObject {
  const recording = target.redis!.recording;
  return {
    name: 'envoy.filters.network.ext_proc',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.ext_proc.v3.NetworkExternalProcessor',
      grpc_service: {
        envoy_grpc: { cluster_name: EXT_PROC_CLUSTER },
        initial_metadata: [
          { key: TARGET_METADATA_KEY, value: target.name },
          { key: PROTOCOL_METADATA_KEY, value: 'redis' },
          { key: RECORDING_METADATA_KEY, value: recording },
        ],
      },
      ...(recording === 'commands' ? { processing_mode: { process_write: 'SKIP' } } : {}),
      failure_mode_allow: false,
      message_timeout: PG_MESSAGE_TIMEOUT,
      stat_prefix: redisListenerName(target.name),
    },
  };
}
