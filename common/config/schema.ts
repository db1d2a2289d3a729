import { ISSUER_SCHEMA } from '../../ext-authz/identity/issuer-schema.ts';
import { CREDENTIAL_SCHEMA } from '../../ext-proc/credentials-schema.ts';
import { MASKING_PROFILE_SCHEMA } from '../../ext-proc/masking/profile-schema.ts';
import { ENDPOINT, TARGET_SCHEMA } from './targets-schema.ts';
import { drainSchema } from './drain.ts';
import { CONSOLE_SCHEMA } from '../../console/settings.ts';

/*
 * The schema of sluice.yaml, assembled from the fragments each module owns (issuers from
 * ext-authz/identity, targets from here, credentials and masking profiles from ext-proc), so the
 * whole file is validated once and every problem is reported together with file:line:col.
 * `additionalProperties: false` everywhere: a typo is an error, never a silently ignored option.
 */

const port = { type: 'integer', minimum: 0, maximum: 65535 } as const;
const SECONDS = { type: 'string', pattern: '^[0-9]+(\\.[0-9]{1,3})?s$', hint: 'must be a duration in seconds, e.g. "1s"' } as const;
const WHOLE_SECONDS = { type: 'string', pattern: '^[0-9]+s$', hint: 'must be whole seconds, e.g. "30s"' } as const;

