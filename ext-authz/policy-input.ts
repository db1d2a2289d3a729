import type { CallerErrorCode } from '../common/error-codes.ts';
import type { CheckInput } from './check-input.ts';
import type { RedisCommandRule } from './policy/evaluate-redis.ts';
import type { Identity } from './identity/types.ts';
import type { ContentCheck, Decision, PolicySet } from './policy/types.ts';

/*
 * What the policy phase reads from a neutral check: one case per action kind in each function
 * here. HTTP requests are decided by the methods/paths rules, PostgreSQL logins by the policies'
 * `database:` grants and statements by the `statements:` rules (policy/evaluate-postgres.ts).
 */

/** The policy decision, and for a deny the code and message the caller gets. */
export interface ActionDecision {
  decision: Decision;
  denial: { code: CallerErrorCode; message: string };
  /** A redis login's cap on its life and its command rules (allowed logins only). */
  redis?: { maxSessionMs: number | null; rules: readonly RedisCommandRule[] };
}

const POLICY_DENIED = Object.freeze({ code: 'ERR_POLICY_DENIED', message: 'access denied by policy' } as const);

/** The policy decision on the action. */
export function decideAction(policies: PolicySet, identity: Identity, target: string, input: CheckInput): ActionDecision {
  const action = input.action;
  switch (action.kind) {
    case 'http':
      return {
        decision: policies.evaluate({
          identity,
          target,
          method: action.method,
          path: action.path,
          headers: action.headers,
          sourceAddress: input.sourceAddress,
        }),
        denial: POLICY_DENIED,
      };
    case 'postgres': {
      const request = { identity, target, user: action.user, database: action.database, sourceAddress: input.sourceAddress };
      if (action.statement === null) {
        const login = policies.evaluateDatabaseLogin(request);
        return { decision: login.decision, denial: login.denial ?? POLICY_DENIED };
      }
      const analysis = action.statement.analysis;
      if (!analysis.ok) {
        // Decided after identity, so the refusal is logged with who sent it.
        const login = policies.evaluateDatabaseLogin(request);
        if (login.decision.effect !== 'allow') return { decision: login.decision, denial: login.denial ?? POLICY_DENIED };
        return { decision: UNPARSABLE, denial: { code: analysis.code, message: analysis.message } };
      }
      const decided = policies.evaluateDatabaseStatements({ ...request, statements: analysis.statements });
      return { decision: decided.decision, denial: decided.denial ?? POLICY_DENIED };
    }
    case 'redis': {
      const login = policies.evaluateRedisLogin({ identity, target, username: action.username, sourceAddress: input.sourceAddress });
      if (login.decision.effect !== 'allow') return { decision: login.decision, denial: login.denial ?? POLICY_DENIED };
      return { decision: login.decision, denial: POLICY_DENIED, redis: { maxSessionMs: login.maxSessionMs, rules: login.rules } };
    }
  }
}

const UNPARSABLE: Decision = Object.freeze({ effect: 'deny', rule: null, reason: 'the statement does not parse', upstreamHeaders: Object.freeze({}), approval: null, masking: null });

/**
 * The content guardrails look at, or null when the action has none. A statement's text is its
 * body (guardrails with `in: [body]`, the default, see it); a login has no content.
 */
export function contentOf(target: string, input: CheckInput): ContentCheck | null {
  const action = input.action;
  switch (action.kind) {
    case 'http':
      return { target, path: action.path, query: action.query, headers: action.headers, body: action.body };
    case 'redis':
      return null;
    case 'postgres':
      if (action.statement === null) return null;
      return { target, path: '', query: '', headers: {}, body: Buffer.from(action.statement.text, 'utf8') };
  }
}
