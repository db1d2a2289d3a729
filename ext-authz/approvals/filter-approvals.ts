import { ApprovalError } from './errors.ts';
import type { ApprovalFilter, ApprovalRequest } from './types.ts';

/**
 * Applies a list filter to requests whose status is already the effective one (see
 * withEffectiveStatus). Oldest first: approvers work a queue, and a stable order keeps pages
 * stable. Shared by both stores so `list` answers the same everywhere.
 */
export function filterApprovals(requests: Iterable<ApprovalRequest>, filter: ApprovalFilter): ApprovalRequest[] {
  const limit = filter.limit;
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) {
    throw new ApprovalError('ERR_APPROVAL_INVALID', 'list limit must be a non-negative integer', { details: { limit } });
  }
  const matching = [...requests].filter(
    (request) =>
      (filter.status === undefined || request.status === filter.status) &&
      (filter.subject === undefined || request.subject === filter.subject) &&
      (filter.target === undefined || request.target === filter.target),
  );
  matching.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return limit === undefined ? matching : matching.slice(0, limit);
}
