import type { Identity } from '../identity/types.ts';
import type { ApprovalSpec } from '../approvals/types.ts';
import type { DatabaseDecision, DatabaseLoginRequest, DatabaseStatementRequest } from './evaluate-postgres.ts';
import type { RedisLoginDecision, RedisLoginRequest } from './evaluate-redis.ts';

/** What a policy is evaluated against: who, which target, which request. */
export interface AccessRequest {
  identity: Identity;
  /** Target name from the Envoy route (context_extensions `target`). */
  target: string;
  /** Upper-case HTTP method. */
  method: string;
  /** Path without query string, as sent (not decoded). */
  path: string;
  /** Request headers, lower-case names. */
  headers: Readonly<Record<string, string>>;
  /** Downstream client address, if known. */
  sourceAddress?: string;
}

export type Effect = 'allow' | 'deny' | 'approve';

export interface Decision {
  effect: Effect;
  /** `policyName/ruleName` of the deciding rule, or null for the default deny. */
  rule: string | null;
  /** Human-readable reason, safe to log (no claim values that could be secrets). */
  reason: string;
  /** Headers to add to the upstream request (identity headers the policy asks for). */
  upstreamHeaders: Readonly<Record<string, string>>;
  /** For effect `approve`: what the approval needs and grants; null otherwise. */
  approval: ApprovalSpec | null;
  /** The rule's own masking profile (overrides the target's), or null. */
  masking: string | null;
  /** A database login grant's `grant:` roles (targets that mint a role per session); absent elsewhere. */
  databaseRoles?: readonly string[];
}

/** The request content that content guardrails look at. */
export interface ContentCheck {
  target: string;
  /** Path without the query string. */
  path: string;
  /** Query string without the `?` ('' when none). */
  query: string;
  headers: Readonly<Record<string, string>>;
  /** The request body Envoy buffered for the check, when the route sends it. */
  body?: Buffer;
}

/** What the Envoy route of a target must allow (see CompiledPolicySet.routingNeeds). */
export interface RoutingNeeds {
  readonly mayHold: boolean;
  readonly inspectsBody: boolean;
  /** A redis target's rules name commands or keys (or a policy records them): ext-proc must see every command. */
  readonly commandChecks?: boolean;
}

/** A compiled, immutable policy bundle. `evaluate` is synchronous and allocation-light. */
export interface PolicySet {
  readonly targets: ReadonlySet<string>;
  /** Files the bundle was compiled from, for diagnostics. */
  readonly sources: readonly string[];
  evaluate(request: AccessRequest): Decision;
  /** A PostgreSQL login (the policies' `database:` grants). */
  evaluateDatabaseLogin(request: DatabaseLoginRequest): DatabaseDecision;
  /** A PostgreSQL statement text, each statement analysed (the rules with `statements:`). */
  evaluateDatabaseStatements(request: DatabaseStatementRequest): DatabaseDecision;
  /** A redis login (the policies' `redis:` grants), with the command rules it carries. */
  evaluateRedisLogin(request: RedisLoginRequest): RedisLoginDecision;
  /** Set when no policy bundle has ever loaded (the service started on a broken directory): every request is refused. */
  readonly unavailable?: string | undefined;
  /** The operator's default masking profile of a target (sluice.yaml), or null. */
  maskingFor(target: string): string | null;
  routingNeeds(target: string): RoutingNeeds;
  /** The name of the first content guardrail of the target that the content trips, or null. */
  checkContent(content: ContentCheck): string | null;
  /** Whether any content guardrail reads requests to the target. */
  guardsContent(target: string): boolean;
}

/** One problem in a policy file: where it is and what is wrong. */
export interface PolicyIssue {
  file: string;
  line: number;
  column: number;
  /** JSON-pointer-like path inside the document, e.g. `/policies/0/rules/1/effect`. */
  path: string;
  message: string;
}
