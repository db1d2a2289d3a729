import type { StatementClass } from '../../common/postgres-check.ts';
import type { ClaimScalar } from './raw.ts';
import type { Decision, Effect } from './types.ts';

/*
 * The compiled, immutable form of a bundle: what evaluate.ts and explain.ts walk. Every object of
 * a kind has the same fields (null rather than absent), so V8 keeps property access monomorphic
 * on the request path.
 */

/** A dotted claim path, split once at load time. See claim-path.ts for how it resolves. */
export interface ClaimPath {
  readonly text: string;
  readonly segments: readonly string[];
  /**
   * `candidates[i]` lists the keys that may start at segment i, longest first: segments i..n-1
   * joined with ".", then i..n-2, ..., then segment i alone. Precomputed so resolving a path
   * never builds a string.
   */
  readonly candidates: readonly (readonly string[])[];
}

export interface CompiledClaimMatch {
  readonly path: ClaimPath;
  readonly values: ReadonlySet<ClaimScalar>;
}

export interface CompiledSubject {
  readonly issuer: string | null;
  /** `users: ["*"]`: any authenticated subject. */
  readonly anyUser: boolean;
  readonly users: ReadonlySet<string> | null;
  readonly groups: ReadonlySet<string> | null;
  readonly claims: readonly CompiledClaimMatch[];
  /** Index in the policy's `subjects` list, for explain. */
  readonly index: number;
}

export type ConditionSource = 'claim' | 'header' | 'sourceAddress';
export type ConditionOperator = 'equals' | 'in' | 'matches' | 'present';

export interface CompiledCondition {
  readonly source: ConditionSource;
  readonly claim: ClaimPath | null;
  /** Lower-case header name ('' unless source is header). */
  readonly header: string;
  readonly operator: ConditionOperator;
  /** equals / in. Header and source-address values are compared as strings. */
  readonly values: ReadonlySet<ClaimScalar> | null;
  /** matches. */
  readonly pattern: RegExp | null;
  /** present. */
  readonly present: boolean;
  /** The condition as written, e.g. `claim team equals "payments"`, for explain. */
  readonly description: string;
}

export interface CompiledRule {
  readonly name: string;
  /** `policyName/ruleName`. */
  readonly id: string;
  readonly effect: Effect;
  readonly anyMethod: boolean;
  readonly methods: ReadonlySet<string>;
  /** All of the rule's path globs as one anchored RegExp; null means any path. */
  readonly pathPattern: RegExp | null;
  readonly when: readonly CompiledCondition[];
  /** Shared, frozen decision returned when this rule decides (identity headers aside). */
  readonly decision: Decision;
  /** As written, for explain. */
  readonly methodsText: readonly string[] | null;
  readonly pathsText: readonly string[] | null;
  /** Set on a database statement rule (`statements:`), which HTTP requests never match; null on an HTTP rule. */
  readonly statements: CompiledStatementMatch | null;
  /** Set on a redis command rule (`commands:`); null otherwise. */
  readonly commands: CompiledCommandMatch | null;
}

/** What a redis command rule covers, as written (ext-proc compiles its own matcher from the same text). */
export interface CompiledCommandMatch {
  /** Upper-case command names, classes, "*". */
  readonly commands: readonly string[];
  /** Key globs; null: the rule is about any key (and keyless commands). */
  readonly keys: readonly string[] | null;
}

/** A policy's `redis:` block: the subjects may log in to its redis targets. */
export interface CompiledRedisGrant {
  /** Cap on a login's life (ms), or null: the token's exp alone. */
  readonly maxSessionMs: number | null;
  /** The allow decision of a login it grants (rule `<policy>/redis`). */
  readonly decision: Decision;
}

/** What a database statement rule covers (evaluate-postgres.ts). */
export interface CompiledStatementMatch {
  readonly classes: ReadonlySet<StatementClass>;
  /** Upper-case commands as written; one also covers longer commands it starts (CREATE → CREATE TABLE). */
  readonly commands: readonly string[];
  /** All of the rule's table globs as one anchored RegExp; null: the rule is about any table. */
  readonly tablePattern: RegExp | null;
  /** As written, for messages and explain. */
  readonly statementsText: readonly string[];
  readonly tablesText: readonly string[] | null;
}

/** A policy's `database:` block: who may log in as which database user to which database. */
export interface CompiledDatabaseGrant {
  readonly users: RegExp;
  readonly databases: RegExp;
  /** As written, for explain. */
  readonly usersText: readonly string[];
  readonly databasesText: readonly string[];
  /** The allow decision of a login it grants (rule `<policy>/database`). */
  readonly decision: Decision;
}

export type IdentityHeaderKind = 'subject' | 'issuer' | 'groups' | 'claim';

export interface CompiledIdentityHeader {
  readonly name: string;
  readonly kind: IdentityHeaderKind;
  readonly claim: ClaimPath | null;
}

export interface CompiledPolicy {
  readonly name: string;
  readonly description: string;
  readonly file: string;
  readonly targets: readonly string[];
  readonly subjects: readonly CompiledSubject[];
  readonly rules: readonly CompiledRule[];
  /**
   * Lets evaluate skip a policy entirely once an allow is found: only a deny or an approve rule
   * could still change the outcome.
   */
  readonly canOverrideAllow: boolean;
  readonly identityHeaders: readonly CompiledIdentityHeader[];
  /** The policy's database login grant, or null when it has none. */
  readonly database: CompiledDatabaseGrant | null;
  /** The policy's redis login grant, or null when it has none. */
  readonly redis: CompiledRedisGrant | null;
}
