import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { compileProfile } from '../../ext-proc/masking/compile-profile.ts';
import { MaskingProfileError } from '../../ext-proc/masking/profile-error.ts';
import { freezeIssuer } from '../../ext-authz/identity/config.ts';
import { SluiceError } from '../errors.ts';
import { CONFIG_SCHEMA } from './schema.ts';
import { crossCheck } from './cross-check.ts';
import { schemaProblems, type DocumentProblem } from './schema-problems.ts';
import type { ConfigIssue, Endpoint, SluiceConfig, TargetConfig } from './types.ts';
import { yamlPosition } from './yaml-position.ts';

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, verbose: true, allowUnionTypes: true });
ajv.addKeyword('hint');
ajv.addKeyword('moved');
const validate = ajv.compile(CONFIG_SCHEMA);

/** sluice.yaml could not be used: every issue, each with file, line and column. */
export class ConfigError extends SluiceError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], file: string) {
    const head = `${file}: the config is invalid (${issues.length} issue${issues.length === 1 ? '' : 's'})`;
    super('ERR_CONFIG_INVALID', [head, ...issues.map(formatConfigIssue)].join('\n  '), { details: { file, issues } });
    this.issues = Object.freeze(issues.map((issue) => Object.freeze({ ...issue })));
  }
}

export function formatConfigIssue(issue: ConfigIssue): string {
  const where = issue.line > 0 ? `${issue.file}:${issue.line}:${issue.column}` : issue.file;
  return issue.path === '' ? `${where}: ${issue.message}` : `${where} ${issue.path}: ${issue.message}`;
}

/** Where a JSON pointer of a loaded config is written ("file:line:col"), for later errors (Envoy's). */
const positions = new WeakMap<SluiceConfig, (pointer: string) => string>();
export function configPosition(config: SluiceConfig, pointer: string): string {
  return positions.get(config)?.(pointer) ?? config.file;
}

