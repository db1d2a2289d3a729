import { fromProtoStruct } from '../common/struct.ts';

/** Namespace under which Envoy files ext-authz's dynamic metadata (and forwards it to ext-proc). */
export const EXT_AUTHZ_NAMESPACE = 'envoy.filters.http.ext_authz';

/** ext-authz's decision for this exchange, as it travels in Envoy dynamic metadata. */
export interface ForwardedDecision {
  sessionId: string;
  requestId: string;
  target: string;
  rule: string;
  subject: string;
  issuer: string;
  approvalId: string | undefined;
  /** The masking profile the policy chose (rule, else target declaration); undefined: ext-proc's default. */
  masking: string | undefined;
}

interface RawMetadata {
  filter_metadata?: Record<string, { fields?: Record<string, Record<string, unknown>> }>;
}

/**
 * Reads the decision ext-authz attached. ext-proc never re-verifies the token: no decision (a
 * route without ext_authz, a misconfigured metadata_options) means the exchange is refused.
 */
export function readDecision(metadata: RawMetadata | undefined): ForwardedDecision | undefined {
  const raw = metadata?.filter_metadata?.[EXT_AUTHZ_NAMESPACE];
  if (!raw) return undefined;
  const d = fromProtoStruct(raw);
  const text = (key: string) => (typeof d[key] === 'string' ? (d[key] as string) : '');
  if (!text('session_id') || !text('target')) return undefined;
  return {
    sessionId: text('session_id'),
    requestId: text('request_id'),
    target: text('target'),
    rule: text('rule'),
    subject: text('subject'),
    issuer: text('issuer'),
    approvalId: text('approval_id') || undefined,
    masking: text('masking') || undefined,
  };
}
