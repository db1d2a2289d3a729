import { encodeRedisCheckResponse, isRedisCheckRequest, readRedisCheckRequest } from '../../../common/redis-check.ts';
import { httpStatusOf } from '../../../common/error-codes.ts';
import type { CheckInput } from '../../check-input.ts';
import { allowedFields, type Verdict } from '../../verdict.ts';
import type { CheckRequestMessage, CheckResponseMessage, ProtocolAdapter } from '../adapter.ts';

/**
 * ext-proc's Redis command processor: a synthetic CheckRequest per AUTH (context_extensions
 * sluice_protocol = redis; common/redis-check.ts) in, the identity, the login's end and its command
 * rules out. redis_proxy's own AUTH comes through RedisProxyExternalAuth (read-auth-request.ts)
 * and is decided by the same authorizer.
 */
export const redisAdapter: ProtocolAdapter = {
  protocol: 'redis',
  recognizes: isRedisCheckRequest,
  read(request: CheckRequestMessage): CheckInput {
    const check = readRedisCheckRequest(request);
    return {
      protocol: 'redis',
      requestId: '',
      target: check.target,
      credential: { kind: 'bearer', authorization: check.authorization },
      action: { kind: 'redis', phase: 'login', username: check.username, sessionId: check.sessionId },
      sourceAddress: undefined,
      holdBudgetMs: 0,
      reason: '',
    };
  },
  respond(verdict: Verdict, _input: CheckInput): CheckResponseMessage {
    if (verdict.kind === 'allow' && verdict.redis !== undefined) {
      return encodeRedisCheckResponse({
        allowed: true,
        ...allowedFields(verdict),
        expiresAt: verdict.redis.expiresAt,
        rules: verdict.redis.rules.map((r) => ({ id: r.id, effect: r.effect, commands: [...r.commands], keys: r.keys === null ? null : [...r.keys] })),
      }) as CheckResponseMessage;
    }
    const code = verdict.kind === 'deny' ? verdict.code : 'ERR_INTERNAL';
    const message = verdict.kind === 'deny' ? verdict.message : 'authorization is unavailable';
    return encodeRedisCheckResponse({ allowed: false, code, message }, { unauthenticated: httpStatusOf(code) === 401 }) as CheckResponseMessage;
  },
};
