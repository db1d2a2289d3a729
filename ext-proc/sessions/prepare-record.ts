import { bodyBytes, truncateBody } from './body-capture.ts';
import { invalidOptions, SessionError } from './errors.ts';
import { checkAuditFields, copyCredential, copyMasking } from './audit-fields.ts';
import { SESSION_OUTCOMES, SESSION_PROTOCOLS, type CapturedBody, type SessionEvent, type SessionRecord } from './types.ts';

/** Credential headers every store redacts, whatever the caller did and whatever is configured. */
export const ALWAYS_REDACTED_HEADERS = ['authorization', 'cookie', 'set-cookie', 'proxy-authorization', 'x-api-key'] as const;
export const REDACTED = '[redacted]';
/** The most a store keeps of one body, whatever the caller captured. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export interface RecordPolicyOptions {
  /** More header names to redact (any case), on top of ALWAYS_REDACTED_HEADERS. */
  redactHeaders?: readonly string[];
  /** Bodies longer than this are cut (and marked truncated) before they are stored. */
  maxBodyBytes?: number;
}

/** What a store enforces on every record it accepts; compiled once from the store's options. */
export interface RecordPolicy {
  readonly redactHeaders: ReadonlySet<string>;
  readonly maxBodyBytes: number;
}

/** Checks the options eagerly: the problems, or the compiled policy. */
export function compileRecordPolicy(options: RecordPolicyOptions): { policy: RecordPolicy; problems: string[] } {
  const problems: string[] = [];
  const extra = options.redactHeaders ?? [];
  if (!Array.isArray(extra) || !extra.every((name) => typeof name === 'string' && /^[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(name))) {
    problems.push('redactHeaders must be a list of header names');
  }
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 0) problems.push(`maxBodyBytes must be a non-negative integer, got ${String(maxBodyBytes)}`);
  const names = new Set<string>(ALWAYS_REDACTED_HEADERS);
  if (Array.isArray(extra)) for (const name of extra) if (typeof name === 'string') names.add(name.toLowerCase());
  return { policy: { redactHeaders: names, maxBodyBytes }, problems };
}

export function recordPolicy(what: string, options: RecordPolicyOptions): RecordPolicy {
  const { policy, problems } = compileRecordPolicy(options);
  if (problems.length > 0) throw invalidOptions(what, problems);
  return policy;
}

/** The last time a Date (and so PostgreSQL's driver) can hold. */
const MAX_TIME = 8.64e15;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const STRING_FIELDS = ['requestId', 'subject', 'issuer', 'target', 'rule', 'summary'] as const;
const PROTOCOLS = new Set<string>(SESSION_PROTOCOLS);
const OUTCOMES = new Set<string>(SESSION_OUTCOMES);

export function isSessionId(id: unknown): id is string {
  return typeof id === 'string' && UUID.test(id);
}

/** Every problem with a record, as `field: what is wrong`; empty when it is well-formed. */
export function checkRecord(record: unknown): string[] {
  if (!isObject(record)) return ['record must be an object'];
  const problems: string[] = [];
  if (record.version !== 2) problems.push('version must be 2');
  if (!isSessionId(record.id)) problems.push('id must be a UUID');
  for (const field of STRING_FIELDS) if (typeof record[field] !== 'string') problems.push(`${field} must be a string`);
  if (!PROTOCOLS.has(record.protocol as string)) problems.push(`protocol must be one of ${SESSION_PROTOCOLS.join(', ')}`);
  if (!OUTCOMES.has(record.outcome as string)) problems.push(`outcome must be one of ${SESSION_OUTCOMES.join(', ')}`);
  if (record.decision !== 'allow' && record.decision !== 'deny') problems.push('decision must be "allow" or "deny"');
  for (const field of ['startedAt', 'endedAt'] as const) {
    if (!isTime(record[field])) problems.push(`${field} must be a time in integer milliseconds since the epoch`);
  }
  if (problems.length === 0 && (record.endedAt as number) < (record.startedAt as number)) problems.push('endedAt must not be before startedAt');
  if (!Array.isArray(record.events)) {
    problems.push('events must be a list');
  } else {
    // Order is not checked: a wall clock that steps back must not cost the audit its record.
    record.events.forEach((event: unknown, i) => problems.push(...checkEvent(event, `events[${i}]`, record.protocol)));
  }
  problems.push(...checkAuditFields(record));
  return problems;
}