export const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    targets: { type: 'array', items: TARGET_SCHEMA, default: [] },
    extAuthz: {
      type: 'object', additionalProperties: false,
      properties: {
        host: { type: 'string', default: '127.0.0.1' },
        port: { ...port, default: 9001 },
        /**
         * Where Envoy and ext-proc reach ext-authz when it runs apart from them (a Kubernetes
         * Service name); [] = host:port, a wildcard host on loopback. `sluice gateway` always
         * reaches its own child.
         */
        endpoints: { type: 'array', items: ENDPOINT, default: [] },
        policyDir: { type: 'string', default: 'policies' },
        maxTokenBytes: { type: 'integer', minimum: 512, maximum: 1048576, default: 16384 },
        tokenCacheEntries: { type: 'integer', minimum: 0, default: 10000 },
        /** On SIGTERM: NOT_SERVING, serve on for `delay`, then in-flight checks get `timeout` (above envoy.approvalTimeout, so a held request is not cut). */
        drain: drainSchema('35s'),
      },
      default: {},
    },
    issuers: { type: 'array', items: ISSUER_SCHEMA, default: [] },
    envoy: {
      type: 'object', additionalProperties: false,
      moved: {
        template: 'the Envoy config is generated from targets: (sluice.yaml); the hand-written template is gone',
        upstream: 'declare each upstream as a target (targets: [{ name, endpoints: ["host:port"], http: { pathPrefix } }])',
      },
      properties: {
        listenAddress: { type: 'string', default: '127.0.0.1' },
        listenPort: { ...port, default: 10000 },
        adminAddress: { type: 'string', default: '127.0.0.1' },
        adminPort: { ...port, default: 9901 },
        /** Where the generated dynamic resources (lds/rds/cds) are written; Envoy watches it. */
        xdsDir: { type: 'string', default: '.sluice/envoy' },
        extAuthzTimeout: { ...SECONDS, default: '1s' },
        // Routes of targets whose policies may pause for an approval get this ext_authz timeout
        // instead; the hold is capped 1 s below it so Envoy never gives up first.
        approvalTimeout: { ...WHOLE_SECONDS, default: '30s' },
        // Defaults of every target's timeouts. Long-lived streams (SSE, downloads) must not be cut
        // by a total time: routeTimeout 0s = no limit; a stream silent for routeIdleTimeout is reset.
        connectTimeout: { ...SECONDS, default: '5s' },
        routeTimeout: { ...WHOLE_SECONDS, default: '0s' },
        routeIdleTimeout: { ...WHOLE_SECONDS, default: '300s' },
        /** Bodies Envoy buffers for content guardrails; larger ones get 413, never pass unchecked. */
        maxRequestBodyBytes: { type: 'integer', minimum: 1024, maximum: 67108864, default: 1048576 },
        /** Envoy's request-header limit: past it Envoy closes an HTTP/1 connection unanswered. */
        maxRequestHeadersKb: { type: 'integer', minimum: 16, maximum: 8192, default: 128 },
      },
      default: {},
    },
    log: {
      type: 'object', additionalProperties: false,
      properties: {
        level: { enum: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], default: 'info' },
        decisionLog: { type: 'string', default: 'stdout' },
      },
      default: {},
    },
    extProc: {
      type: 'object', additionalProperties: false,
      properties: {
        host: { type: 'string', default: '127.0.0.1' },
        port: { ...port, default: 9002 },
        /** Where Envoy reaches ext-proc when it runs apart (see extAuthz.endpoints); [] = host:port. */
        endpoints: { type: 'array', items: ENDPOINT, default: [] },
        /** ext-proc's own admin server (/healthz, /readyz, /metrics) when it runs on its own. */
        adminPort: { ...port, default: 9081 },
        /** On SIGTERM: NOT_SERVING, serve on for `delay`, then in-flight exchanges get `timeout`. */
        drain: drainSchema('30s'),
        secretsFile: { type: 'string', default: '' },
        /** Secret (in the secret stores) holding the key of secret versions; '' = versionKeyFile. */
        versionKeySecret: { type: 'string', default: '' },
        /** Generated once (32 random bytes, mode 0600) when versionKeySecret is unset; relative to the config file. */
        versionKeyFile: { type: 'string', minLength: 1, default: '.sluice/version-key' },
        removeRequestHeaders: {
          type: 'array', items: { type: 'string', pattern: '^[a-z0-9-]+$' },
          default: ['cookie', 'proxy-authorization', 'x-api-key'],
        },
        credentials: { type: 'array', items: CREDENTIAL_SCHEMA, default: [] },
        masking: {
          type: 'object', additionalProperties: false,
          properties: {
            profiles: { type: 'array', items: MASKING_PROFILE_SCHEMA, default: [] },
            /** The operator's default profile per target (policy rules may choose another). */
            targets: { type: 'object', additionalProperties: { type: 'string' }, default: {} },
            hashKeySecret: { type: 'string', default: '' },
          },
          default: {},
        },
        sessions: {
          type: 'object', additionalProperties: false,
          properties: {
            store: { enum: ['file', 'postgres', 'off'], default: 'file' },
            dir: { type: 'string', default: '.sluice/sessions' },
            databaseUrl: { type: 'string', default: '' },
            maxBodyBytes: { type: 'integer', minimum: 0, maximum: 67108864, default: 65536 },
            maxQueuedRecords: { type: 'integer', minimum: 1, default: 10000 },
            onFull: { enum: ['deny', 'drop'], default: 'deny' },
            /** Where ext-proc journals the exchanges whose record is not stored yet (one file per instance). */
            journalDir: { type: 'string', default: '.sluice/journal' },
            /** Secret (in the secret stores) keying the records' hash chain (HMAC-SHA-256); '' = unkeyed SHA-256. */
            chainKeySecret: { type: 'string', default: '' },
            /** How long records are kept ("90d"); ext-proc purges older ones hourly. '' = kept for ever. */
            retention: { type: 'string', pattern: '^([1-9][0-9]*d)?$', hint: 'must be whole days, e.g. "90d", or "" to keep records for ever', default: '' },
          },
          default: {},
        },
      },
      default: {},
    },
    /** ext-authz's admin HTTP server: /healthz, /readyz, the approvals API. */
    admin: {
      type: 'object', additionalProperties: false,
      properties: {
        host: { type: 'string', default: '127.0.0.1' },
        port: { ...port, default: 9080 },
      },
      default: {},
    },
    approvals: {
      type: 'object', additionalProperties: false,
      moved: {
        host: 'the approvals API is served by the admin server: set admin.host',
        port: 'the approvals API is served by the admin server: set admin.port',
      },
      properties: {
        store: { enum: ['memory', 'redis'], default: 'memory' },
        redisUrl: { type: 'string', pattern: '^rediss?://', default: 'redis://127.0.0.1:6379' },
        redisKeyPrefix: { type: 'string', pattern: '^[A-Za-z0-9:_.-]*$', default: 'sluice:' },
        publicUrl: { type: 'string', default: '' },
        webhooks: {
          type: 'array',
          items: {
            type: 'object', additionalProperties: false, required: ['url'],
            properties: { url: { type: 'string', pattern: '^https?://' }, format: { enum: ['json', 'slack'], default: 'json' } },
          },
          default: [],
        },
        cleanupIntervalMs: { type: 'integer', minimum: 1000, default: 60000 },
      },
      default: {},
    },
    /** The operator console on the admin port (console/). */
    console: CONSOLE_SCHEMA,
    /** `sluice gateway`: how it supervises its children and stops. */
    gateway: {
      type: 'object', additionalProperties: false,
      properties: {
        /** On SIGTERM, how long in-flight requests may take to finish before Envoy is stopped. */
        drainTimeout: { ...WHOLE_SECONDS, default: '30s' },
        /** A child that keeps exiting is restarted after a delay doubling from 0.25 s up to this. */
        maxRestartDelay: { ...WHOLE_SECONDS, default: '30s' },
      },
      default: {},
    },
    dev: {
      type: 'object', additionalProperties: false,
      properties: {
        enabled: { type: 'boolean', default: false },
        issuerPort: { ...port, default: 9090 },
        upstreamPort: { ...port, default: 9091 },
        audience: { type: 'string', default: 'sluice' },
      },
      default: {},
    },
  },
} as const;
