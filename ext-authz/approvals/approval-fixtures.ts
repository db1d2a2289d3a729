/** Test support only: approval requests with sensible defaults. */
import type { ApprovalRequest } from './types.ts';

export const T0 = Date.parse('2030-01-01T00:00:00.000Z');

export function approvalRequest(overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return {
    id: 'apr-1',
    status: 'pending',
    issuer: 'people',
    subject: 'alice',
    target: 'billing',
    method: 'POST',
    path: '/admin/refunds',
    rule: 'billing/refunds',
    reason: 'INC-42 customer refund',
    spec: {
      approverGroups: ['billing-leads'],
      quorum: 'any',
      grant: { scope: 'request' },
      holdMs: 30_000,
      pendingTtlMs: 600_000,
    },
    votes: [],
    createdAt: T0,
    expiresAt: T0 + 600_000,
    decidedAt: null,
    decisionReason: null,
    ...overrides,
  };
}
