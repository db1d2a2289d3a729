import type { IncomingMessage } from 'node:http';
import { HttpRefusal } from '../../common/http-refusal.ts';
import { AuthError } from './errors.ts';
import { extractBearer } from './extract-bearer.ts';
import type { Identity, IdentityVerifier } from './types.ts';

/**
 * The caller of an admin API (approvals, sessions), from their own OIDC bearer token. A refused
 * token is an HttpRefusal: 401 with `WWW-Authenticate` carrying the AuthError code, or 503 when
 * the identity provider cannot be reached (that is our outage, not the caller's fault).
 */
export async function authenticate(req: IncomingMessage, verifier: IdentityVerifier, signal: AbortSignal): Promise<Identity> {
  try {
    // Several Authorization headers arrive joined by Node; extractBearer then refuses the result.
    return await verifier.verify(extractBearer(req.headers.authorization), signal);
  } catch (err) {
    throw authRefusal(err);
  }
}

/** An AuthError as the HTTP refusal the admin APIs answer with; anything else unchanged. */
export function authRefusal(err: unknown): unknown {
  if (!(err instanceof AuthError)) return err;
  if (err.code === 'ERR_JWKS_UNAVAILABLE') return new HttpRefusal(503, err.code, 'the identity provider is unavailable', { cause: err });
  return new HttpRefusal(401, err.code, err.message, { headers: { 'www-authenticate': wwwAuthenticate(err) }, cause: err });
}

/** RFC 6750 §3: no error attribute when the request carried no token at all. */
export function wwwAuthenticate(err: AuthError): string {
  if (err.code === 'ERR_TOKEN_MISSING') return 'Bearer realm="sluice"';
  const description = err.message.replace(/["\\\r\n]/g, '');
  return `Bearer realm="sluice", error="invalid_token", error_description="${description}"`;
}