function checkEvent(event: unknown, where: string, protocol: unknown): string[] {
  if (!isObject(event)) return [`${where} must be an object`];
  if (typeof event.at !== 'number' || !Number.isFinite(event.at) || event.at < 0 || event.at > MAX_TIME) return [`${where}.at must be a time in milliseconds since the epoch`];
  const kind = event.kind;
  if (typeof kind === 'string' && kind.startsWith('http.') && protocol !== 'http') return [`${where}: ${kind} belongs to http sessions`];
  switch (kind) {
    case 'http.request': {
      const problems = checkMessage(event, where);
      for (const field of ['method', 'path'] as const) if (typeof event[field] !== 'string') problems.push(`${where}.${field} must be a string`);
      return problems;
    }
    case 'http.response': {
      const problems = checkMessage(event, where);
      if (event.status !== undefined && !(Number.isInteger(event.status) && (event.status as number) >= 100 && (event.status as number) <= 999)) {
        problems.push(`${where}.status must be an HTTP status code`);
      }
      return problems;
    }
    case 'body':
      if (event.direction !== 'request' && event.direction !== 'response') return [`${where}.direction must be request or response`];
      return Number.isSafeInteger(event.bytes) && (event.bytes as number) >= 0 ? [] : [`${where}.bytes must be a non-negative integer`];
    case 'approval':
      if (typeof event.approvalId !== 'string' || event.approvalId === '') return [`${where}.approvalId must be a non-empty string`];
      return Number.isSafeInteger(event.waitMs) && (event.waitMs as number) >= 0 ? [] : [`${where}.waitMs must be a non-negative integer`];
    case 'end':
    case 'error': {
      const problems: string[] = [];
      for (const field of kind === 'end' ? (['reason'] as const) : (['code', 'reason'] as const)) {
        if (event[field] !== undefined && typeof event[field] !== 'string') problems.push(`${where}.${field} must be a string`);
      }
      return problems;
    }
    case 'pg.login':
    case 'pg.statement':
      if (protocol !== 'postgres') return [`${where}: ${kind} belongs to postgres sessions`];
      return kind === 'pg.login' ? checkPgLogin(event, where) : checkPgStatement(event, where);
    case 'redis.login':
    case 'redis.command':
      if (protocol !== 'redis') return [`${where}: ${kind} belongs to redis sessions`];
      return kind === 'redis.login' ? checkRedisLogin(event, where) : checkRedisCommand(event, where);
    default:
      return [`${where}.kind must be one of approval, http.request, http.response, body, end, error, pg.login, pg.statement, redis.login, redis.command`];
  }
}

function checkRedisLogin(event: Record<string, unknown>, where: string): string[] {
  const problems: string[] = [];
  if (event.outcome !== 'ok' && event.outcome !== 'refused') problems.push(`${where}.outcome must be ok or refused`);
  for (const field of ['subject', 'issuer', 'code'] as const) if (event[field] !== undefined && typeof event[field] !== 'string') problems.push(`${where}.${field} must be a string`);
  return problems;
}

const REDIS_OUTCOMES = new Set(['ok', 'error', 'sent', 'refused', 'cut']);

function checkRedisCommand(event: Record<string, unknown>, where: string): string[] {
  const problems: string[] = [];
  if (typeof event.command !== 'string') problems.push(`${where}.command must be a string`);
  if (!REDIS_OUTCOMES.has(event.outcome as string)) problems.push(`${where}.outcome must be one of ${[...REDIS_OUTCOMES].join(', ')}`);
  for (const field of ['keys', 'values'] as const) {
    const list = event[field];
    if ((field === 'keys' || list !== undefined) && !(Array.isArray(list) && list.every((v) => typeof v === 'string'))) problems.push(`${where}.${field} must be a list of strings`);
  }
  for (const field of ['args', 'bytes', 'replyBytes'] as const) {
    if ((field !== 'replyBytes' || event[field] !== undefined) && !(Number.isSafeInteger(event[field]) && (event[field] as number) >= 0)) problems.push(`${where}.${field} must be a non-negative integer`);
  }
  for (const field of ['error', 'code', 'rule'] as const) if (event[field] !== undefined && typeof event[field] !== 'string') problems.push(`${where}.${field} must be a string`);
  if (event.durationMs !== undefined && !(typeof event.durationMs === 'number' && event.durationMs >= 0)) problems.push(`${where}.durationMs must be a non-negative number`);
  return problems;
}

function checkPgLogin(event: Record<string, unknown>, where: string): string[] {
  const problems: string[] = [];
  for (const field of ['user', 'database', 'upstreamUser'] as const) if (typeof event[field] !== 'string') problems.push(`${where}.${field} must be a string`);
  if (event.applicationName !== undefined && typeof event.applicationName !== 'string') problems.push(`${where}.applicationName must be a string`);
  if (event.sessionRole !== undefined) {
    const role = event.sessionRole as Record<string, unknown> | null;
    if (role === null || typeof role !== 'object' || !Array.isArray(role.granted) || !role.granted.every((g) => typeof g === 'string') || !Number.isFinite(role.validUntil)) {
      problems.push(`${where}.sessionRole must be { granted: string[], validUntil: number }`);
    }
  }
  return problems;
}

