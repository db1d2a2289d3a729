import type { PostgresPhase, StatementKind, StatementSummary } from '../common/postgres-check.ts';

/**
 * What the authorizer decides on, whatever the protocol: which target, the credential the caller
 * presented, and the action it wants to take. A protocol adapter (ext-authz/protocols/) builds it
 * from what Envoy sends; the phases in authorizer.ts never look at a wire format.
 */
export interface CheckInput {
  /** Equals `action.kind` today; kept apart because the decision metadata and the log name it. */
  protocol: CheckProtocol;
  /** The id Envoy logs for the exchange (HTTP: x-request-id), '' when there is none. */
  requestId: string;
  /** Target named by the route; undefined is a configuration mistake and is denied. */
  target: string | undefined;
  credential: PresentedCredential;
  action: Action;
  /** Downstream client address, if known. */
  sourceAddress: string | undefined;
  /**
   * How long Envoy waits for this check, so an approval hold never outlives Envoy's timeout.
   * 0 when the route does not say: no hold.
   */
  holdBudgetMs: number;
  /** Why the caller says it needs the action (HTTP: x-sluice-reason), shown to approvers; see capReason. */
  reason: string;
}

/** The protocols with an adapter. */
export type CheckProtocol = 'http' | 'postgres' | 'redis';

/**
 * The credential as the caller presented it, not yet verified. PostgreSQL's processor hands the
 * token from the startup message's password over as a bearer header, so it reads the same way.
 */
export type PresentedCredential = BearerCredential;

export interface BearerCredential {
  kind: 'bearer';
  /**
   * The Authorization header as sent (scheme included), undefined when absent. The identity phase
   * parses it (extractBearer), so a malformed header is an identity failure, after the target check.
   */
  authorization: string | undefined;
}

/** What the caller wants to do. One member per protocol. */
export type Action = HttpAction | PostgresAction | RedisAction;

/**
 * A Redis login: `AUTH [username] <token>` (or HELLO … AUTH) as redis_proxy hands it to the
 * external auth service, or as ext-proc's command processor asks about it (same decision).
 */
export interface RedisAction {
  kind: 'redis';
  phase: 'login';
  /** The AUTH user name as sent ('' for `AUTH <token>`). */
  username: string;
  /** ext-proc's session id for its command log ('' from redis_proxy's own check). */
  sessionId: string;
}

export interface HttpAction {
  kind: 'http';
  /** Upper-case method. */
  method: string;
  /** Path without the query string, as sent (not decoded). */
  path: string;
  /** Query string without the `?` ('' when none). */
  query: string;
  /** Request headers, lower-case names. */
  headers: Readonly<Record<string, string>>;
  /** Request body, when the route asks Envoy to send it (with_request_body, pack_as_bytes). */
  body: Buffer | undefined;
}

/**
 * A PostgreSQL login (the startup message) or one statement text (a Query or Parse message), as
 * ext-proc's network processor asks about it (common/postgres-check.ts).
 */
export interface PostgresAction {
  kind: 'postgres';
  phase: PostgresPhase;
  /** The database user the client logs in as (startup message `user`). */
  user: string;
  /** The database it logs in to (startup message `database`). */
  database: string;
  /** The processor's session id; the decision and the session record share it. */
  sessionId: string;
  /** Statement phase only: the text as sent and what it does. */
  statement: PostgresStatement | null;
  /** Why the check cannot be decided as sent (a field missing), or null. Refused before identity. */
  malformed: string | null;
}

export interface PostgresStatement {
  /** As sent: may hold data, so it never reaches a log. */
  text: string;
  kind: StatementKind;
  analysis: StatementAnalysis;
}

/** What a statement text does (ext-authz/protocols/postgres/statement.ts), or why it cannot be read. */
export type StatementAnalysis =
  | {
    ok: true;
    /** One per statement of the text, in order (an empty text is one `session` statement). */
    statements: readonly StatementSummary[];
    /** The text with constants replaced by $n ('' for an empty text): what logs and approvers see. */
    normalized: string;
  }
  | { ok: false; code: 'ERR_STATEMENT_UNPARSABLE'; message: string };

const MAX_REASON_LENGTH = 500;

/** The caller's stated reason as approvers see it: trimmed and capped, the same for every protocol. */
export function capReason(raw: string | undefined): string {
  return (raw ?? '').trim().slice(0, MAX_REASON_LENGTH);
}
