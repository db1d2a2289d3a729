import { AuthError } from './errors.ts';

/**
 * The token from an `Authorization: Bearer <token>` header (RFC 6750 §2.1; the scheme is
 * case-insensitive). Anything else — another scheme, no token, several tokens — is refused rather
 * than guessed at. Nothing from the header is echoed into the error: with another scheme it may be
 * a password.
 */
export function extractBearer(authorizationHeader: string | undefined): string {
  if (authorizationHeader === undefined || authorizationHeader.trim() === '') {
    throw new AuthError('ERR_TOKEN_MISSING', 'no bearer token: the Authorization header is absent or empty');
  }
  // A scan and includes() instead of a regex split: the token is most of the header, and this
  // runs on every request.
  const header = authorizationHeader.trim();
  let i = 0;
  while (i < header.length && header[i] !== ' ' && header[i] !== '\t') i++;
  if (header.slice(0, i).toLowerCase() !== 'bearer') {
    throw new AuthError('ERR_TOKEN_MALFORMED', 'the Authorization header does not use the Bearer scheme', {
      details: { reason: 'scheme' },
    });
  }
  while (i < header.length && (header[i] === ' ' || header[i] === '\t')) i++;
  if (i === header.length) {
    throw new AuthError('ERR_TOKEN_MISSING', 'the Authorization header has the Bearer scheme but no token');
  }
  const token = header.slice(i);
  if (token.includes(' ') || token.includes('\t')) {
    throw new AuthError('ERR_TOKEN_MALFORMED', 'the Authorization header carries more than one token', {
      details: { reason: 'multiple tokens' },
    });
  }
  return token;
}
