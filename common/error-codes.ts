import type { CallerStatus } from './caller-error.ts';

/**
 * Every code Sluice raises on purpose, with the one HTTP status it has wherever it reaches a
 * caller or an approver. Throw sites name a code only; the edges (ext-authz's CheckResponse,
 * ext-proc's immediate responses, the approvals API) look the status up here, so one code never
 * means two statuses. docs/errors.md explains each code; common/error-codes.test.ts keeps the two
 * and the source in step.
 *
 * audience: who sees the code. `caller` codes pass through Envoy (so their status is one Envoy's
 * StatusCode can name) and some of them also reach approvers (token and identity-provider errors);
 * `approver` codes only come from the approvals API; `operator` codes never reach anyone over HTTP
 * (logs, CLI, startup), so they have no status.
 */
export type ErrorCodeEntry =
  | { status: CallerStatus; audience: 'caller'; summary?: string }
  | { status: number; audience: 'approver'; summary?: string }
  | { status: null; audience: 'operator'; summary?: string };

const caller = (status: CallerStatus) => ({ status, audience: 'caller' }) as const;
const approver = <S extends number>(status: S) => ({ status, audience: 'approver' }) as const;
const operator = { status: null, audience: 'operator' } as const;

export const ERROR_CODES = Object.freeze({
  // Callers, through Envoy.
  ERR_TOKEN_MISSING: caller(401),
  ERR_TOKEN_MALFORMED: caller(401),
  ERR_TOKEN_TOO_LARGE: caller(401),
  ERR_TOKEN_ALG_NOT_ALLOWED: caller(401),
  ERR_TOKEN_UNKNOWN_ISSUER: caller(401),
  ERR_TOKEN_SIGNATURE_INVALID: caller(401),
  ERR_TOKEN_KEY_NOT_FOUND: caller(401),
  ERR_TOKEN_EXPIRED: caller(401),
  ERR_TOKEN_NOT_YET_VALID: caller(401),
  ERR_TOKEN_AUDIENCE: caller(401),
  ERR_TOKEN_CLAIM_MISSING: caller(401),
  ERR_TOKEN_CLAIM_INVALID: caller(401),
  ERR_POLICY_DENIED: caller(403),
  ERR_POLICY_UNAVAILABLE: caller(503),
  ERR_APPROVAL_PENDING: caller(403),
  ERR_APPROVAL_DENIED: caller(403),
  ERR_APPROVAL_TIMED_OUT: caller(403),
  ERR_APPROVAL_UNAVAILABLE: caller(503),
  ERR_TARGET_UNKNOWN: caller(403),
  ERR_PATH_AMBIGUOUS: caller(400),
  ERR_HEADERS_TOO_LARGE: caller(431),
  ERR_REQUEST_MALFORMED: caller(400),
  ERR_GUARDRAIL_BLOCKED: caller(403),
  ERR_DB_LOGIN_DENIED: caller(403),
  ERR_STATEMENT_DENIED: caller(403),
  ERR_STATEMENT_UNPARSABLE: caller(400),
  ERR_DB_CHECK_INVALID: caller(400),
  // Redis (the client reads `-ERR <code>: <message>`; the status is what the code means over HTTP).
  ERR_REDIS_LOGIN_DENIED: caller(403),
  ERR_REDIS_COMMAND_DENIED: caller(403),
  ERR_REDIS_NOT_LOGGED_IN: caller(401),
  ERR_NO_DECISION: caller(403),
  ERR_SECRET_UNAVAILABLE: caller(503),
  ERR_BODY_REFUSED: caller(502),
  ERR_REQUEST_BODY_REFUSED: caller(415),
  ERR_MASKING_PROFILE_UNKNOWN: caller(500),
  ERR_RECORDING_UNAVAILABLE: caller(503),
  ERR_JWKS_UNAVAILABLE: caller(503),
  ERR_INTERNAL: caller(500),

  // Approvers, from the approvals API.
  ERR_APPROVAL_NOT_FOUND: approver(404),
  ERR_APPROVAL_EXPIRED: approver(410),
  ERR_APPROVAL_ALREADY_DECIDED: approver(409),
  ERR_APPROVAL_SELF: approver(403),
  ERR_APPROVAL_NOT_APPROVER: approver(403),
  ERR_APPROVAL_DUPLICATE_VOTE: approver(409),
  ERR_APPROVAL_INVALID: approver(400),
  ERR_APPROVAL_STORE_UNAVAILABLE: approver(503),
  ERR_BODY_TOO_LARGE: approver(413),
  ERR_ROUTE_NOT_FOUND: approver(404),
  ERR_METHOD_NOT_ALLOWED: approver(405),
  ERR_SESSION_FORBIDDEN: approver(403),
  ERR_SESSION_NOT_FOUND: approver(404),
  ERR_SESSION_STORE_UNAVAILABLE: approver(503),
  ERR_SESSION_INVALID: approver(400),
  ERR_SERVICE_UNAVAILABLE: approver(503),
  // Console users (approvers, auditors, policy authors), from the operator console (console/).
  ERR_CONSOLE_SIGNIN_REQUIRED: approver(401),
  ERR_CONSOLE_SIGNIN_FAILED: approver(401),
  ERR_CONSOLE_CSRF: approver(403),
  ERR_CONSOLE_FORBIDDEN: approver(403),
  ERR_CONSOLE_INVALID: approver(400),
  ERR_CONSOLE_ISSUER_UNAVAILABLE: approver(503),

  // Operators and policy authors: logs, startup, the CLI.
  ERR_CONFIG_INVALID: operator,
  ERR_POLICY_INVALID: operator,
  ERR_POLICY_DIR_UNREADABLE: operator,
  ERR_SECRETS_INVALID: operator,
  ERR_OAUTH2_SECRET_MISSING: operator,
  ERR_OAUTH2_UNREACHABLE: operator,
  ERR_OAUTH2_REJECTED: operator,
  ERR_OAUTH2_BAD_RESPONSE: operator,
  ERR_MASKING_PROFILE_INVALID: operator,
  ERR_BODY_DECOMPRESSION_LIMIT: operator,
  ERR_BODY_DECOMPRESSION_FAILED: operator,
  ERR_PG_RESULT_UNMASKABLE: operator,
  ERR_ENVOY_NOT_FOUND: operator,
  ERR_ENVOY_CONFIG_INVALID: operator,
  ERR_ENVOY_START: operator,
  ERR_ADMIN_ROUTE_INVALID: operator,
  ERR_ENVOY_RELOAD_TIMEOUT: operator,
  ERR_SESSION_STORE_LOCKED: operator,
  ERR_SESSION_STORE_CORRUPT: operator,
  ERR_SESSION_CHAIN_KEY: operator,
  ERR_RECORDING_INTERRUPTED: operator,
  ERR_CHILD_START: operator,
  ERR_PG_SCRAM_INVALID: operator,
  ERR_PG_SCRAM_SERVER_SIGNATURE: operator,
  ERR_PG_AUTH_UNSUPPORTED: operator,
  ERR_PG_PROTOCOL_VIOLATION: operator,
  ERR_PG_MESSAGE_TOO_LARGE: operator,
  ERR_PG_STARTUP_REFUSED: operator,
  ERR_PG_UPSTREAM_LOGIN: operator,
  ERR_PG_NO_CREDENTIAL: operator,
  ERR_PG_RECORD_CAPPED: operator,
  ERR_PG_CHECK_FAILED: operator,
  ERR_PG_TLS_REQUIRED: operator,
  ERR_CHROMIUM_NOT_FOUND: operator,
  // PostgreSQL per-session roles (ext-proc/postgres/session-roles/).
  ERR_PG_ROLE_ADMIN_UNAVAILABLE: operator,
  ERR_PG_ROLE_NOT_GRANTABLE: operator,
  ERR_PG_ROLE_MINT_FAILED: operator,
  ERR_PG_ROLE_RELEASE_FAILED: operator,
  ERR_PG_ROLE_SWEEP_FAILED: operator,
  // Redis targets: the gateway's upstream login and the RESP stream.
  ERR_REDIS_UPSTREAM_PRIVILEGED: operator,
  ERR_REDIS_UPSTREAM_LOGIN: operator,
  ERR_REDIS_UPSTREAM_UNREACHABLE: operator,
  ERR_REDIS_NO_CREDENTIAL: operator,
  ERR_REDIS_PROTOCOL: operator,
  ERR_REDIS_CHECK_FAILED: operator,
} satisfies Record<string, ErrorCodeEntry>);

export type ErrorCode = keyof typeof ERROR_CODES;

/** The codes that reach a caller through Envoy; the edges there accept only these. */
export type CallerErrorCode = { [C in ErrorCode]: (typeof ERROR_CODES)[C]['audience'] extends 'caller' ? C : never }[ErrorCode];

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

/**
 * The HTTP status of a code. A code that has none (operator-only) or is not in the table gets
 * ERR_INTERNAL's 500: reaching an edge with it is itself a bug, and the edge still must answer.
 */
export function httpStatusOf(code: CallerErrorCode): CallerStatus;
export function httpStatusOf(code: string): number;
export function httpStatusOf(code: string): number {
  return (isErrorCode(code) ? ERROR_CODES[code].status : null) ?? ERROR_CODES.ERR_INTERNAL.status;
}
