import type { PostgresAllow, PostgresCheckResult, PostgresDeny } from '../../common/postgres-check.ts';

/**
 * What a PostgreSQL session asks ext-authz, and what it hears back. The session never decides
 * itself: ext-authz verifies the token and applies policy, with the same verifier, policy files,
 * approvals and decision log as HTTP. authz-client.ts speaks this over ext-authz's Check RPC.
 */
export interface PgLoginRequest {
  sessionId: string;
  target: string;
  /** The db user and database the client asked for in its StartupMessage. */
  user: string;
  database: string;
  /** The password the client sent: its OIDC token. Never logged, never recorded. */
  token: string;
  sourceAddress: string | undefined;
}

export interface PgStatementRequest extends PgLoginRequest {
  text: string;
  /** `simple`: a Query message; `parse`: an extended-protocol Parse. */
  kind: 'simple' | 'parse';
  /** How long ext-authz may hold the statement for an approval (ms; 0 = never hold). */
  holdBudgetMs: number;
}

/**
 * The verdicts are common/postgres-check.ts's: one definition for ext-authz, which writes them,
 * and this processor, which acts on them.
 */
export type PgAllow = PostgresAllow;
export type PgDeny = PostgresDeny;
export type PgVerdict = PostgresCheckResult;

export interface PgAuthorizer {
  login(request: PgLoginRequest): Promise<PgVerdict>;
  statement(request: PgStatementRequest): Promise<PgVerdict>;
}
