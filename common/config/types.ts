import type { IssuerConfig } from '../../ext-authz/identity/types.ts';
import type { ConsoleSettings } from '../../console/settings.ts';
import type { DrainConfig } from './drain.ts';

/** The operator's gateway configuration (sluice.yaml), validated once and frozen. */

/** One upstream address of a target. */
export interface Endpoint {
  host: string;
  port: number;
}

/** A service Sluice guards, declared once; everything else refers to it by name. */
export interface TargetConfig {
  name: string;
  description: string;
  protocol: 'http' | 'postgres' | 'redis';
  endpoints: Endpoint[];
  lbPolicy: 'round_robin' | 'least_request' | 'random';
  healthCheck: { path: string; interval: string; timeout: string; unhealthyThreshold: number; healthyThreshold: number } | null;
  /** TLS to the upstream; null = plaintext. Paths are absolute (resolved from the config file). */
  tls: { sni?: string; caFile?: string; certFile?: string; keyFile?: string; subjectAltNames: string[] } | null;
  /** How callers reach it (HTTP): host names ([] = any) and a path prefix. */
  http: { hosts: string[]; pathPrefix: string };
  /** A PostgreSQL target's listener and session bounds (null for other protocols). */
  postgres: PostgresTargetConfig | null;
  /** A Redis target's listener, deny list and command checking (null for other protocols). */
  redis: RedisTargetConfig | null;
  /** Envoy durations, defaults filled in from `envoy:`. */
  timeouts: { connect: string; request: string; idle: string };
}

export interface PostgresTargetConfig {
  port: number;
  maxMessageBytes: number;
  statementCache: string;
  recheck: string;
  expiryGrace: string;
  holdBudget: string;
  maxRecordedStatements: number;
  maxStatementBytes: number;
  allowCleartextUpstream: boolean;
  /** Client TLS terminated by Envoy (paths absolute); absent: plaintext clients only. */
  tls?: { certFile: string; keyFile: string; require: boolean };
  /** Per-session roles minted through an admin credential; absent: the target's credential logs in. */
  sessionRoles?: SessionRolesConfig;
}

/** `targets[].postgres.sessionRoles` (targets-schema.ts), defaults filled in. */
export interface SessionRolesConfig {
  admin: { user: string; secret: string; database: string };
  grantable: string[];
  namePrefix: string;
  onEnd: 'drop' | 'disable';
  ownedObjects: 'drop' | 'reassign';
  reassignTo?: string;
  adminTimeout: string;
}

export type RedisRecording = 'commands' | 'commands+replies';

export interface RedisTargetConfig {
  port: number;
  /** Upper-case command names refused for everyone besides the built-in list. */
  deniedCommands: string[];
  commands: 'auto' | 'on' | 'off';
  /** What a command check records: the commands alone, or their replies too (ext-proc reads them). */
  recording: RedisRecording;
  opTimeout: string;
  maxRecordedCommands: number;
  allowPrivilegedUpstream: boolean;
}

/** One target's upstream credential: a stored secret, or an OAuth2 token minted from one. */
export interface CredentialEntry {
  target: string;
  header: string;
  template: string;
  secret?: string;
  postgres?: { user?: string };
  /** Redis targets: the ACL user the gateway logs in upstream as (AUTH user password); absent: the password alone. */
  redis?: { user?: string };
  oauth2?: {
    tokenUrl: string;
    clientId: string;
    clientSecret: string;
    scopes: string[];
    audience?: string;
    auth: 'basic' | 'body';
    timeoutMs: number;
    refreshSkewMs: number;
  };
}

export interface SluiceConfig {
  /** The file this was read from (absolute), and its folder: relative paths resolve from there. */
  file: string;
  baseDir: string;
  targets: TargetConfig[];
  extAuthz: {
    host: string;
    port: number;
    /** Where it is reached when it runs apart (schema: extAuthz.endpoints); [] = host:port. */
    endpoints: Endpoint[];
    policyDir: string;
    maxTokenBytes: number;
    tokenCacheEntries: number;
    /** How a replica leaves on SIGTERM (common/grpc-server.ts drain). */
    drain: DrainConfig;
  };
  issuers: IssuerConfig[];
  envoy: {
    listenAddress: string;
    listenPort: number;
    adminAddress: string;
    adminPort: number;
    xdsDir: string;
    extAuthzTimeout: string;
    approvalTimeout: string;
    connectTimeout: string;
    routeTimeout: string;
    routeIdleTimeout: string;
    maxRequestBodyBytes: number;
    maxRequestHeadersKb: number;
  };
  log: { level: string; decisionLog: string };
  extProc: {
    host: string;
    port: number;
    /** Where Envoy reaches it when it runs apart (schema: extProc.endpoints); [] = host:port. */
    endpoints: Endpoint[];
    adminPort: number;
    /** How a replica leaves on SIGTERM (common/grpc-server.ts drain). */
    drain: DrainConfig;
    /** YAML file of `secrets: { name: value }`, watched; '' for none (environment only). */
    secretsFile: string;
    /**
     * Secret (in the secret stores) whose value keys the per-secret versions records and reload
     * logs name (HMAC-SHA-256, at least 16 bytes); '' to use versionKeyFile instead.
     */
    versionKeySecret: string;
    /** The version key generated on first start (32 random bytes, mode 0600), relative to the config file. */
    versionKeyFile: string;
    /** Request headers always removed before the upstream (besides Authorization). */
    removeRequestHeaders: string[];
    /** Per target: which secret to inject, in which header, with which template. */
    credentials: CredentialEntry[];
    /** Masking profiles (compiled by ext-proc/masking) and the operator's default per target. */
    masking: {
      profiles: unknown[];
      targets: Record<string, string>;
      /** Secret (in the secret stores) holding the HMAC key of the `hash` strategy. */
      hashKeySecret: string;
    };
    /** Session recording: one record per exchange, for audit and replay. */
    sessions: {
      store: 'file' | 'postgres' | 'off';
      dir: string;
      databaseUrl: string;
      maxBodyBytes: number;
      maxQueuedRecords: number;
      onFull: 'deny' | 'drop';
      /**
       * Directory of the open-exchange journal (ext-proc/sessions/open-journal.ts), relative to the
       * config file: one locked file per ext-proc instance (its replica id, else its gRPC port),
       * read at start to record the exchanges a killed process left as `incomplete`.
       */
      journalDir: string;
      /**
       * Secret in the secret stores whose value (UTF-8, at least 16 bytes) keys the hash chain of
       * the session records (HMAC-SHA-256), so that rewriting the store needs the key too; '' =
       * unkeyed SHA-256. Read once at startup.
       */
      chainKeySecret: string;
      /** Whole days ("90d"): ext-proc purges records that started longer ago, hourly, keeping the chain verifiable; '' = never. */
      retention: string;
    };
  };
  /** ext-authz's admin HTTP server (health, readiness, approvals API). */
  admin: { host: string; port: number };
  approvals: {
    store: 'memory' | 'redis';
    redisUrl: string;
    redisKeyPrefix: string;
    publicUrl: string;
    webhooks: { url: string; format: 'json' | 'slack' }[];
    cleanupIntervalMs: number;
  };
  gateway: { drainTimeout: string; maxRestartDelay: string };
  console: ConsoleSettings;
  dev: { enabled: boolean; issuerPort: number; upstreamPort: number; audience: string };
}

/** One problem in the config file, where the operator has to fix it. */
export interface ConfigIssue {
  file: string;
  line: number;
  column: number;
  /** JSON pointer inside the document, e.g. `/targets/2/endpoints/0`. */
  path: string;
  message: string;
}
