/**
 * `targets:` in sluice.yaml: every service Sluice guards, declared once. Policies, credentials and
 * masking defaults refer to a target by name; the Envoy config is generated from these entries.
 */

const DURATION = { type: 'string', pattern: '^[0-9]+(\\.[0-9]{1,3})?s$', hint: 'must be a duration in seconds, e.g. "5s" or "0.25s"' } as const;
export const TARGET_NAME = {
  type: 'string', maxLength: 128, pattern: '^[a-z0-9][a-z0-9._-]*$',
  hint: 'must be lower-case letters, digits, ".", "_" or "-", starting with a letter or digit',
} as const;
const ENDPOINT = {
  type: 'string', pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9][A-Za-z0-9.-]*):[0-9]{1,5}$',
  hint: 'must be "host:port" (a host name or IP address; IPv6 in brackets)',
} as const;
const HOST = {
  type: 'string', pattern: '^(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$',
  hint: 'must be a host name, optionally with a leading "*." wildcard',
} as const;

export const TARGET_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'endpoints'],
  properties: {
    name: TARGET_NAME,
    description: { type: 'string', default: '' },
    protocol: { enum: ['http', 'postgres'], default: 'http', hint: 'must be "http" or "postgres" (Redis targets are not supported by this version yet)' },
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
