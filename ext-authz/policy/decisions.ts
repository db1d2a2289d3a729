import type { ApprovalSpec } from '../approvals/types.ts';
import type { Decision } from './types.ts';

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** Builds a frozen decision. Shared decisions are handed to every caller, so they must not be mutable. */
export function frozenDecision(effect: Decision['effect'], rule: string | null, reason: string, approval: ApprovalSpec | null = null, masking: string | null = null): Decision {
  return Object.freeze({ effect, rule, reason, upstreamHeaders: NO_HEADERS, approval, masking });
}

export const DEFAULT_DENY = frozenDecision('deny', null, 'no rule allows this request');
export const UNKNOWN_TARGET = frozenDecision('deny', null, 'target is not declared in the policy bundle');
export const PATH_NOT_NORMALIZED = frozenDecision('deny', null, 'path is not normalized (dot or empty segments)');
/** Policy files have rules for HTTP requests only; any other kind of action is denied until they do. */
export const NO_RULES_FOR_ACTION = frozenDecision('deny', null, 'no policy rule covers this kind of action');
