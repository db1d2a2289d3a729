import type { CheckRequestMessage, ProtocolAdapter } from './adapter.ts';
import { httpAdapter } from './http/adapter.ts';
import { postgresAdapter } from './postgres/adapter.ts';
import { redisAdapter } from './redis/adapter.ts';

export type { CheckRequestMessage, CheckResponseMessage, ProtocolAdapter } from './adapter.ts';

/**
 * Every protocol the ext_authz edge speaks. Adding one (redis) is a folder beside http/
 * with its adapter, and one entry here; the adapter carries its protocol name, so nothing else
 * lists protocols. The core still has to learn the new action kind (check-input.ts `Action`), and
 * the compiler points at each switch that must handle it.
 */
export const PROTOCOL_ADAPTERS: readonly ProtocolAdapter[] = Object.freeze([
  // Before http: a PostgreSQL check carries HTTP attributes too (the bearer header, the statement as body).
  postgresAdapter,
  redisAdapter,
  httpAdapter,
]);

/**
 * The adapter for a CheckRequest. One that no adapter recognizes is read as HTTP: Envoy's HTTP
 * filter was the only caller before there were others, and such a request reads as an empty HTTP
 * check (no target, no credential), which is denied exactly as it always was.
 */
export function adapterFor(request: CheckRequestMessage): ProtocolAdapter {
  return PROTOCOL_ADAPTERS.find((adapter) => adapter.recognizes(request)) ?? httpAdapter;
}
