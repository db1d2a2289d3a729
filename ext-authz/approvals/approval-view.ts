import type { ApprovalRequest, ApprovalSpec } from './types.ts';

/** The JSON shape of an approval on the approvals API (snake_case, ISO timestamps). */
export interface ApprovalView {
  id: string;
  status: ApprovalRequest['status'];
  subject: string;
  issuer: string;
  target: string;
  method: string;
  path: string;
  rule: string;
  reason: string;
  approver_groups: string[];
  quorum: ApprovalSpec['quorum'];
  /** `approver` is the voter's subject, `issuer` their issuer name (null on records that predate it). */
  votes: { approver: string; issuer: string | null; approve: boolean; reason: string; at: string }[];
  created_at: string;
  expires_at: string;
  decided_at: string | null;
  decision_reason: string | null;
  /** When the held caller gave up waiting (null while one waits): approving then serves only their retry. */
  caller_left_at: string | null;
  /** A database statement's approval: database user, database name and the normalized statement; null for HTTP. */
  database: { user: string; name: string; statement: string } | null;
}

/** Epoch milliseconds as an ISO-8601 UTC timestamp. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * What the API returns for one approval. Built field by field, so a field added to
 * ApprovalRequest later (which might be internal) never leaks by accident.
 */
export function approvalView(request: ApprovalRequest): ApprovalView {
  const quorum = request.spec.quorum;
  return {
    id: request.id,
    status: request.status,
    subject: request.subject,
    issuer: request.issuer,
    target: request.target,
    method: request.method,
    path: request.path,
    rule: request.rule,
    reason: request.reason,
    approver_groups: [...request.spec.approverGroups],
    quorum: typeof quorum === 'string' ? quorum : { min: quorum.min },
    votes: request.votes.map((vote) => ({
      approver: vote.approver,
      issuer: vote.issuer ?? null,
      approve: vote.approve,
      reason: vote.reason,
      at: isoTime(vote.at),
    })),
    created_at: isoTime(request.createdAt),
    expires_at: isoTime(request.expiresAt),
    decided_at: request.decidedAt === null ? null : isoTime(request.decidedAt),
    decision_reason: request.decisionReason,
    caller_left_at: request.callerLeftAt === undefined ? null : isoTime(request.callerLeftAt),
    database: request.database === undefined ? null : { user: request.database.user, name: request.database.name, statement: request.database.statement },
  };
}