/** Reads and validates a config file; every problem is reported at once, with line and column. */
export function loadConfig(file: string): SluiceConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SluiceError('ERR_CONFIG_INVALID', `${file}: cannot read the config file (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
  }
  return parseConfig(text, file);
}

/**
 * Stage one (YAML → schema with defaults), stage two (cross-checks and masking profiles compiled
 * for their errors), then the frozen result with targets normalised (endpoints parsed, defaults
 * from `envoy:` filled in, TLS paths resolved from the config's folder).
 */
export function parseConfig(text: string, file: string): SluiceConfig {
  const lineCounter = new LineCounter();
  // YAML 1.2 core schema: `yes`/`no`/`on` stay strings; duplicate keys are errors.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, schema: 'core' });
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => {
      const { line, col } = lineCounter.linePos(e.pos[0]);
      return { file, line: Math.max(line, 1), column: col, path: '', message: e.message.split('\n')[0]! };
    }), file);
  }
  const raw = (doc.toJS({ maxAliasCount: 50 }) ?? {}) as Record<string, unknown>;
  const toIssue = (problem: DocumentProblem): ConfigIssue => ({
    file, ...yamlPosition(doc as Document, lineCounter, problem.path, problem.atKey), path: problem.path, message: problem.message,
  });
  if (!validate(raw)) throw new ConfigError(schemaProblems(validate.errors ?? []).map(toIssue).sort(byPosition), file);

  const baseDir = path.dirname(path.resolve(file));
  const typed = raw as unknown as Omit<SluiceConfig, 'file' | 'baseDir' | 'targets'> & { targets: RawTarget[] };
  const targets = typed.targets.map((t) => normaliseTarget(t, typed.envoy, baseDir));
  const problems = [
    ...crossCheck({ targets, issuers: typed.issuers, credentials: typed.extProc.credentials, masking: typed.extProc.masking, sessions: typed.extProc.sessions }),
    ...profileProblems(typed.extProc.masking.profiles),
  ];
  if (problems.length > 0) throw new ConfigError(problems.map(toIssue).sort(byPosition), file);

  const config = deepFreeze({
    ...typed,
    issuers: typed.issuers.map((issuer) => freezeIssuer(issuer)),
    targets,
    // Read as "host:port" strings (the schema checked their shape), kept parsed.
    extAuthz: { ...typed.extAuthz, endpoints: (typed.extAuthz.endpoints as unknown as string[]).map(parseEndpoint) },
    extProc: { ...typed.extProc, endpoints: (typed.extProc.endpoints as unknown as string[]).map(parseEndpoint) },
    file: path.resolve(file),
    baseDir,
  });
  positions.set(config, (pointer) => {
    const { line, column } = yamlPosition(doc as Document, lineCounter, pointer);
    return `${file}:${line}:${column}`;
  });
  return config;
}

interface RawTarget extends Omit<TargetConfig, 'endpoints' | 'tls' | 'healthCheck' | 'http' | 'timeouts' | 'postgres' | 'redis'> {
  postgres?: TargetConfig['postgres'];
  redis?: TargetConfig['redis'];
  endpoints: string[];
  tls?: { enabled: boolean; sni?: string; caFile?: string; certFile?: string; keyFile?: string; subjectAltNames?: string[] };
  healthCheck?: TargetConfig['healthCheck'];
  http?: TargetConfig['http'];
  timeouts?: Partial<TargetConfig['timeouts']>;
}

function normaliseTarget(raw: RawTarget, envoy: SluiceConfig['envoy'], baseDir: string): TargetConfig {
  const endpoints = raw.endpoints.map(parseEndpoint);
  const resolve = (file: string | undefined) => (file === undefined ? undefined : path.resolve(baseDir, file));
  let tls: TargetConfig['tls'] = null;
  if (raw.tls && raw.tls.enabled) {
    // Verify the name callers meant: the SNI given, else the first endpoint's host name.
    const firstHost = endpoints[0]!.host;
    const sni = raw.tls.sni ?? (isIpLiteral(firstHost) ? undefined : firstHost);
    tls = {
      ...(sni !== undefined ? { sni } : {}),
      ...(raw.tls.caFile !== undefined ? { caFile: resolve(raw.tls.caFile)! } : {}),
      ...(raw.tls.certFile !== undefined ? { certFile: resolve(raw.tls.certFile)! } : {}),
      ...(raw.tls.keyFile !== undefined ? { keyFile: resolve(raw.tls.keyFile)! } : {}),
      subjectAltNames: raw.tls.subjectAltNames ?? (sni !== undefined ? [sni] : []),
    };
  }
  return {
    name: raw.name,
    description: raw.description,
    protocol: raw.protocol,
    endpoints,
    lbPolicy: raw.lbPolicy,
    healthCheck: raw.healthCheck ?? null,
    tls,
    http: raw.http ?? { hosts: [], pathPrefix: '/' },
    postgres: raw.protocol === 'postgres' && raw.postgres ? {
      ...raw.postgres,
      ...(raw.postgres.tls ? { tls: { ...raw.postgres.tls, certFile: resolve(raw.postgres.tls.certFile)!, keyFile: resolve(raw.postgres.tls.keyFile)! } } : {}),
    } : null,
    redis: raw.protocol === 'redis' && raw.redis ? { ...raw.redis, deniedCommands: [...new Set(raw.redis.deniedCommands.map((c) => c.toUpperCase()))] } : null,
    timeouts: {
      connect: raw.timeouts?.connect ?? envoy.connectTimeout,
      request: raw.timeouts?.request ?? envoy.routeTimeout,
      idle: raw.timeouts?.idle ?? envoy.routeIdleTimeout,
    },
  };
}

const byPosition = (a: ConfigIssue, b: ConfigIssue) => a.line - b.line || a.column - b.column;

function parseEndpoint(text: string): Endpoint {
  const at = text.lastIndexOf(':');
  const host = text.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(text.slice(at + 1)) };
}

export function isIpLiteral(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}

/** Masking profiles are compiled once here for what a schema cannot check (RE2 syntax, strategies). */
function profileProblems(profiles: readonly unknown[]): DocumentProblem[] {
  const problems: DocumentProblem[] = [];
  profiles.forEach((spec, p) => {
    try {
      // Without the hash key (a secret): a `hash` strategy is checked for shape only here.
      compileProfile(spec, { hashKey: Buffer.alloc(32) });
    } catch (err) {
      if (!(err instanceof MaskingProfileError)) throw err;
      for (const issue of err.issues) {
        const pointer = issue.field === '' ? '' : `/${issue.field.replace(/\[(\d+)\]/g, '.$1').split('.').join('/')}`;
        problems.push({ path: `/extProc/masking/profiles/${p}${pointer}`, atKey: false, message: issue.message });
      }
    }
  });
  return problems;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
