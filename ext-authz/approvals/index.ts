export type { ApprovalFilter, ApprovalGrant, ApprovalRequest, ApprovalSpec, ApprovalStatus, ApprovalStore, ApprovalVote, Approver } from './types.ts';
export { APPROVAL_ERROR_CODES, ApprovalError, isApprovalError, type ApprovalErrorCode } from './errors.ts';
export { applyVote, checkNewRequest, effectiveStatus, expiredView, grantFor, retainUntil, VOTE_REASON_MAX, withEffectiveStatus } from './rules.ts';
export { MemoryApprovalStore, type MemoryApprovalStoreOptions } from './memory-store.ts';
export { RedisApprovalStore, type RedisApprovalStoreOptions } from './redis-store.ts';
