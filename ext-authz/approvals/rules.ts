import { ApprovalError } from './errors.ts';
import type { ApprovalGrant, ApprovalRequest, ApprovalStatus, ApprovalVote, Approver } from './types.ts';

/**
 * The approval rules, pure: no I/O, no clock of their own (every function takes `now`), and no
 * mutation (a vote returns a new request). Both stores apply exactly these functions, so the
 * memory store, the Redis store and the unit tests can never disagree about who may vote or
 * when a quorum is reached.
 */

/** Votes' reasons are shown to people and written to logs; cap them so one vote cannot bloat a record. */
export const VOTE_REASON_MAX = 500;

/** A pending request whose `expiresAt` has passed reads as expired, whether or not a store has rewritten it. */
export function effectiveStatus(request: ApprovalRequest, now: number): ApprovalStatus {
  return request.status === 'pending' && now >= request.expiresAt ? 'expired' : request.status;
}

/** The request as a reader at `now` should see it: an overdue pending request becomes expired (at its expiresAt). */
export function withEffectiveStatus(request: ApprovalRequest, now: number): ApprovalRequest {
  return effectiveStatus(request, now) === request.status ? request : expiredView(request);
}

/**
 * A pending request shown as expired. Used when a store has lost the record (TTL, cleanup) but a
 * waiter still holds the last copy it saw: failing closed means reporting it expired.
 */
export function expiredView(request: ApprovalRequest): ApprovalRequest {
  if (request.status !== 'pending') return request;
  return { ...request, status: 'expired', decidedAt: request.expiresAt };
}

/**
 * Records one vote. Checks run in a fixed order so the answer does not depend on which store is
 * used: expired, already decided, self-approval, not an approver, duplicate vote, then the input.
 * The last check is the input on purpose: someone who may not vote learns nothing about the rules
 * for a valid vote.
 */
export function applyVote(request: ApprovalRequest, approver: Approver, approve: boolean, reason: string, now: number): ApprovalRequest {
  const details = { id: request.id, status: effectiveStatus(request, now) };
  if (details.status === 'expired') throw new ApprovalError('ERR_APPROVAL_EXPIRED', 'the approval request has expired', { details });
  if (request.status !== 'pending') throw new ApprovalError('ERR_APPROVAL_ALREADY_DECIDED', `the approval request is already ${request.status}`, { details });
  if (approver.issuer === request.issuer && approver.subject === request.subject) {
    throw new ApprovalError('ERR_APPROVAL_SELF', 'a requester cannot vote on their own request', { details });
  }
  // Only the approver's groups that this request names are kept: they are all every-group needs,
  // and the rest of someone's group list is nobody's business in an approval record.
  const groups = approver.groups.filter((group) => request.spec.approverGroups.includes(group));
  if (groups.length === 0) {
    throw new ApprovalError('ERR_APPROVAL_NOT_APPROVER', 'the voter is in none of the approver groups', {
      details: { ...details, approverGroups: request.spec.approverGroups },
    });
  }
  if (request.votes.some((vote) => sameVoter(vote, approver))) {
    throw new ApprovalError('ERR_APPROVAL_DUPLICATE_VOTE', 'this approver has already voted on the request', { details });
  }
  const text = reason.trim().slice(0, VOTE_REASON_MAX);
  if (!approve && text === '') throw new ApprovalError('ERR_APPROVAL_INVALID', 'a denial needs a reason (it is shown to the requester)', { details });

  const vote: ApprovalVote = { approver: approver.subject, issuer: approver.issuer, groups, approve, reason: text, at: now };
  const votes = [...request.votes, vote];
  // One eligible "no" is final whatever the quorum: approval is the exception being asked for.
  if (!approve) return { ...request, votes, status: 'denied', decidedAt: now, decisionReason: text };
  if (!quorumReached(request, votes)) return { ...request, votes };
  return { ...request, votes, status: 'approved', decidedAt: now, decisionReason: text };
}

/**
 * The request with its caller marked gone at `at`, or undefined when there is nothing to record
 * (decided or expired by then). A later leave overwrites an earlier one: after a retry that was
 * held and left again, approvers see the last time somebody stopped waiting.
 */
export function withCallerLeft(request: ApprovalRequest, at: number): ApprovalRequest | undefined {
  if (effectiveStatus(request, at) !== 'pending') return undefined;
  return { ...request, callerLeftAt: at };
}

/** The grant an approved request creates. */
export function grantFor(request: ApprovalRequest): ApprovalGrant {
  if (request.status !== 'approved' || request.decidedAt === null) {
    throw new ApprovalError('ERR_APPROVAL_INVALID', 'only an approved request creates a grant', { details: { id: request.id, status: request.status } });
  }
  const grant = request.spec.grant;
  return {
    approvalId: request.id,
    issuer: request.issuer,
    subject: request.subject,
    target: request.target,
    rule: request.rule,
    scope: grant.scope,
    method: request.method,
    path: request.path,
    // A request-scope grant only has to outlive the hold (and a client's retry) while the request
    // could still be decided; a window grant runs from the decision, not from the ask.
    expiresAt: grant.scope === 'window' ? request.decidedAt + grant.windowMs : request.expiresAt,
  };
}

/**
 * How long a store keeps the record: until it can no longer be decided, and for an approved
 * window grant until the grant ends, so the approvals API can still show why access is open.
 */
export function retainUntil(request: ApprovalRequest): number {
  if (request.status === 'approved' && request.spec.grant.scope === 'window') return Math.max(request.expiresAt, grantFor(request).expiresAt);
  return request.expiresAt;
}

/** Checks a request handed to `create` (the gate builds them, but a store is the last line). */
export function checkNewRequest(request: ApprovalRequest): void {
  const problems: string[] = [];
  if (typeof request.id !== 'string' || request.id === '') problems.push('id is empty');
  if (request.status !== 'pending') problems.push(`status is ${request.status}, not pending`);
  if (request.votes.length !== 0) problems.push('a new request has no votes');
  if (request.callerLeftAt !== undefined) problems.push('a new request has a waiting caller');
  if (!(request.expiresAt > request.createdAt)) problems.push('expiresAt is not after createdAt');
  if (request.spec.approverGroups.length === 0) problems.push('spec.approverGroups is empty');
  const quorum = request.spec.quorum;
  if (typeof quorum === 'object' && !(Number.isInteger(quorum.min) && quorum.min >= 1)) problems.push('spec.quorum.min is not a positive integer');
  if (request.spec.grant.scope === 'window' && !(request.spec.grant.windowMs > 0)) problems.push('spec.grant.windowMs is not positive');
  if (problems.length > 0) {
    throw new ApprovalError('ERR_APPROVAL_INVALID', `invalid approval request: ${problems.join('; ')}`, { details: { id: request.id, problems } });
  }
}

function sameVoter(vote: ApprovalVote, approver: Approver): boolean {
  // A vote recorded without an issuer matches any issuer: refusing a second vote is the safe
  // mistake, counting one person twice is not.
  return vote.approver === approver.subject && (vote.issuer === undefined || vote.issuer === approver.issuer);
}

function quorumReached(request: ApprovalRequest, votes: readonly ApprovalVote[]): boolean {
  const approvals = votes.filter((vote) => vote.approve);
  const quorum = request.spec.quorum;
  if (quorum === 'any') return approvals.length >= 1;
  if (quorum === 'every-group') {
    return request.spec.approverGroups.every((group) => approvals.some((vote) => vote.groups.includes(group)));
  }
  // Votes are already one per approver (duplicates are refused), so counting votes counts people.
  return approvals.length >= quorum.min;
}
