import { errors } from 'jose';
import { AuthError } from './errors.ts';

/**
 * Translates what jose's jwtVerify throws into an AuthError. The jose error is deliberately not
 * kept as `cause`: claim errors carry the whole claims set, which must not reach logs; its code
 * goes into `details.reason` instead.
 */
export function authErrorFromJose(err: unknown, issuerName: string): AuthError {
  const reason = err instanceof errors.JOSEError ? err.code : 'unexpected';
  const details = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ issuer: issuerName, reason, ...extra });

  if (err instanceof errors.JWTExpired) {
    return new AuthError('ERR_TOKEN_EXPIRED', 'the token has expired', { details: details({ claim: err.claim }) });
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    const claim = err.claim;
    if (err.reason === 'missing') {
      return new AuthError('ERR_TOKEN_CLAIM_MISSING', `the token lacks the required "${claim}" claim`, { details: details({ claim }) });
    }
    if (claim === 'nbf' && err.reason === 'check_failed') {
      return new AuthError('ERR_TOKEN_NOT_YET_VALID', 'the token is not valid yet (nbf is in the future)', { details: details({ claim }) });
    }
    if (claim === 'aud' && err.reason === 'check_failed') {
      return new AuthError('ERR_TOKEN_AUDIENCE', 'the token is not meant for this audience', { details: details({ claim }) });
    }
    if (claim === 'iss' && err.reason === 'check_failed') {
      return new AuthError('ERR_TOKEN_UNKNOWN_ISSUER', 'the token issuer is not trusted', { details: details({ claim }) });
    }
    return new AuthError('ERR_TOKEN_CLAIM_INVALID', `the token "${claim}" claim is invalid`, { details: details({ claim }) });
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return new AuthError('ERR_TOKEN_SIGNATURE_INVALID', 'the token signature does not verify', { details: details() });
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    return new AuthError('ERR_TOKEN_ALG_NOT_ALLOWED', 'the token algorithm is not allowed', { details: details() });
  }
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) {
    return new AuthError('ERR_TOKEN_MALFORMED', 'the token is not a well-formed JWT', { details: details() });
  }
  // A TypeError here means the key cannot serve this token (e.g. an RSA key under 2048 bits): the
  // token is not accepted, and nothing more specific is true.
  return new AuthError('ERR_TOKEN_SIGNATURE_INVALID', 'the token signature cannot be verified with the issuer key', {
    details: details({ reason: err instanceof Error ? err.name : 'unexpected' }),
  });
}
