import { randomUUID } from 'node:crypto';
import { describeError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import type { IdentityVerifier, Identity } from './identity/types.ts';
import type { PolicySet } from './policy/types.ts';
import { AuthError, extractBearer } from './identity/index.ts';
import type { HttpAttributes } from './http-attributes.ts';
import type { DenyVerdict, Verdict } from './verdict.ts';

export interface AuthorizerDeps {
  verifier: IdentityVerifier;
  /** Returns the live policy set; called once per request so a reload takes effect at once. */
  policies: () => PolicySet;
  logger: Logger;
  newSessionId?: () => string;
}

/**
 * The decision, in explicit phases: target → identity → policy. Each phase either hands its result
 * to the next or ends with a deny; nothing here throws to the caller. Any unexpected failure is a
 * deny (fail closed) with the detail logged, never sent.
 */
export class Authorizer {
  private readonly newSessionId: () => string;

  constructor(private readonly deps: AuthorizerDeps) {
    this.newSessionId = deps.newSessionId ?? randomUUID;
  }

  async check(request: HttpAttributes, signal?: AbortSignal): Promise<Verdict> {
    // Phase 1: target. A route that names no target is a configuration mistake; deny it.
    const target = request.target;
    if (!target) return deny(403, 'ERR_TARGET_UNKNOWN', 'the route names no target');

    // Phase 2: identity.
    let identity: Identity;
    try {
      identity = await this.deps.verifier.verify(extractBearer(request.headers.authorization), signal);
    } catch (err) {
      return this.identityFailure(err, target, signal);
    }

    // Phase 3: policy.
    try {
      const decision = this.deps.policies().evaluate({
        identity,
        target,
        method: request.method,
        path: request.path,
        headers: request.headers,
        sourceAddress: request.sourceAddress,
      });
      if (decision.effect !== 'allow') {
        return { ...deny(403, 'ERR_POLICY_DENIED', 'access denied by policy'), identity, target, rule: decision.rule };
      }
      return { kind: 'allow', identity, target, decision, sessionId: this.newSessionId() };
    } catch (err) {
      this.deps.logger.error({ err: describeError(err), target }, 'policy evaluation failed; denying');
      return { ...deny(503, 'ERR_INTERNAL', 'authorization is unavailable'), identity, target };
    }
  }

  private identityFailure(err: unknown, target: string, signal: AbortSignal | undefined): DenyVerdict {
    if (err instanceof AuthError && err.code === 'ERR_JWKS_UNAVAILABLE') {
      this.deps.logger.warn({ err: describeError(err), issuer: err.details.issuer, target }, 'identity provider unavailable; denying');
      return { ...deny(503, err.code, 'the identity provider is unavailable'), target };
    }
    if (err instanceof AuthError) return { ...deny(401, err.code, err.message), target };
    if (signal?.aborted) {
      // Envoy gave up on the call (its timeout, or the client left): a normal end, not a fault.
      this.deps.logger.debug({ target }, 'check cancelled by envoy');
      return { ...deny(503, 'ERR_INTERNAL', 'authorization is unavailable'), target };
    }
    this.deps.logger.error({ err: describeError(err), target }, 'identity verification failed unexpectedly; denying');
    return { ...deny(503, 'ERR_INTERNAL', 'authorization is unavailable'), target };
  }
}

function deny(status: DenyVerdict['status'], code: string, message: string): DenyVerdict {
  return { kind: 'deny', status, code, message };
}