const PG_OUTCOMES = new Set(['ok', 'error', 'refused', 'skipped', 'cut']);

function checkPgStatement(event: Record<string, unknown>, where: string): string[] {
  const problems: string[] = [];
  if (event.protocol !== 'simple' && event.protocol !== 'extended') problems.push(`${where}.protocol must be simple or extended`);
  if (typeof event.text !== 'string') problems.push(`${where}.text must be a string`);
  if (!PG_OUTCOMES.has(event.outcome as string)) problems.push(`${where}.outcome must be one of ${[...PG_OUTCOMES].join(', ')}`);
  if (typeof event.durationMs !== 'number' || !(event.durationMs >= 0)) problems.push(`${where}.durationMs must be a non-negative number`);
  if (event.params !== undefined && !(Array.isArray(event.params) && event.params.every((p) => typeof p === 'string'))) problems.push(`${where}.params must be a list of strings`);
  if (event.rows !== undefined && !(Number.isSafeInteger(event.rows) && (event.rows as number) >= 0)) problems.push(`${where}.rows must be a non-negative integer`);
  return problems;
}

function checkMessage(message: Record<string, unknown>, side: string): string[] {
  const problems: string[] = [];
  if (!isObject(message.headers) || !Object.values(message.headers).every((value) => typeof value === 'string')) {
    problems.push(`${side}.headers must map header names to strings`);
  }
  const body = message.body;
  if (!isObject(body)) return [...problems, `${side}.body must be an object`];
  const hasText = typeof body.text === 'string';
  const hasBase64 = typeof body.base64 === 'string';
  if (hasText === hasBase64 || (hasText ? 'base64' in body : 'text' in body)) {
    problems.push(`${side}.body must have either text or base64`);
  } else if (hasBase64 && !BASE64.test(body.base64 as string)) {
    problems.push(`${side}.body.base64 is not base64`);
  }
  if (typeof body.truncated !== 'boolean') problems.push(`${side}.body.truncated must be a boolean`);
  if (!Number.isSafeInteger(body.bytes) || (body.bytes as number) < 0) {
    problems.push(`${side}.body.bytes must be a non-negative integer`);
  } else if (problems.length === 0 && bodyBytes(body as CapturedBody).byteLength > (body.bytes as number)) {
    problems.push(`${side}.body.bytes is smaller than the stored body`);
  }
  return problems;
}

/**
 * The record as a store keeps it: checked (ERR_SESSION_INVALID), credential headers of every
 * http event redacted, bodies cut to the policy's maximum, unknown fields dropped, the id in lower
 * case, and NUL and lone surrogates in text fields replaced by U+FFFD (PostgreSQL cannot hold
 * them, and both stores must give back the same record). A text body with NUL becomes base64
 * instead, losing nothing. The caller's object is not modified.
 */
export function prepareRecord(record: SessionRecord, policy: RecordPolicy): SessionRecord {
  const problems = checkRecord(record);
  if (problems.length > 0) throw new SessionError('ERR_SESSION_INVALID', `invalid session record: ${problems.join('; ')}`, { details: { problems } });
  const events = record.events.map((event) => prepareEvent(event, policy));
  return {
    version: 2,
    id: record.id.toLowerCase(),
    requestId: safeText(record.requestId),
    protocol: record.protocol,
    subject: safeText(record.subject),
    issuer: safeText(record.issuer),
    target: safeText(record.target),
    rule: safeText(record.rule),
    decision: record.decision,
    startedAt: record.startedAt,
    endedAt: record.endedAt,
    outcome: record.outcome,
    summary: safeText(record.summary),
    events,
    ...(record.credential === undefined ? {} : { credential: copyCredential(record.credential, safeText) }),
    // A body this store cut is a recorded body truncated too.
    ...(record.masking === undefined ? {} : { masking: copyMasking(record.masking, { request: truncatedHttpBody(events, 'http.request'), response: truncatedHttpBody(events, 'http.response') }, safeText) }),
  };
}

function truncatedHttpBody(events: readonly SessionEvent[], kind: 'http.request' | 'http.response'): boolean {
  return events.some((event) => event.kind === kind && event.body.truncated);
}

