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

/** The protocols with an adapter. Later 'postgres' | 'redis' (common/decision-metadata.ts already knows them). */
export type CheckProtocol = 'http';

/**
 * The credential as the caller presented it, not yet verified. A database adapter will add
 * `{ kind: 'password'; user; password }` (the startup message) and the identity phase a case for it.
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

/** What the caller wants to do. One member per protocol; a database action will carry its statement. */
export type Action = HttpAction;

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

const MAX_REASON_LENGTH = 500;

/** The caller's stated reason as approvers see it: trimmed and capped, the same for every protocol. */
export function capReason(raw: string | undefined): string {
  return (raw ?? '').trim().slice(0, MAX_REASON_LENGTH);
}
