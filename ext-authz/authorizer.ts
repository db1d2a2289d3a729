import { randomUUID } from 'node:crypto';
import { describeError } from '../common/errors.ts';
import { signalOf, type LazySignal } from '../common/lazy-signal.ts';
import type { Logger } from '../common/logger.ts';
import type { IdentityVerifier, Identity } from './identity/types.ts';
import type { PolicySet } from './policy/types.ts';
import { AuthError, extractBearer } from './identity/index.ts';
import type { CheckInput, PresentedCredential } from './check-input.ts';
import type { AllowVerdict, DenyVerdict, Verdict } from './verdict.ts';
import { approvalAction, type ApprovalGate } from './approval-gate.ts';
import type { Decision } from './policy/types.ts';
import { contentOf, decideAction } from './policy-input.ts';
import { actionRefusal } from './action-refusal.ts';

export interface AuthorizerDeps {
  verifier: IdentityVerifier;
  /** Returns the live policy set; called once per request so a reload takes effect at once. */
  policies: () => PolicySet;
  logger: Logger;
  newSessionId?: () => string;
  /** Wall clock (epoch ms) for the request's start, which the session record uses. */
  now?: () => number;
  /** Just-in-time approvals; without it, a rule with effect approve denies (503). */
  approvals?: ApprovalGate;
}

/**
 * The decision, in explicit phases: target → shape → identity → policy. Protocol-neutral: it reads the
 * CheckInput a protocol adapter (ext-authz/protocols/) made from what Envoy sent. Each phase either
 * hands its result to the next or ends with a deny; nothing here throws to the caller. Any
 * unexpected failure is a deny (fail closed) with the detail logged, never sent.
 */
export class Authorizer {
  private readonly newSessionId: () => string;
  private readonly now: () => number;

  constructor(private readonly deps: AuthorizerDeps) {
    this.newSessionId = deps.newSessionId ?? randomUUID;
    this.now = deps.now ?? Date.now;
  }

  async check(request: CheckInput, signal?: LazySignal): Promise<Verdict> {
    // The caller's request arrived now: the session record starts here, whatever waits follow.
    const startedAt = this.now();
    // Phase 1: target. A route that names no target is a configuration mistake; deny it.
    const target = request.target;
    if (!target) return deny('ERR_TARGET_UNKNOWN', 'the route names no target');

    // Phase 2: shape. An action the upstream could read differently from the policy (a path with
    // a second layer of encoding, say), or a database check missing a field, is refused before
    // anything else looks at it, whatever policy would say: no token is verified and no rule sees
    // it. What passes goes upstream as is.
    const refusal = actionRefusal(request.action);
    if (refusal !== null) {
      return { ...deny(refusal.code, refusal.message), target, ...(refusal.extra === undefined ? {} : { extra: refusal.extra }) };
    }

    // Phase 3: identity.
    let identity: Identity;
    try {
      identity = await this.deps.verifier.verify(presentedToken(request.credential), signal);
    } catch (err) {
      return this.identityFailure(err, target, signal);
    }

    // Phase 4: content guardrails, then policy.
    try {
      const policies = this.deps.policies();
      // The service started on a policy directory that does not load: nothing may pass until it does.
      if (policies.unavailable !== undefined) return { ...deny('ERR_POLICY_UNAVAILABLE', 'no policy is loaded yet; the gateway is not ready'), identity, target };
      const content = contentOf(target, request);
      const guardrail = content === null ? null : policies.checkContent(content);
      if (guardrail !== null) {
        return {
          ...deny('ERR_GUARDRAIL_BLOCKED', `the request content is blocked by guardrail "${guardrail}"`),
          identity, target, rule: null, extra: { guardrail },
        };
      }
      const { decision, denial, redis } = decideAction(policies, identity, target, request);
      const masking = decision.masking ?? policies.maskingFor(target);
      if (decision.effect === 'approve') return await this.approval(request, identity, target, decision, masking, startedAt, signal);
      if (decision.effect !== 'allow') {
        return { ...deny(denial.code, denial.message), identity, target, rule: decision.rule };
      }
      const textUnguarded = !policies.guardsContent(target);
      return {
        kind: 'allow', identity, target, decision, sessionId: this.sessionIdFor(request), masking, startedAt, textUnguarded,
        // A redis login ends with the token, or sooner when its grant says so.
        ...(redis === undefined ? {} : {
          redis: { expiresAt: Math.min(identity.expiresAt * 1000, redis.maxSessionMs === null ? Infinity : startedAt + redis.maxSessionMs), rules: redis.rules },
        }),
      };
    } catch (err) {
      this.deps.logger.error({ err: describeError(err), target }, 'policy evaluation failed; denying');
      return { ...deny('ERR_INTERNAL', 'authorization is unavailable'), identity, target };
    }
  }

