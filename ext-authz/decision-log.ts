import { httpStatusOf } from '../common/error-codes.ts';
import type { Logger } from '../common/logger.ts';
import type { Action, CheckInput } from './check-input.ts';
import type { Verdict } from './verdict.ts';
import { sqlstateOf } from './protocols/postgres/sqlstate.ts';

/**
 * One JSON line per decision: who, what, which rule, the effect and how long it took. Built from
 * explicit fields only, so no header, token or claim value can slip in.
 */
export function logDecision(log: Logger, request: CheckInput, verdict: Verdict, latencyMs: number): void {
  const identity = verdict.identity;
  log.info({
    request_id: request.requestId,
    session_id: verdict.kind === 'allow' ? verdict.sessionId : undefined,
    subject: identity?.subject,
    issuer: identity?.issuerName,
    protocol: request.protocol,
    target: verdict.target ?? request.target,
    ...actionFields(request.action),
    effect: verdict.kind,
    rule: verdict.kind === 'allow' ? verdict.decision.rule : verdict.rule ?? null,
    // A database login's grant for the per-session role ext-proc mints (role names, never its password).
    db_roles: verdict.kind === 'allow' && verdict.decision.databaseRoles !== undefined ? [...verdict.decision.databaseRoles] : undefined,
    approval_id: verdict.kind === 'allow' ? verdict.approvalId : verdict.extra?.approval_id,
    code: verdict.kind === 'deny' ? verdict.code : undefined,
    status: verdict.kind === 'deny' ? httpStatusOf(verdict.code) : undefined,
    // What the database client got instead of an HTTP status.
    sqlstate: verdict.kind === 'deny' && request.protocol === 'postgres' ? sqlstateOf(verdict.code) : undefined,
    latency_ms: Math.round(latencyMs * 1000) / 1000,
  }, 'decision');
}

/**
 * The action's own summary fields. HTTP keeps the names the log always had. PostgreSQL gives the
 * phase, database user and database, and for a statement its normalized text (constants replaced
 * by $n: never the values, which may be data), kind, classes and tables. The processor's session id
 * stands for the session, so the decision and the session record share it.
 */
function actionFields(action: Action): Record<string, unknown> {
  switch (action.kind) {
    case 'http':
      return { method: action.method, path: action.path };
    case 'redis':
      // The AUTH user name as sent (never the token); empty for `AUTH <token>`.
      return { phase: action.phase, redis_user: action.username.slice(0, 64), ...(action.sessionId ? { session_id: action.sessionId } : {}) };
    case 'postgres': {
      const fields: Record<string, unknown> = { phase: action.phase, db_user: action.user, database: action.database, ...(action.sessionId ? { session_id: action.sessionId } : {}) };
      const statement = action.statement;
      if (statement === null) return fields;
      const analysis = statement.analysis;
      return {
        ...fields,
        statement_kind: statement.kind,
        statement: analysis.ok ? analysis.normalized : null,
        classes: analysis.ok ? [...new Set(analysis.statements.map((s) => s.class))] : [],
        commands: analysis.ok ? analysis.statements.map((s) => s.command) : [],
        tables: analysis.ok ? [...new Set(analysis.statements.flatMap((s) => s.tables))] : [],
      };
    }
  }
}
