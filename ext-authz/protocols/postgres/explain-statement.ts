import type { StatementSummary } from '../../../common/postgres-check.ts';
import type { Identity } from '../../identity/types.ts';
import type { ApprovalSpec } from '../../approvals/types.ts';
import { explainDatabase } from '../../policy/explain-postgres.ts';
import type { ExplainStep } from '../../policy/explain.ts';
import type { CompiledPolicySet } from '../../policy/policy-set.ts';
import type { Effect } from '../../policy/types.ts';
import { analyzeStatement } from './statement.ts';

/** A PostgreSQL login (sql null) or a statement text to explain, as `sluice policy explain` and the console ask. */
export interface PostgresExplainRequest {
  identity: Identity;
  target: string;
  user: string;
  database: string;
  /** The statement text as typed; null explains the login alone. */
  sql: string | null;
}

/** The decision in the form the caller sees it: for a deny, the code the client would get. */
export interface PostgresExplainSummary {
  effect: Effect;
  rule: string | null;
  code: string | null;
  message: string;
}

export interface PostgresExplanation {
  decision: PostgresExplainSummary;
  /** What the text does, statement by statement; null for a login or a text that does not parse. */
  statements: readonly StatementSummary[] | null;
  /** The text with constants replaced by $n; null when there is none (a login, an unparsable text). */
  normalized: string | null;
  trace: ExplainStep[];
  /** For an `approve` decision: who must approve, and what the approval grants. */
  approval: ApprovalSpec | null;
}

/**
 * "Would this login or statement text be allowed, and by which rule?" — decided in the order the
 * service decides it (authorizer.ts, policy-input.ts): content guardrails on the text first, then
 * the login grant, then an unparsable text is refused, then the statement rules. The text is read
 * with the parser the service uses, never with a copy of it. Pure: no identity is verified and
 * nothing is logged (the text may hold data).
 */
export function explainPostgresStatement(set: CompiledPolicySet, request: PostgresExplainRequest): PostgresExplanation {
  const login = { identity: request.identity, target: request.target, user: request.user, database: request.database };
  if (request.sql === null) {
    const { decision, trace } = explainDatabase(set, { ...login, statements: null });
    return { decision: summaryOf(decision), statements: null, normalized: null, trace, approval: decision.decision.approval };
  }
  const analysis = analyzeStatement(request.sql);
  const statements = analysis.ok ? analysis.statements : null;
  const normalized = analysis.ok ? analysis.normalized : null;
  const guardrail = set.checkContent({ target: request.target, path: '', query: '', headers: {}, body: Buffer.from(request.sql, 'utf8') });
  if (guardrail !== null) {
    const decision = { effect: 'deny' as const, rule: null, code: 'ERR_GUARDRAIL_BLOCKED', message: `the statement is blocked by guardrail "${guardrail}"` };
    return { decision, statements, normalized, trace: [], approval: null };
  }
  if (!analysis.ok) {
    // As the service does: a login the policy refuses is refused as a login, whatever the text.
    const { decision, trace } = explainDatabase(set, { ...login, statements: null });
    if (decision.decision.effect !== 'allow') return { decision: summaryOf(decision), statements, normalized, trace, approval: null };
    return { decision: { effect: 'deny', rule: null, code: analysis.code, message: analysis.message }, statements, normalized, trace, approval: null };
  }
  const { decision, trace } = explainDatabase(set, { ...login, statements: analysis.statements });
  return { decision: summaryOf(decision), statements, normalized, trace, approval: decision.decision.approval };
}

function summaryOf(result: ReturnType<typeof explainDatabase>['decision']): PostgresExplainSummary {
  const d = result.decision;
  return { effect: d.effect, rule: d.rule, code: result.denial?.code ?? null, message: result.denial?.message ?? d.reason };
}
