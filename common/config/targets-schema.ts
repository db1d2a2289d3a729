/**
 * `targets:` in sluice.yaml: every service Sluice guards, declared once. Policies, credentials and
 * masking defaults refer to a target by name; the Envoy config is generated from these entries.
 */

const DURATION = { type: 'string', pattern: '^[0-9]+(\\.[0-9]{1,3})?s$', hint: 'must be a duration in seconds, e.g. "5s" or "0.25s"' } as const;
export const TARGET_NAME = {
  type: 'string', maxLength: 128, pattern: '^[a-z0-9][a-z0-9._-]*$',
  hint: 'must be lower-case letters, digits, ".", "_" or "-", starting with a letter or digit',
} as const;
export const ENDPOINT = {
  type: 'string', pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9][A-Za-z0-9.-]*):[0-9]{1,5}$',
  hint: 'must be "host:port" (a host name or IP address; IPv6 in brackets)',
} as const;
/** A PostgreSQL role name as the gateway writes it (always quoted in SQL; lower-case keeps it one spelling). */
export const PG_ROLE_NAME = {
  type: 'string', maxLength: 63, pattern: '^[a-z_][a-z0-9_]*$',
  hint: 'must be a lower-case PostgreSQL role name: letters, digits and "_", not starting with a digit, at most 63 characters',
} as const;
const SECRET_NAME = { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]*$', hint: 'must name a secret: lower-case letters, digits, ".", "_" or "-"' } as const;
const HOST = {
  type: 'string', pattern: '^(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$',
  hint: 'must be a host name, optionally with a leading "*." wildcard',
} as const;

const REDIS_COMMAND = {
  type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_.|-]*$', maxLength: 64,
  hint: 'must be a Redis command name such as EVAL or XADD',
} as const;

