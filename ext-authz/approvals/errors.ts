import { SluiceError } from '../../common/errors.ts';

/**
 * Every code an approval store or the approval rules can raise. Callers branch on these (the
 * approval gate fails closed on ERR_APPROVAL_STORE_UNAVAILABLE; the approvals API maps the rest
 * to 404 / 409 / 403 / 400), so they are part of the public contract: add, never rename.
 */
export const APPROVAL_ERROR_CODES = [
  'ERR_APPROVAL_NOT_FOUND',
  'ERR_APPROVAL_EXPIRED',
  'ERR_APPROVAL_ALREADY_DECIDED',
  'ERR_APPROVAL_SELF',
  'ERR_APPROVAL_NOT_APPROVER',
  'ERR_APPROVAL_DUPLICATE_VOTE',
  'ERR_APPROVAL_STORE_UNAVAILABLE',
  'ERR_APPROVAL_INVALID',
] as const;

export type ApprovalErrorCode = (typeof APPROVAL_ERROR_CODES)[number];

export class ApprovalError extends SluiceError {
  declare readonly code: ApprovalErrorCode;

  constructor(code: ApprovalErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(code, message, options);
  }
}

export function isApprovalError(err: unknown, code?: ApprovalErrorCode): err is ApprovalError {
  return err instanceof ApprovalError && (code === undefined || err.code === code);
}
