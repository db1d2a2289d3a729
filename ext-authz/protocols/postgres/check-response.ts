import { encodePostgresCheckResponse, type PostgresCheckResult } from '../../../common/postgres-check.ts';
import type { CheckInput } from '../../check-input.ts';
import { allowedFields, type Verdict } from '../../verdict.ts';
import type { CheckResponseMessage } from '../adapter.ts';
import { isTokenProblem, sqlstateOf } from './sqlstate.ts';

/** Tokens shorter than this are not looked for in messages (a short string would match by chance). */
const MIN_REDACTED_TOKEN = 8;

/**
 * The verdict on a PostgreSQL check as the processor reads it (common/postgres-check.ts): status 0
 * with the identity and the statement analysis, or 16 (the token) / 7 (anything else) with the
 * code, its SQLSTATE and a message the client may see.
 */
export function toPostgresCheckResponse(verdict: Verdict, input: CheckInput): CheckResponseMessage {
  const action = input.action.kind === 'postgres' ? input.action : null;
  if (verdict.kind === 'allow') {
    const analysis = action?.statement?.analysis;
    const result: PostgresCheckResult = {
      allowed: true,
      ...allowedFields(verdict),
      expiresAt: verdict.identity.expiresAt * 1000,
      approvalId: verdict.approvalId ?? null,
      ...(verdict.approvalId === undefined || verdict.approvalWaitMs === undefined ? {} : { approvalWaitMs: verdict.approvalWaitMs }),
      ...(verdict.startedAt === undefined ? {} : { startedAt: verdict.startedAt }),
      ...(analysis?.ok ? { statement: analysis.statements.map((s) => ({ class: s.class, command: s.command, tables: [...s.tables] })) } : {}),
      // Reusable by shape only when nothing but the shape decided: no approval, no guardrail on the text.
      ...(action?.phase === 'statement' && analysis?.ok && verdict.approvalId === undefined && verdict.textUnguarded === true ? { reuse: 'shape' as const } : {}),
      // A login's grant: the roles the processor's per-session role is given (never on a statement).
      ...(action?.phase === 'login' && verdict.decision.databaseRoles !== undefined ? { grantedRoles: [...verdict.decision.databaseRoles] } : {}),
    };
    return encodePostgresCheckResponse(result);
  }
  const approvalId = verdict.extra?.approval_id;
  const result: PostgresCheckResult = {
    allowed: false,
    code: verdict.code,
    sqlstate: sqlstateOf(verdict.code),
    message: withoutToken(verdict.message, input),
    ...(verdict.identity ? { subject: verdict.identity.subject, issuer: verdict.identity.issuerName } : {}),
    ...(typeof approvalId === 'string' ? { approvalId } : {}),
  };
  return encodePostgresCheckResponse(result, { unauthenticated: isTokenProblem(verdict.code) });
}

/**
 * Messages never carry the token by construction (identity errors echo nothing of it); this is the
 * backstop, since the database client shows the message to whoever is at the keyboard.
 */
function withoutToken(message: string, input: CheckInput): string {
  const header = input.credential.authorization?.trim() ?? '';
  const token = header.replace(/^bearer\s+/i, '');
  return token.length >= MIN_REDACTED_TOKEN && message.includes(token) ? message.replaceAll(token, '[redacted]') : message;
}