export const TARGET_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'endpoints'],
  properties: {
    name: TARGET_NAME,
    description: { type: 'string', default: '' },
    protocol: { enum: ['http', 'postgres', 'redis'], default: 'http', hint: 'must be "http", "postgres" or "redis"' },
    /** One or several upstream addresses, load-balanced. */
    endpoints: { type: 'array', minItems: 1, items: ENDPOINT, hint: 'must list at least one "host:port"' },
    lbPolicy: { enum: ['round_robin', 'least_request', 'random'], default: 'round_robin' },
    healthCheck: {
      type: 'object', additionalProperties: false,
      properties: {
        path: { type: 'string', pattern: '^/', default: '/' },
        interval: { ...DURATION, default: '5s' },
        timeout: { ...DURATION, default: '1s' },
        unhealthyThreshold: { type: 'integer', minimum: 1, default: 3 },
        healthyThreshold: { type: 'integer', minimum: 1, default: 1 },
      },
    },
    /** TLS to the upstream. Absent or `enabled: false`: plaintext. The server certificate is always verified. */
    tls: {
      type: 'object', additionalProperties: false,
      properties: {
        enabled: { type: 'boolean', default: true },
        sni: { type: 'string', minLength: 1 },
        /** CA bundle (PEM) that signs the upstream's certificate; default: the system bundle. */
        caFile: { type: 'string', minLength: 1 },
        /** Client certificate and key (PEM), for upstreams that want mutual TLS. */
        certFile: { type: 'string', minLength: 1 },
        keyFile: { type: 'string', minLength: 1 },
        /** Names the certificate must carry; default: the SNI name. */
        subjectAltNames: { type: 'array', items: { type: 'string', minLength: 1 } },
      },
    },
    /** How callers reach an HTTP target: by host name(s), path prefix, or both. */
    http: {
      type: 'object', additionalProperties: false,
      properties: {
        hosts: { type: 'array', items: HOST, uniqueItems: true, default: [] },
        pathPrefix: { type: 'string', pattern: '^/', default: '/', hint: 'must start with "/"' },
      },
    },
    /** A PostgreSQL target: where clients connect, and how each session is bounded. */
    postgres: {
      type: 'object', additionalProperties: false, required: ['port'],
      properties: {
        /** The port Envoy listens on for this target (on envoy.listenAddress). */
        port: { type: 'integer', minimum: 1, maximum: 65535 },
        /** Largest protocol message either side may send (a bigger one closes the session). */
        maxMessageBytes: { type: 'integer', minimum: 65536, maximum: 1073741824, default: 16777216 },
        /** How long an allowed statement text is remembered per session before it is checked again. */
        statementCache: { ...DURATION, default: '5s' },
        /** How often a live session's login is checked again (revocation by a policy reload). */
        recheck: { ...DURATION, default: '15s' },
        /** Extra life after the token's exp before the session is ended. */
        expiryGrace: { ...DURATION, default: '0s' },
        /** How long a statement may wait for an approver; "0s": approve rules refuse instead. */
        holdBudget: { ...DURATION, default: '300s' },
        /** Statements kept per session record (the rest are counted). */
        maxRecordedStatements: { type: 'integer', minimum: 1, default: 10000 },
        /** Statement text kept per recorded statement, bytes. */
        maxStatementBytes: { type: 'integer', minimum: 64, default: 8192 },
        /** Let the gateway send the real password in cleartext when the server asks (only for a server on loopback or behind TLS). */
        allowCleartextUpstream: { type: 'boolean', default: false },
        /**
         * Short-lived, least-privilege database users: ext-proc mints one role per session
         * (`CREATE ROLE <namePrefix><id> LOGIN … VALID UNTIL <token exp + expiryGrace> IN ROLE <granted>`)
         * over an admin connection, logs in as it, and drops (or disables) it when the session ends.
         * The policy's `database.grant` names the roles; only `grantable` ones are ever granted.
         */
        sessionRoles: {
          type: 'object', additionalProperties: false, required: ['admin', 'grantable'],
          properties: {
            /** The admin credential: a role with CREATEROLE (see the README), its password from the secret stores. */
            admin: {
              type: 'object', additionalProperties: false, required: ['user', 'secret'],
              properties: {
                user: { type: 'string', minLength: 1, maxLength: 63 },
                secret: SECRET_NAME,
                /** Where the admin lists and sweeps roles (role objects are per database: a session's own database is used for its cleanup). */
                database: { type: 'string', minLength: 1, maxLength: 63, default: 'postgres' },
              },
            },
            /** The roles a policy may grant; a verdict naming any other refuses the login. */
            grantable: { type: 'array', minItems: 1, uniqueItems: true, items: PG_ROLE_NAME },
            /** Minted roles are `<namePrefix><16 hex>`; the sweep only touches roles with it and the gateway's marker comment. */
            namePrefix: { type: 'string', pattern: '^[a-z_][a-z0-9_]{0,31}$', default: 'sluice_s_', hint: 'must be lower-case letters, digits or "_", at most 32 characters' },
            /** At the session's end: drop the role, or keep it with NOLOGIN (for audits that want it). */
            onEnd: { enum: ['drop', 'disable'], default: 'drop' },
            /** Objects the role created in the session's database: dropped with it, or reassigned to `reassignTo`. */
            ownedObjects: { enum: ['drop', 'reassign'], default: 'drop' },
            reassignTo: PG_ROLE_NAME,
            /** How long one admin statement may take (connect included) before the login fails closed. */
            adminTimeout: { ...DURATION, default: '5s' },
          },
        },
        /**
         * TLS from clients, terminated by Envoy: direct TLS (PostgreSQL 17 `sslnegotiation=direct`,
         * ALPN "postgresql"). `require` (default): a plaintext client is refused with a clear FATAL.
         */
        tls: {
          type: 'object', additionalProperties: false, required: ['certFile', 'keyFile'],
          properties: {
            certFile: { type: 'string', minLength: 1 },
            keyFile: { type: 'string', minLength: 1 },
            require: { type: 'boolean', default: true },
          },
        },
      },
    },
    /** A Redis target: where clients connect (AUTH <token>), what is never let through, and how commands are checked. */
    redis: {
      type: 'object', additionalProperties: false, required: ['port'],
      properties: {
        /** The port Envoy listens on for this target (on envoy.listenAddress). */
        port: { type: 'integer', minimum: 1, maximum: 65535 },
        /** Commands refused for everyone, besides the ones always refused (CONFIG, SELECT, FLUSHALL, ...). */
        deniedCommands: { type: 'array', uniqueItems: true, items: REDIS_COMMAND, default: [] },
        /**
         * Per-identity command and key rules and the command log (ext-proc parses every command):
         * `auto` (default) turns it on when a policy of the target needs it, `on` always, `off`
         * never (a policy that needs it then does not load).
         */
        commands: { enum: ['auto', 'on', 'off'], default: 'auto', hint: 'must be "auto", "on" or "off"' },
        /**
         * What the command log of a target with command checks holds, and so what ext-proc sees:
         * `commands` (default): every command (keys, masked values, refusals); ext-proc reads the
         * client's bytes only, redis_proxy answers every command itself, refusals included.
         * `commands+replies`: also each reply's size, time and error; ext-proc then reads every
         * reply too, which costs most of the throughput (README: figures).
         */
        recording: { enum: ['commands', 'commands+replies'], default: 'commands', hint: 'must be "commands" or "commands+replies"' },
        /** How long one command may take upstream before the client gets an error. */
        opTimeout: { ...DURATION, default: '5s' },
        /**
         * Commands kept per session record (the rest are counted). A record is written in one go
         * when its connection ends: measured, 32 records of 10,000 commands each stalled ext-proc
         * past Envoy's 2 s message timeout, so the default keeps records small.
         */
        maxRecordedCommands: { type: 'integer', minimum: 1, default: 1000 },
        /**
         * Development only: let the upstream user run CONFIG (e.g. a local Redis without ACL
         * users). Without it, a target whose upstream user can run CONFIG is refused at start.
         */
        allowPrivilegedUpstream: { type: 'boolean', default: false },
      },
    },
    timeouts: {
      type: 'object', additionalProperties: false,
      properties: {
        /** Upstream connect timeout; default envoy.connectTimeout. */
        connect: DURATION,
        /** Whole-response limit; "0s" = none (streams); default envoy.routeTimeout. */
        request: DURATION,
        /** A stream silent this long is reset; default envoy.routeIdleTimeout. */
        idle: DURATION,
      },
    },
  },
} as const;
