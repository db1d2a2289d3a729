import { bodyBytes, truncateBody } from './body-capture.ts';
import { invalidOptions, SessionError } from './errors.ts';
import type { CapturedBody, RecordedMessage, SessionEvent, SessionRecord, SessionTimings } from './types.ts';

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
const STRING_FIELDS = ['requestId', 'subject', 'issuer', 'target', 'rule', 'method', 'path'] as const;
const DIRECTIONS = new Set(['request', 'response']);
const KINDS = new Set(['headers', 'body', 'end', 'error']);

export function isSessionId(id: unknown): id is string {
  return typeof id === 'string' && UUID.test(id);
}

/** Every problem with a record, as `field: what is wrong`; empty when it is well-formed. */
export function checkRecord(record: unknown): string[] {
  if (!isObject(record)) return ['record must be an object'];
  const problems: string[] = [];
  if (!isSessionId(record.id)) problems.push('id must be a UUID');
  for (const field of STRING_FIELDS) if (typeof record[field] !== 'string') problems.push(`${field} must be a string`);
  if (record.decision !== 'allow' && record.decision !== 'deny') problems.push('decision must be "allow" or "deny"');
  if (record.status !== null && !(Number.isInteger(record.status) && (record.status as number) >= 100 && (record.status as number) <= 999)) {
    problems.push('status must be an HTTP status code or null');
  }
  for (const field of ['startedAt', 'endedAt'] as const) {
    if (!Number.isSafeInteger(record[field]) || (record[field] as number) < 0 || (record[field] as number) > MAX_TIME) problems.push(`${field} must be a time in integer milliseconds since the epoch`);
  }
  if (problems.length === 0 && (record.endedAt as number) < (record.startedAt as number)) problems.push('endedAt must not be before startedAt');
  if (!isObject(record.timings)) {
    problems.push('timings must be an object');
  } else {
    for (const field of ['requestHeadersMs', 'upstreamMs', 'totalMs'] as const) {
      const value = record.timings[field];
      if ((value !== undefined || field === 'totalMs') && !isDuration(value)) problems.push(`timings.${field} must be a non-negative number`);
    }
  }
  for (const side of ['request', 'response'] as const) problems.push(...checkMessage(record[side], side));
  if (record.events !== undefined) {
    if (!Array.isArray(record.events)) {
      problems.push('events must be a list');
    } else {
      record.events.forEach((event: unknown, i) => {
        if (!isObject(event) || !Number.isFinite(event.at) || !DIRECTIONS.has(event.direction as string) || !KINDS.has(event.kind as string) ||
          (event.bytes !== undefined && !(Number.isSafeInteger(event.bytes) && (event.bytes as number) >= 0))) {
          problems.push(`events[${i}] must be { at, direction: request|response, kind: headers|body|end|error, bytes? }`);
        }
      });
    }
  }
  return problems;
}

function checkMessage(message: unknown, side: string): string[] {
  if (!isObject(message)) return [`${side} must be an object`];
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
 * The record as a store keeps it: checked (ERR_SESSION_INVALID), credential headers redacted,
 * bodies cut to the policy's maximum, unknown fields dropped, the id in lower case, and NUL and
 * lone surrogates in text fields replaced by U+FFFD (PostgreSQL cannot hold them, and both stores
 * must give back the same record). A text body with NUL becomes base64 instead, losing nothing. The caller's object is not modified.
 */
export function prepareRecord(record: SessionRecord, policy: RecordPolicy): SessionRecord {
  const problems = checkRecord(record);
  if (problems.length > 0) throw new SessionError('ERR_SESSION_INVALID', `invalid session record: ${problems.join('; ')}`, { details: { problems } });
  const timings: SessionTimings = { totalMs: record.timings.totalMs };
  if (record.timings.requestHeadersMs !== undefined) timings.requestHeadersMs = record.timings.requestHeadersMs;
  if (record.timings.upstreamMs !== undefined) timings.upstreamMs = record.timings.upstreamMs;
  const prepared: SessionRecord = {
    id: record.id.toLowerCase(),
    requestId: safeText(record.requestId),
    subject: safeText(record.subject),
    issuer: safeText(record.issuer),
    target: safeText(record.target),
    rule: safeText(record.rule),
    decision: record.decision,
    method: safeText(record.method),
    path: safeText(record.path),
    status: record.status,
    startedAt: record.startedAt,
    endedAt: record.endedAt,
    timings,
    request: prepareMessage(record.request, policy),
    response: prepareMessage(record.response, policy),
  };
  if (record.events !== undefined) {
    prepared.events = record.events.map((event): SessionEvent => {
      const copy: SessionEvent = { at: event.at, direction: event.direction, kind: event.kind };
      if (event.bytes !== undefined) copy.bytes = event.bytes;
      return copy;
    });
  }
  return prepared;
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

function prepareMessage(message: RecordedMessage, policy: RecordPolicy): RecordedMessage {
  const body = truncateBody(message.body, policy.maxBodyBytes);
  let copy: CapturedBody;
  if (!('text' in body)) {
    copy = { base64: body.base64, bytes: body.bytes, truncated: body.truncated };
  } else if (body.text.includes('\u0000')) {
    // Lossless: text with NUL is kept as the bytes it is.
    copy = { base64: Buffer.from(body.text, 'utf8').toString('base64'), bytes: body.bytes, truncated: body.truncated };
  } else {
    copy = { text: safeText(body.text), bytes: body.bytes, truncated: body.truncated };
  }
  return { headers: redactHeaders(message.headers, policy.redactHeaders), body: copy };
}

/** NUL and lone surrogates, which PostgreSQL refuses in text and jsonb. */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function safeText(text: string): string {
  UNSTORABLE.lastIndex = 0;
  return UNSTORABLE.test(text) ? text.replace(UNSTORABLE, '\uFFFD') : text;
}

function isDuration(value: unknown): boolean {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
