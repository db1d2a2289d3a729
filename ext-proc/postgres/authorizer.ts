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

export interface PgAllow {
  allow: true;
  subject: string;
  issuer: string;
  groups: readonly string[];
  rule: string;
  /** The masking profile for results (rule's, else target's), or null. */
  masking: string | null;
  /** When the token expires (epoch ms); the session ends then. */
  expiresAt: number | undefined;
  approvalId: string | null;
  approvalWaitMs: number | undefined;
  /** For statements: what ext-authz read in it. */
  statement?: { class: string; command: string; tables: readonly string[] }[];
  /** ext-authz's clock when it began the check (epoch ms). */
  startedAt: number | undefined;
  /** The verdict rests on the statement's shape alone: statements of the same shape may reuse it. */
  reuse?: 'shape';
}

export interface PgDeny {
  allow: false;
  code: string;
  sqlstate: string;
  message: string;
  subject?: string;
  issuer?: string;
  approvalId?: string;
}

export type PgVerdict = PgAllow | PgDeny;

export interface PgAuthorizer {
  login(request: PgLoginRequest): Promise<PgVerdict>;
  statement(request: PgStatementRequest): Promise<PgVerdict>;
}
