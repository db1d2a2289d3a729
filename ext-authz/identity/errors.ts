import { SluiceError } from '../../common/errors.ts';

/**
 * Every reason a bearer token can be refused. The list is the contract with the server edge (which
 * maps codes to HTTP 401/503) and with docs/errors.md; add codes, never rename them.
 */
export const AUTH_ERROR_CODES = [
  'ERR_TOKEN_MISSING',
  'ERR_TOKEN_MALFORMED',
  'ERR_TOKEN_TOO_LARGE',
  'ERR_TOKEN_ALG_NOT_ALLOWED',
  'ERR_TOKEN_UNKNOWN_ISSUER',
  'ERR_TOKEN_SIGNATURE_INVALID',
  'ERR_TOKEN_KEY_NOT_FOUND',
  'ERR_TOKEN_EXPIRED',
  'ERR_TOKEN_NOT_YET_VALID',
  'ERR_TOKEN_AUDIENCE',
  'ERR_TOKEN_CLAIM_MISSING',
  'ERR_TOKEN_CLAIM_INVALID',
  'ERR_JWKS_UNAVAILABLE',
] as const;

export type AuthErrorCode = (typeof AUTH_ERROR_CODES)[number];

/**
 * A refused credential. `details` carries only what an operator needs (issuer name, claim, kid,
 * reason); the token itself never appears in the message, the details or the cause.
 */
export class AuthError extends SluiceError {
  declare readonly code: AuthErrorCode;

  constructor(
    code: AuthErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(code, message, options);
  }
}