  /** Phase 5 (approve rules only): grant, or pause for a human. */
  private async approval(request: CheckInput, identity: Identity, target: string, decision: Decision, masking: string | null, startedAt: number, lazySignal: LazySignal | undefined): Promise<Verdict> {
    const rule = decision.rule ?? '';
    if (!this.deps.approvals || !decision.approval) {
      this.deps.logger.error({ target, rule }, 'a rule needs approval but approvals are not configured; denying');
      return { ...deny('ERR_APPROVAL_UNAVAILABLE', 'approvals are unavailable'), identity, target, rule };
    }
    const outcome = await this.deps.approvals.decide({
      identity, target, ...approvalAction(request.action), rule, spec: decision.approval,
      reason: request.reason,
      holdBudgetMs: request.holdBudgetMs,
    }, signalOf(lazySignal) ?? new AbortController().signal);
    switch (outcome.kind) {
      case 'allow': {
        const allowed: AllowVerdict = { kind: 'allow', identity, target, decision, sessionId: this.sessionIdFor(request), approvalId: outcome.approvalId, approvalWaitMs: outcome.waitedMs, masking, startedAt };
        return allowed;
      }
      case 'denied': {
        const approval = outcome.approval;
        const expired = approval.status === 'expired';
        return {
          ...deny(expired ? 'ERR_APPROVAL_TIMED_OUT' : 'ERR_APPROVAL_DENIED',
            expired ? 'the approval request expired' : `denied by an approver: ${approval.decisionReason ?? 'no reason given'}`),
          identity, target, rule, extra: { approval_id: approval.id, status: approval.status },
        };
      }
      case 'pending':
        return {
          ...deny('ERR_APPROVAL_PENDING', pendingMessage(request, outcome.approval.id)),
          identity, target, rule,
          extra: { approval_id: outcome.approval.id, status: 'pending', expires_at: new Date(outcome.approval.expiresAt).toISOString() },
        };
      case 'unavailable':
        return { ...deny('ERR_APPROVAL_UNAVAILABLE', 'approvals are unavailable'), identity, target, rule };
    }
  }

  /**
   * The session the decision belongs to: a database session's id comes from the processor (one per
   * connection, shared by its login and every statement); an HTTP exchange gets a new one.
   */
  private sessionIdFor(request: CheckInput): string {
    const action = request.action;
    return (action.kind === 'postgres' || action.kind === 'redis') && action.sessionId !== '' ? action.sessionId : this.newSessionId();
  }

  private identityFailure(err: unknown, target: string, lazySignal: LazySignal | undefined): DenyVerdict {
    if (err instanceof AuthError && err.code === 'ERR_JWKS_UNAVAILABLE') {
      this.deps.logger.warn({ err: describeError(err), issuer: err.details.issuer, target }, 'identity provider unavailable; denying');
      return { ...deny(err.code, 'the identity provider is unavailable'), target };
    }
    if (err instanceof AuthError) return { ...deny(err.code, err.message), target };
    if (signalOf(lazySignal)?.aborted) {
      // Envoy gave up on the call (its timeout, or the client left): a normal end, not a fault.
      this.deps.logger.debug({ target }, 'check cancelled by envoy');
      return { ...deny('ERR_INTERNAL', 'authorization is unavailable'), target };
    }
    this.deps.logger.error({ err: describeError(err), target }, 'identity verification failed unexpectedly; denying');
    return { ...deny('ERR_INTERNAL', 'authorization is unavailable'), target };
  }
}

/** The token to verify from what the caller presented; throws an AuthError when there is none. */
function presentedToken(credential: PresentedCredential): string {
  switch (credential.kind) {
    case 'bearer':
      return extractBearer(credential.authorization);
  }
}

/** What a caller held past its budget is told: a retry works once an approver has approved. */
function pendingMessage(request: CheckInput, approvalId: string): string {
  switch (request.action.kind) {
    case 'http':
      return 'this action needs approval; retry once an approver has approved it';
    case 'postgres':
      return `this statement needs approval (approval ${approvalId}); run it again once an approver has approved it`;
    case 'redis':
      return `this login needs approval (approval ${approvalId}); log in again once an approver has approved it`;
  }
}

function deny(code: DenyVerdict['code'], message: string): DenyVerdict {
  return { kind: 'deny', code, message };
}
