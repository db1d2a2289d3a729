import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { parseDocument, LineCounter, isNode, type Node as YamlNode, type Document } from 'yaml';
import { SluiceError } from './errors.ts';

/** The operator's gateway configuration (sluice.yaml), validated once and frozen. */
/** One target's upstream credential: a stored secret, or an OAuth2 token minted from one. */
export interface CredentialEntry {
  target: string;
  header: string;
  template: string;
  secret?: string;
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
  /** Folder of the config file; relative paths inside it resolve from here. */
  baseDir: string;
  extAuthz: {
    host: string;
    port: number;
    policyDir: string;
    maxTokenBytes: number;
    tokenCacheEntries: number;
  };
  /** Raw issuer entries; ext-authz/identity validates each one. */
  issuers: unknown[];
  envoy: {
    listenAddress: string;
    listenPort: number;
    adminPort: number;
    extAuthzTimeout: string;
    approvalTimeout: string;
    /** Envoy route timeout for a whole response; "0s" (default) = none, for streams. */
    routeTimeout: string;
    /** Envoy route idle timeout: a silent stream is reset after this long. */
    routeIdleTimeout: string;
    template: string;
    upstream: { host: string; port: number };
  };
  log: { level: string; decisionLog: string };
  extProc: {
    host: string;
    port: number;
    /** YAML file of `secrets: { name: value }`, watched; '' for none (environment only). */
    secretsFile: string;
    /** Request headers always removed before the upstream (besides Authorization). */
    removeRequestHeaders: string[];
    /** Per target: which secret to inject, in which header, with which template. */
    credentials: CredentialEntry[];
    /** Response masking: profiles (ext-proc/masking specs) and which target uses which. */
    masking: {
      profiles: unknown[];
      targets: Record<string, string>;
      /** Secret (in the secret stores) holding the HMAC key of the `hash` strategy. */
      hashKeySecret: string;
    };
    /** Session recording: one record per exchange, for audit and replay. */
    sessions: {
      store: 'file' | 'postgres' | 'off';
      /** File store folder (relative to this config). */
      dir: string;
      databaseUrl: string;
      /** Body bytes kept per direction; the rest is counted and marked truncated. */
      maxBodyBytes: number;
      maxQueuedRecords: number;
      /** When the write queue is full: refuse new exchanges (default) or drop and count records. */
      onFull: 'deny' | 'drop';
    };
  };
  approvals: {
    /** `memory` (one replica) or `redis` (shared by every replica). */
    store: 'memory' | 'redis';
    redisUrl: string;
    /** Prefix of every Redis key, so several gateways can share one Redis. */
    redisKeyPrefix: string;
    /** The approvals API (admin port). */
    host: string;
    port: number;
    /** Public URL of the approvals API, put into notifications. */
    publicUrl: string;
    webhooks: { url: string; format: 'json' | 'slack' }[];
    cleanupIntervalMs: number;
  };
  dev: { enabled: boolean; issuerPort: number; upstreamPort: number; audience: string };
}

