import { SluiceError } from '../../../common/errors.ts';

/**
 * Codes of per-session roles (sluice.yaml `postgres.sessionRoles`). Operator codes: the client
 * sees a PostgreSQL FATAL with the SQLSTATE below and a fixed message; the log has the detail
 * (role names, server SQLSTATEs; never a password).
 */
export type SessionRoleErrorCode =
  /** The admin connection cannot be had: secret missing, server unreachable, admin login refused, timed out. */
  | 'ERR_PG_ROLE_ADMIN_UNAVAILABLE'
  /** The verdict grants a role the target does not list, none at all, or one that reaches superuser-like powers. */
  | 'ERR_PG_ROLE_NOT_GRANTABLE'
  /** The server refused CREATE ROLE (a granted role missing, the admin lacking a privilege). */
  | 'ERR_PG_ROLE_MINT_FAILED'
  /** Dropping or disabling a session's role failed; the sweep retries once it has expired. */
  | 'ERR_PG_ROLE_RELEASE_FAILED'
  /** The start-up sweep of leftover roles failed (logged; logins go on and fail closed on their own). */
  | 'ERR_PG_ROLE_SWEEP_FAILED';

/** SQLSTATE the client gets for each code that ends a login. */
export const SESSION_ROLE_SQLSTATE: Readonly<Record<SessionRoleErrorCode, string>> = Object.freeze({
  ERR_PG_ROLE_ADMIN_UNAVAILABLE: '08004',
  ERR_PG_ROLE_NOT_GRANTABLE: '28000',
  ERR_PG_ROLE_MINT_FAILED: '08004',
  ERR_PG_ROLE_RELEASE_FAILED: '58000',
  ERR_PG_ROLE_SWEEP_FAILED: '58000',
});

export class SessionRoleError extends SluiceError {
  declare readonly code: SessionRoleErrorCode;

  constructor(code: SessionRoleErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(code, message, options);
  }
}
