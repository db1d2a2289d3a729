import { fromProtoStruct, toProtoStruct, type ProtoStruct } from './struct.ts';

/*
 * The one wire contract between ext-proc's Redis command processor and ext-authz: a login check
 * over Authorization/Check (the same service, verifier, policies and decision log redis_proxy's
 * own AUTH reaches), answered with the identity and the command rules the login carries, which
 * ext-proc then applies to every command of the connection.
 *
 * Request: `context_extensions` { sluice_protocol: redis, target, redis_user, session_id }; the
 * token as `authorization: Bearer <token>`. Response: status 0 / 7 / 16 and, in
 * dynamic_metadata, `sluice_redis`: this module's result as JSON (versioned).
 */

export const REDIS_CHECK_PROTOCOL = 'redis';
const VERSION = 1;
const RESULT_FIELD = 'sluice_redis';

export interface RedisCheckInput {
  target: string;
  token: string;
  /** The AUTH user name as sent ('' for `AUTH <token>`). */
  username: string;
  sessionId: string;
}

/** One command rule a login carries (ext-authz/policy/evaluate-redis.ts), as written in the policy. */
export interface RedisRuleSpec {
  id: string;
  effect: 'allow' | 'deny';
  commands: readonly string[];
  keys: readonly string[] | null;
}

export type RedisCheckResult =
  | {
    allowed: true;
    subject: string;
    issuer: string;
    groups: string[];
    rule: string;
    /** The masking profile of the session's values, or null: values are not recorded. */
    masking: string | null;
    /** Epoch ms: the login ends then (the token's exp, capped by the grant). */
    expiresAt: number;
    rules: RedisRuleSpec[];
  }
  | { allowed: false; code: string; message: string };

export interface RedisCheckRequestMessage {
  attributes: { request: { http: { headers: Record<string, string> } }; context_extensions: Record<string, string> };
}

export function encodeRedisCheckRequest(input: RedisCheckInput): RedisCheckRequestMessage {
  return {
    attributes: {
      request: { http: { headers: { authorization: `Bearer ${input.token}` } } },
      context_extensions: { sluice_protocol: REDIS_CHECK_PROTOCOL, target: input.target, redis_user: input.username, session_id: input.sessionId },
    },
  };
}

interface ReceivedCheckRequest {
  attributes?: {
    request?: { http?: { headers?: Record<string, string> } | null } | null;
    context_extensions?: Record<string, string>;
  } | null;
}

export function isRedisCheckRequest(request: ReceivedCheckRequest): boolean {
  return request.attributes?.context_extensions?.sluice_protocol === REDIS_CHECK_PROTOCOL;
}

export function readRedisCheckRequest(request: ReceivedCheckRequest): { target: string | undefined; authorization: string | undefined; username: string; sessionId: string } {
  const context = request.attributes?.context_extensions ?? {};
  return {
    target: context.target || undefined,
    authorization: request.attributes?.request?.http?.headers?.authorization,
    username: context.redis_user ?? '',
    sessionId: context.session_id ?? '',
  };
}

export interface RedisCheckResponseMessage {
  status: { code: number; message: string };
  dynamic_metadata: ProtoStruct;
}

export function encodeRedisCheckResponse(result: RedisCheckResult, options: { unauthenticated?: boolean } = {}): RedisCheckResponseMessage {
  return {
    status: result.allowed ? { code: 0, message: '' } : { code: options.unauthenticated ? 16 : 7, message: result.message },
    dynamic_metadata: toProtoStruct({ [RESULT_FIELD]: JSON.stringify({ v: VERSION, ...result }) }),
  };
}

const UNREADABLE: RedisCheckResult = Object.freeze({ allowed: false, code: 'ERR_REDIS_CHECK_FAILED', message: 'the gateway could not read its authorizer\'s answer' });

/** The result, or a refusal when anything about the answer is off (fail closed). */
export function decodeRedisCheckResponse(response: { status?: { code?: number } | null; dynamic_metadata?: unknown } | null | undefined): RedisCheckResult {
  if (!response?.status) return UNREADABLE;
  const fields = fromProtoStruct(response.dynamic_metadata as never);
  const text = fields[RESULT_FIELD];
  if (typeof text !== 'string') return UNREADABLE;
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return UNREADABLE;
  }
  if (parsed.v !== VERSION) return UNREADABLE;
  const allowedByStatus = (response.status.code ?? -1) === 0;
  if (parsed.allowed !== allowedByStatus) return UNREADABLE;
  if (!allowedByStatus) {
    return typeof parsed.code === 'string' && typeof parsed.message === 'string' ? { allowed: false, code: parsed.code, message: parsed.message } : UNREADABLE;
  }
  const ok = typeof parsed.subject === 'string' && typeof parsed.issuer === 'string' && Array.isArray(parsed.groups) && typeof parsed.rule === 'string'
    && (parsed.masking === null || typeof parsed.masking === 'string') && typeof parsed.expiresAt === 'number' && Array.isArray(parsed.rules)
    && (parsed.rules as unknown[]).every(isRuleSpec);
  if (!ok) return UNREADABLE;
  return {
    allowed: true, subject: parsed.subject as string, issuer: parsed.issuer as string, groups: (parsed.groups as unknown[]).map(String), rule: parsed.rule as string,
    masking: parsed.masking as string | null, expiresAt: parsed.expiresAt as number, rules: parsed.rules as RedisRuleSpec[],
  };
}

function isRuleSpec(value: unknown): value is RedisRuleSpec {
  const r = value as RedisRuleSpec;
  return typeof r === 'object' && r !== null && typeof r.id === 'string' && (r.effect === 'allow' || r.effect === 'deny')
    && Array.isArray(r.commands) && r.commands.every((c) => typeof c === 'string')
    && (r.keys === null || (Array.isArray(r.keys) && r.keys.every((k) => typeof k === 'string')));
}
