import * as grpc from '@grpc/grpc-js';
import { authorizationService } from '../../common/protos.ts';
import { decodeRedisCheckResponse, encodeRedisCheckRequest, type RedisCheckInput, type RedisCheckResult } from '../../common/redis-check.ts';

/**
 * Under Envoy's 2 s message timeout for the chunk that holds the AUTH (the commands behind it
 * wait for the verdict), with room for a JWKS fetch that is already under way.
 */
const LOGIN_DEADLINE_MS = 1500;

/** Redis login checks over ext-authz's Check RPC (common/redis-check.ts); a failed call is a refusal. */
export class RedisAuthzClient {
  private readonly client: grpc.Client & { Check: Function };

  constructor(address: string) {
    const Authorization = authorizationService();
    this.client = new Authorization(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & { Check: Function };
  }

  check(input: RedisCheckInput): Promise<RedisCheckResult> {
    return new Promise((resolve) => {
      this.client.Check(encodeRedisCheckRequest(input), { deadline: Date.now() + LOGIN_DEADLINE_MS }, (err: grpc.ServiceError | null, response: unknown) => {
        if (err) {
          resolve({ allowed: false, code: 'ERR_REDIS_CHECK_FAILED', message: 'the gateway could not check this login with its authorizer' });
          return;
        }
        resolve(decodeRedisCheckResponse(response as never));
      });
    });
  }

  close(): void {
    this.client.close();
  }
}
