/**
 * The generator's input: targets as declared by the operator, already parsed. Deliberately free
 * of common/config.ts so the two can change apart; the config loader maps onto these types.
 */
export interface Endpoint { host: string; port: number }          // host: IP literal or DNS name
export interface TargetTls { sni?: string; caFile?: string; certFile?: string; keyFile?: string; subjectAltNames: string[] }
export interface TargetHealthCheck { path?: string; intervalMs: number; timeoutMs: number; unhealthyThreshold: number; healthyThreshold: number }
export interface TargetSpec {
  name: string;                                   // [a-z0-9][a-z0-9._-]*
  protocol: 'http' | 'postgres' | 'redis';        // each built by its builder in protocols/
  endpoints: Endpoint[];                          // >= 1, load-balanced
  lbPolicy: 'round_robin' | 'least_request' | 'random';
  healthCheck: TargetHealthCheck | null;          // http: http_health_check on path (default "/"), else tcp
  tls: TargetTls | null;                          // null = plaintext upstream
  http: { hosts: string[]; pathPrefix: string } | null;   // how callers reach it; hosts [] = any host
  postgres?: { port: number; tls?: { certFile: string; keyFile: string; require: boolean } } | null;   // postgres: its listener's port, client TLS
  redis?: RedisSpec | null;                        // redis: its listener, deny list, command checks, upstream login
  timeouts: { connect: string; request: string; idle: string };   // Envoy durations like "5s", "0s"
}
export interface RedisSpec {
  port: number;
  /** The target's own refused commands (upper case); the builder adds the ones always refused. */
  deniedCommands: string[];
  opTimeout: string;
  /** Sluice's network ext_proc parses every command in front of redis_proxy (per-identity rules, command log). */
  commandChecks: boolean;
  /** With command checks: whether ext-proc reads the replies too (`commands+replies`) or the client's bytes only. */
  recording: 'commands' | 'commands+replies';
  /** Files (mode 0600) holding the upstream ACL user and password, read by Envoy; null: no upstream AUTH. */
  upstreamAuth: { usernameFile?: string; passwordFile: string } | null;
}
/** Derived from policies; commandChecks: a redis target's policies need per-command checks. */
export interface RoutingNeeds { mayHold: boolean; inspectsBody: boolean; commandChecks?: boolean }
export interface GeneratorInput {
  envoy: { adminAddress: string; adminPort: number; listenAddress: string; httpPort: number;
           extAuthzTimeout: string; approvalTimeout: string; maxRequestBodyBytes: number;
           /** Envoy's header-size limit (KiB); past it an HTTP/1 connection is closed unanswered. */
           maxRequestHeadersKb: number };
  services: { extAuthz: Endpoint[]; extProc: Endpoint[] };
  targets: TargetSpec[];
  routing: ReadonlyMap<string, RoutingNeeds>;     // missing entry = both false
  xdsDir: string;                                 // absolute directory Envoy watches
}

/** A message of Envoy's API as plain JSON (field names as in the proto, snake_case). */
export type EnvoyObject = Record<string, unknown>;

/** What a path_config_source file holds: resources are Any, so each carries its "@type". */
export interface DiscoveryResponse {
  version_info: string;
  resources: EnvoyObject[];
}

export type XdsFileName = 'cds.json' | 'rds.json' | 'lds.json';

export interface GeneratedConfig {
  bootstrap: EnvoyObject;
  files: Record<XdsFileName, DiscoveryResponse>;
  /** Resource name (cluster, route, listener built for one target) → the target it came from. */
  owners: Map<string, string>;
}
