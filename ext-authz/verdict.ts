import type { Identity } from './identity/types.ts';
import type { Decision } from './policy/types.ts';
import type { CallerErrorCode } from '../common/error-codes.ts';
import type { RedisCommandRule } from './policy/evaluate-redis.ts';

/** What the authorizer decided, before it is turned into Envoy's CheckResponse at the server edge. */
export type Verdict = AllowVerdict | DenyVerdict;

export interface AllowVerdict {
  kind: 'allow';
  identity: Identity;
  target: string;
  decision: Decision;
  sessionId: string;
  /** Set when the request passed through a just-in-time approval (or a grant from one). */
  approvalId?: string;
  /** How long the request was held for that approval (ms; 0 for a standing grant). */
  approvalWaitMs?: number;
  /** When the check began (epoch ms): when the caller's request arrived at the gateway. */
  startedAt?: number;
  /** Masking profile ext-proc applies (the rule's, else the target's), or null for ext-proc's default. */
  masking: string | null;
  /** No content guardrail read the request's text for this target: the decision rests on its shape alone. */
  textUnguarded?: boolean;
  /** A redis login: when it must end (the token's exp, capped by the grant) and the command rules it carries. */
  redis?: RedisLoginGrant;
}

export interface RedisLoginGrant {
  /** Epoch ms. */
  expiresAt: number;
  rules: readonly RedisCommandRule[];
}

export interface DenyVerdict {
  kind: 'deny';
  /** Stable error code, also in the JSON body; the server edge looks up its HTTP status. */
  code: CallerErrorCode;
  /** Safe, short message for the caller: never a token, never internal detail. */
  message: string;
  identity?: Identity;
  target?: string;
  rule?: string | null;
  /** Extra, non-secret fields for the JSON body (e.g. approval_id and status of a pending approval). */
  extra?: Readonly<Record<string, unknown>>;
}

/**
 * What every protocol's allow answer tells ext-proc about the decision, in one place: who (subject,
 * the issuer's configured name, groups), which `policy/rule`, and the masking profile.
 */
export function allowedFields(verdict: AllowVerdict): { subject: string; issuer: string; groups: string[]; rule: string; masking: string | null } {
  return {
    subject: verdict.identity.subject,
    issuer: verdict.identity.issuerName,
    groups: [...verdict.identity.groups],
    rule: verdict.decision.rule ?? '',
    masking: verdict.masking,
  };
}
