import type { CheckInput } from '../../check-input.ts';

/** RedisProxyExternalAuthRequest as @grpc/proto-loader decodes it. */
export interface RedisAuthRequestMessage {
  username?: string;
  password?: string;
}

/**
 * One AUTH as redis_proxy hands it over (the target comes from the call's metadata, set in the
 * generated listener) as the neutral input: the password is the caller's token, read the way a
 * bearer header is. redis_proxy sends no client address and no request id.
 */
export function readRedisAuthRequest(request: RedisAuthRequestMessage, target: string | undefined): CheckInput {
  const token = (request.password ?? '').trim();
  return {
    protocol: 'redis',
    requestId: '',
    target: target === '' ? undefined : target,
    credential: { kind: 'bearer', authorization: token === '' ? undefined : `Bearer ${token}` },
    action: { kind: 'redis', phase: 'login', username: request.username ?? '', sessionId: '' },
    sourceAddress: undefined,
    holdBudgetMs: 0,
    reason: '',
  };
}
