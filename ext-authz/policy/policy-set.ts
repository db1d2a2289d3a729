import type { CompiledPolicy } from './compiled.ts';
import { evaluateRequest } from './evaluate.ts';
import type { AccessRequest, ContentCheck, Decision, PolicySet, RoutingNeeds } from './types.ts';
import { firstViolation, type CompiledGuardrail } from './guardrails.ts';
import { evaluateRedisLogin, redisNeedsCommandChecks, type RedisLoginDecision, type RedisLoginRequest } from './evaluate-redis.ts';
import { evaluateDatabaseLogin, evaluateDatabaseStatements, type DatabaseDecision, type DatabaseLoginRequest, type DatabaseStatementRequest } from './evaluate-postgres.ts';

/**
 * A compiled bundle. Besides the PolicySet contract it exposes the compiled policies, read-only,
 * for explain.ts and the CLI. Frozen after construction; a reload builds a new one and swaps it.
 */
export class CompiledPolicySet implements PolicySet {
  readonly targets: ReadonlySet<string>;
  readonly sources: readonly string[];
  /** All policies, in load order. */
  readonly policies: readonly CompiledPolicy[];
  /** Declared target → policies naming it, in load order (empty for a target no policy names). */
  readonly byTarget: ReadonlyMap<string, readonly CompiledPolicy[]>;
  /** Declared target → its content guardrails (absent when it has none). */
  readonly guardrailsByTarget: ReadonlyMap<string, readonly CompiledGuardrail[]>;
  /** Declared target → the operator's default masking profile (absent when none). */
  readonly maskingByTarget: ReadonlyMap<string, string>;
  /** Set on the stand-in bundle of a service whose policies have never loaded: why none is live. */
  readonly unavailable: string | undefined;

  constructor(init: {
    targets: ReadonlySet<string>;
    sources: readonly string[];
    policies: readonly CompiledPolicy[];
    byTarget: ReadonlyMap<string, readonly CompiledPolicy[]>;
    guardrailsByTarget?: ReadonlyMap<string, readonly CompiledGuardrail[]>;
    maskingByTarget?: ReadonlyMap<string, string>;
    unavailable?: string;
  }) {
    this.targets = init.targets;
    this.sources = Object.freeze([...init.sources]);
    this.policies = Object.freeze([...init.policies]);
    this.byTarget = init.byTarget;
    this.guardrailsByTarget = init.guardrailsByTarget ?? new Map();
    this.maskingByTarget = init.maskingByTarget ?? new Map();
    this.unavailable = init.unavailable;
    Object.freeze(this);
  }

  /** A bundle with no policies that denies everything, saying why no real bundle is live. */
  static unavailable(reason: string): CompiledPolicySet {
    return new CompiledPolicySet({ targets: new Set(), sources: [], policies: [], byTarget: new Map(), unavailable: reason });
  }

  evaluate(request: AccessRequest): Decision {
    return evaluateRequest(this.byTarget, request);
  }

  evaluateDatabaseLogin(request: DatabaseLoginRequest): DatabaseDecision {
    return evaluateDatabaseLogin(this.byTarget, request);
  }

  evaluateDatabaseStatements(request: DatabaseStatementRequest): DatabaseDecision {
    return evaluateDatabaseStatements(this.byTarget, request);
  }

  evaluateRedisLogin(request: RedisLoginRequest): RedisLoginDecision {
    return evaluateRedisLogin(this.byTarget, request);
  }

  maskingFor(target: string): string | null {
    return this.maskingByTarget.get(target) ?? null;
  }

  /**
   * What Envoy's route for a target must allow, derived from the policies: a target with an
   * `approve` rule may hold a request for a human (a long ext_authz budget), one whose guardrails
   * look at bodies needs Envoy to send the body with the check. The generated routes follow.
   */
  routingNeeds(target: string): RoutingNeeds {
    const mayHold = (this.byTarget.get(target) ?? []).some((policy) => policy.rules.some((rule) => rule.effect === 'approve'));
    const inspectsBody = (this.guardrailsByTarget.get(target) ?? []).some((guardrail) => guardrail.inBody);
    return { mayHold, inspectsBody, commandChecks: redisNeedsCommandChecks(this.byTarget.get(target) ?? []) };
  }

  guardsContent(target: string): boolean {
    return (this.guardrailsByTarget.get(target) ?? []).length > 0;
  }

  checkContent(content: ContentCheck): string | null {
    const guardrails = this.guardrailsByTarget.get(content.target);
    return guardrails === undefined ? null : firstViolation(guardrails, content);
  }
}
