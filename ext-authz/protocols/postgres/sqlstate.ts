import { httpStatusOf, type CallerErrorCode } from '../../../common/error-codes.ts';
import { INVALID_CHECK_SQLSTATE } from '../../../common/postgres-check.ts';

/*
 * The SQLSTATE a database client gets for each refusal (PostgreSQL's error codes appendix), looked
 * up here at the edge, never chosen where the refusal is made: drivers and tools act on the class
 * (28 = bad credentials, 42 = not allowed, 08 = connection), so one code has one SQLSTATE.
 */

/** invalid_password: what PostgreSQL answers for a password it does not accept. */
const INVALID_PASSWORD = '28P01';
/** invalid_authorization_specification: PostgreSQL's answer when pg_hba.conf refuses a login. */
const INVALID_AUTHORIZATION = '28000';
const INSUFFICIENT_PRIVILEGE = '42501';
const SYNTAX_ERROR = '42601';
/** cannot_connect_now: a dependency is down; retrying later may work. */
const CANNOT_CONNECT_NOW = '57P03';
const SYSTEM_ERROR = '58000';

const BY_CODE: Partial<Record<CallerErrorCode, string>> = {
  ERR_DB_LOGIN_DENIED: INVALID_AUTHORIZATION,
  ERR_TARGET_UNKNOWN: INVALID_AUTHORIZATION,
  ERR_STATEMENT_DENIED: INSUFFICIENT_PRIVILEGE,
  ERR_POLICY_DENIED: INSUFFICIENT_PRIVILEGE,
  ERR_GUARDRAIL_BLOCKED: INSUFFICIENT_PRIVILEGE,
  ERR_APPROVAL_PENDING: INSUFFICIENT_PRIVILEGE,
  ERR_APPROVAL_DENIED: INSUFFICIENT_PRIVILEGE,
  ERR_APPROVAL_TIMED_OUT: INSUFFICIENT_PRIVILEGE,
  ERR_STATEMENT_UNPARSABLE: SYNTAX_ERROR,
  ERR_DB_CHECK_INVALID: INVALID_CHECK_SQLSTATE,
  ERR_JWKS_UNAVAILABLE: CANNOT_CONNECT_NOW,
  ERR_POLICY_UNAVAILABLE: CANNOT_CONNECT_NOW,
  ERR_APPROVAL_UNAVAILABLE: CANNOT_CONNECT_NOW,
  ERR_INTERNAL: SYSTEM_ERROR,
};

/** Whether a refusal is about the token itself (the HTTP edge answers those with 401). */
export function isTokenProblem(code: CallerErrorCode): boolean {
  return httpStatusOf(code) === 401;
}

/** The SQLSTATE of a refusal code: token problems 28P01, the table above, else 42501. */
export function sqlstateOf(code: CallerErrorCode): string {
  if (isTokenProblem(code)) return INVALID_PASSWORD;
  return BY_CODE[code] ?? INSUFFICIENT_PRIVILEGE;
}
