import type { CheckInput } from '../../check-input.ts';
import type { Verdict } from '../../verdict.ts';
import { httpStatusOf } from '../../../common/error-codes.ts';

/** RedisProxyExternalAuthResponse as the wire carries it. */
export interface RedisAuthResponseMessage {
  status: { code: number; message: string };
  expiration?: { seconds: number; nanos: number };
  message: string;
}

const OK = 0;
const PERMISSION_DENIED = 7;
const UNAUTHENTICATED = 16;
const MIN_REDACTED_TOKEN = 8;

/**
 * The verdict as redis_proxy reads it: status 0 with the expiration (the token's exp, capped by
 * the grant; Envoy reads whole seconds, so it is rounded down and the login never outlives the
 * token), or 16 (the token) / 7 (anything else) with `<code>: <message>`, which the client sees as
 * `-ERR <code>: <message>`. Every refusal is 7 or 16 on purpose: other codes would hide the message
 * behind "external authentication failed". An allow without a redis grant (a bug) is refused:
 * Envoy would end a login without expiration at the next command anyway.
 */
export function toRedisAuthResponse(verdict: Verdict, input: CheckInput): RedisAuthResponseMessage {
  if (verdict.kind === 'allow' && verdict.redis !== undefined) {
    return { status: { code: OK, message: '' }, expiration: { seconds: Math.floor(verdict.redis.expiresAt / 1000), nanos: 0 }, message: '' };
  }
  const code = verdict.kind === 'deny' ? verdict.code : 'ERR_INTERNAL';
  const message = verdict.kind === 'deny' ? withoutToken(verdict.message, input) : 'authorization is unavailable';
  const text = `${code}: ${message}`.replace(/[\r\n]+/g, ' ');
  return { status: { code: httpStatusOf(code) === 401 ? UNAUTHENTICATED : PERMISSION_DENIED, message: text }, message: text };
}

/** The backstop of postgres/check-response.ts: a message the client reads never carries its token. */
function withoutToken(message: string, input: CheckInput): string {
  const token = (input.credential.authorization ?? '').replace(/^bearer\s+/i, '');
  return token.length >= MIN_REDACTED_TOKEN && message.includes(token) ? message.replaceAll(token, '[redacted]') : message;
}
