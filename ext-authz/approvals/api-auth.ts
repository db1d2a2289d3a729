import type { Identity } from '../identity/types.ts';
import type { ApprovalRequest, Approver } from './types.ts';

export { authenticate, wwwAuthenticate } from '../identity/http-bearer.ts';

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
