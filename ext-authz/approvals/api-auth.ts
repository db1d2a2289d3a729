import type { IncomingMessage } from 'node:http';
import { AuthError, extractBearer } from '../identity/index.ts';
import type { Identity, IdentityVerifier } from '../identity/types.ts';
import type { ApprovalRequest, Approver } from './types.ts';

/** The caller of the approvals API, from their own bearer token. Throws AuthError. */
export async function authenticate(req: IncomingMessage, verifier: IdentityVerifier, signal: AbortSignal): Promise<Identity> {
  // Several Authorization headers arrive joined by Node; extractBearer then refuses the result.
  return verifier.verify(extractBearer(req.headers.authorization), signal);
}

/** RFC 6750 §3: no error attribute when the request carried no token at all. */
export function wwwAuthenticate(err: AuthError): string {
  if (err.code === 'ERR_TOKEN_MISSING') return 'Bearer realm="sluice"';
  const description = err.message.replace(/["\\\r\n]/g, '');
  return `Bearer realm="sluice", error="invalid_token", error_description="${description}"`;
}

export function approverOf(identity: Identity): Approver {
  return { issuer: identity.issuerName, subject: identity.subject, groups: identity.groups };
}

/**
 * Who may see an approval: its requester, and anyone in one of its approver groups. Everyone else
 * is told it does not exist, so ids cannot be probed through the read endpoints.
 */
export function canSee(identity: Identity, request: ApprovalRequest): boolean {
  if (request.issuer === identity.issuerName && request.subject === identity.subject) return true;
  return request.spec.approverGroups.some((group) => identity.groups.includes(group));
}