const port = { type: 'integer', minimum: 0, maximum: 65535 } as const;
const SECRET_NAME = { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]*$' } as const;
const SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    extAuthz: {
      type: 'object', additionalProperties: false,
      properties: {
        host: { type: 'string', default: '127.0.0.1' },
        port: { ...port, default: 9001 },
        policyDir: { type: 'string', default: 'policies' },
        maxTokenBytes: { type: 'integer', minimum: 512, maximum: 1048576, default: 16384 },
        tokenCacheEntries: { type: 'integer', minimum: 0, default: 10000 },
      },
      default: {},
    },
    issuers: { type: 'array', items: { type: 'object' }, default: [] },
    envoy: {
      type: 'object', additionalProperties: false,
      properties: {
        listenAddress: { type: 'string', default: '127.0.0.1' },
        listenPort: { ...port, default: 10000 },
        adminPort: { ...port, default: 9901 },
        extAuthzTimeout: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?s$', default: '1s' },
        // Routes whose rules may pause for an approval get this ext_authz timeout instead; the
        // hold is capped 1 s below it so Envoy never gives up first.
        approvalTimeout: { type: 'string', pattern: '^[0-9]+s$', default: '30s' },
        // Long-lived streams (SSE, downloads) must not be cut by a total time: 0s = no limit,
        // and a stream silent for routeIdleTimeout is reset instead.
        routeTimeout: { type: 'string', pattern: '^[0-9]+s$', default: '0s' },
        routeIdleTimeout: { type: 'string', pattern: '^[0-9]+s$', default: '300s' },
        template: { type: 'string', default: 'envoy/gateway.yaml' },
        upstream: {
          type: 'object', additionalProperties: false, required: ['host', 'port'],
          properties: { host: { type: 'string' }, port },
          default: { host: '127.0.0.1', port: 9091 },
        },
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
        secretsFile: { type: 'string', default: '' },
        removeRequestHeaders: {
          type: 'array', items: { type: 'string', pattern: '^[a-z0-9-]+$' },
          default: ['cookie', 'proxy-authorization', 'x-api-key'],
        },
        credentials: {
          type: 'array',
          items: {
            type: 'object', additionalProperties: false, required: ['target'],
            // The value is a stored secret, or a token minted with OAuth2 client credentials:
            // exactly one of `secret` and `oauth2` (checked by ext-proc/credentials.ts).
            properties: {
              target: { type: 'string', minLength: 1 },
              header: { type: 'string', pattern: '^[a-z0-9-]+$', default: 'authorization' },
              // Exactly one {secret}; the rest is literal (e.g. "Bearer {secret}", "{secret}").
              template: { type: 'string', pattern: '^[^{}]*\\{secret\\}[^{}]*$', default: 'Bearer {secret}' },
              secret: SECRET_NAME,
              oauth2: {
                type: 'object', additionalProperties: false, required: ['tokenUrl', 'clientId', 'clientSecret'],
                properties: {
                  tokenUrl: { type: 'string', pattern: '^https?://' },
                  clientId: { type: 'string', minLength: 1 },
                  /** Name of the secret holding the client secret (never the value itself). */
                  clientSecret: SECRET_NAME,
                  scopes: { type: 'array', items: { type: 'string', minLength: 1 }, default: [] },
                  audience: { type: 'string', minLength: 1 },
                  auth: { enum: ['basic', 'body'], default: 'basic' },
                  timeoutMs: { type: 'integer', minimum: 100, maximum: 60000, default: 5000 },
                  refreshSkewMs: { type: 'integer', minimum: 0, default: 30000 },
                },
              },
            },
          },
          default: [],
        },
        masking: {
          type: 'object', additionalProperties: false,
          properties: {
            // Each profile is checked by ext-proc/masking's compileProfile, which names the field.
            profiles: { type: 'array', items: { type: 'object' }, default: [] },
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
          },
          default: {},
        },
      },
      default: {},
    },
    approvals: {
      type: 'object', additionalProperties: false,
      properties: {
        store: { enum: ['memory', 'redis'], default: 'memory' },
        redisUrl: { type: 'string', pattern: '^rediss?://', default: 'redis://127.0.0.1:6379' },
        redisKeyPrefix: { type: 'string', pattern: '^[A-Za-z0-9:_.-]*$', default: 'sluice:' },
        host: { type: 'string', default: '127.0.0.1' },
        port: { ...port, default: 9080 },
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

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true });
const validate = ajv.compile(SCHEMA);

/** Reads and validates a config file; every problem is reported at once, with line and column. */
export function loadConfig(file: string): SluiceConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SluiceError('ERR_CONFIG_INVALID', `${file}: cannot read the config file`, { cause: err });
  }
  return parseConfig(text, file);
}

export function parseConfig(text: string, file: string): SluiceConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const messages = doc.errors.map((e) => `${file}:${e.linePos?.[0].line ?? 0}:${e.linePos?.[0].col ?? 0}: ${e.message.split('\n')[0]}`);
    throw new SluiceError('ERR_CONFIG_INVALID', messages.join('\n'), { details: { file } });
  }
  const raw = (doc.toJS() ?? {}) as Record<string, unknown>;
  if (!validate(raw)) {
    const messages = (validate.errors ?? []).map((e) => describeSchemaError(e, doc, lineCounter, file));
    throw new SluiceError('ERR_CONFIG_INVALID', messages.join('\n'), { details: { file } });
  }
  const config = raw as unknown as Omit<SluiceConfig, 'baseDir'>;
  return deepFreeze({ ...config, baseDir: path.dirname(path.resolve(file)) });
}

function describeSchemaError(error: ErrorObject, doc: Document, lines: LineCounter, file: string): string {
  const segments = error.instancePath.split('/').slice(1).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  const node = doc.getIn(segments, true);
  const offset = isNode(node) ? (node as YamlNode).range?.[0] ?? 0 : 0;
  const { line, col } = lines.linePos(offset);
  const extra = error.keyword === 'additionalProperties' ? ` "${String(error.params.additionalProperty)}"` : '';
  return `${file}:${line}:${col}: ${error.instancePath || '/'} ${error.message ?? 'is invalid'}${extra}`;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