/** A copy with only the fields its kind has; a new kind must be added here to be stored. */
function prepareEvent(event: SessionEvent, policy: RecordPolicy): SessionEvent {
  switch (event.kind) {
    case 'approval':
      return { at: event.at, kind: event.kind, approvalId: safeText(event.approvalId), waitMs: event.waitMs };
    case 'http.request':
      return { at: event.at, kind: event.kind, method: safeText(event.method), path: safeText(event.path), headers: redactHeaders(event.headers, policy.redactHeaders), body: prepareBody(event.body, policy) };
    case 'http.response':
      return { at: event.at, kind: event.kind, ...(event.status === undefined ? {} : { status: event.status }), headers: redactHeaders(event.headers, policy.redactHeaders), body: prepareBody(event.body, policy) };
    case 'body':
      return { at: event.at, kind: event.kind, direction: event.direction, bytes: event.bytes };
    case 'end':
      return { at: event.at, kind: event.kind, ...(event.reason === undefined ? {} : { reason: safeText(event.reason) }) };
    case 'error':
      return { at: event.at, kind: event.kind, ...(event.code === undefined ? {} : { code: safeText(event.code) }), ...(event.reason === undefined ? {} : { reason: safeText(event.reason) }) };
    case 'pg.login':
      return {
        at: event.at, kind: event.kind, user: safeText(event.user), database: safeText(event.database), upstreamUser: safeText(event.upstreamUser),
        ...(event.applicationName === undefined ? {} : { applicationName: safeText(event.applicationName) }),
        ...(event.sessionRole === undefined ? {} : { sessionRole: { granted: event.sessionRole.granted.map(safeText), validUntil: event.sessionRole.validUntil } }),
      };
    case 'pg.statement':
      return {
        at: event.at, kind: event.kind, protocol: event.protocol, text: safeText(event.text),
        ...(event.truncated ? { truncated: true } : {}),
        ...(event.params === undefined ? {} : { params: event.params.map(safeText) }),
        ...(event.statements === undefined ? {} : { statements: event.statements.map((s) => ({ class: safeText(s.class), command: safeText(s.command), tables: s.tables.map(safeText) })) }),
        outcome: event.outcome, durationMs: event.durationMs,
        ...(event.rows === undefined ? {} : { rows: event.rows }),
        ...(event.tag === undefined ? {} : { tag: safeText(event.tag) }),
        ...(event.error === undefined ? {} : { error: { sqlstate: safeText(event.error.sqlstate), message: safeText(event.error.message) } }),
        ...(event.code === undefined ? {} : { code: safeText(event.code) }),
        ...(event.approvalId === undefined ? {} : { approvalId: safeText(event.approvalId) }),
        ...(event.masked === undefined ? {} : { masked: event.masked }),
      };
    // Redis events are the many small ones of a record: their keys are written in sorted order, so
    // canonicalJson (which sorts only what is out of order) has nothing to sort (measured: a
    // quarter of its time on a 1000-command record).
    case 'redis.login':
      return {
        at: event.at,
        ...(event.code === undefined ? {} : { code: safeText(event.code) }),
        ...(event.issuer === undefined ? {} : { issuer: safeText(event.issuer) }),
        kind: event.kind, outcome: event.outcome,
        ...(event.subject === undefined ? {} : { subject: safeText(event.subject) }),
      };
    case 'redis.command':
      return {
        args: event.args, at: event.at, bytes: event.bytes,
        ...(event.code === undefined ? {} : { code: safeText(event.code) }),
        command: safeText(event.command),
        ...(event.durationMs === undefined ? {} : { durationMs: event.durationMs }),
        ...(event.error === undefined ? {} : { error: safeText(event.error) }),
        keys: event.keys.map(safeText), kind: event.kind, outcome: event.outcome,
        ...(event.replyBytes === undefined ? {} : { replyBytes: event.replyBytes }),
        ...(event.rule === undefined ? {} : { rule: safeText(event.rule) }),
        ...(event.values === undefined ? {} : { values: event.values.map(safeText) }),
      };
  }
}

/** Headers with credential values replaced by `[redacted]`; names compared in any case. */
export function redactHeaders(headers: Readonly<Record<string, string>>, names: ReadonlySet<string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    // defineProperty: a header named __proto__ is kept as a header, not taken as a prototype.
    Object.defineProperty(out, safeText(name), {
      value: names.has(name.toLowerCase()) ? REDACTED : safeText(value),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

function prepareBody(captured: CapturedBody, policy: RecordPolicy): CapturedBody {
  const body = truncateBody(captured, policy.maxBodyBytes);
  if (!('text' in body)) return { base64: body.base64, bytes: body.bytes, truncated: body.truncated };
  // Lossless: text with NUL is kept as the bytes it is.
  if (body.text.includes('\u0000')) return { base64: Buffer.from(body.text, 'utf8').toString('base64'), bytes: body.bytes, truncated: body.truncated };
  return { text: safeText(body.text), bytes: body.bytes, truncated: body.truncated };
}

/** NUL and lone surrogates, which PostgreSQL refuses in text and jsonb. */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function safeText(text: string): string {
  UNSTORABLE.lastIndex = 0;
  return UNSTORABLE.test(text) ? text.replace(UNSTORABLE, '\uFFFD') : text;
}

function isTime(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= MAX_TIME;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
