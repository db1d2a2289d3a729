import { fromProtoStruct, toProtoStruct, type ProtoStruct } from './struct.ts';

/**
 * The decision ext-authz hands to ext-proc (and later to the database filters) as Envoy dynamic
 * metadata: ext-authz returns it in CheckResponse.dynamic_metadata, Envoy files it under the
 * ext_authz filter's namespace and forwards that namespace to ext_proc
 * (`metadata_options.forwarding_namespaces`). Written and read only here, so the two services
 * cannot drift apart.
 */

/** Where Envoy files the decision of the HTTP ext_authz filter. */
export const HTTP_DECISION_NAMESPACE = 'envoy.filters.http.ext_authz';
/** Where Envoy files the decision of the network ext_authz filter (the coming database protocols). */
export const NETWORK_DECISION_NAMESPACE = 'envoy.filters.network.ext_authz';

export const DECISION_VERSION = 1;

export type GatewayProtocol = 'http' | 'postgres' | 'redis';
const PROTOCOLS: readonly GatewayProtocol[] = ['http', 'postgres', 'redis'];

export interface GatewayDecision {
  /** Wire version; a reader refuses any other (bump it when a field changes meaning). */
  v: typeof DECISION_VERSION;
  protocol: GatewayProtocol;
  sessionId: string;
  /** Envoy's x-request-id of the checked request. */
  requestId: string;
  target: string;
  /** `policy/rule` that allowed it ('' if none is named). */
  rule: string;
  subject: string;
  /** The issuer's configured name, not its URL. */
  issuer: string;
  groups: readonly string[];
  /** Set when the request passed through a just-in-time approval (or a grant from one). */
  approvalId: string | null;
  /** The masking profile the policy chose (rule, else target), or null for ext-proc's default. */
  masking: string | null;
  /**
   * When ext-authz began checking the request (epoch ms): the caller's request arrived then, so a
   * session record starts here, not when ext-proc first saw the request (after any approval hold).
   * Optional within version 1: a decision without it still reads, and the record falls back to
   * ext-proc's own clock.
   */
  requestStartedAt?: number;
  /** How long the live request was held for its approval (ms; 0 for a grant), with `approvalId`. */
  approvalWaitMs?: number;
}

/** envoy.config.core.v3.Metadata as @grpc/proto-loader decodes it (oneofs: true). */
export interface ForwardedMetadata {
  filter_metadata?: Record<string, { fields?: Record<string, Record<string, unknown>> } | undefined>;
}

/** The decision as a Struct for CheckResponse.dynamic_metadata; field names are snake_case on the wire. */
export function encodeDecision(decision: GatewayDecision): ProtoStruct {
  return toProtoStruct({
    v: decision.v,
    protocol: decision.protocol,
    session_id: decision.sessionId,
    request_id: decision.requestId,
    target: decision.target,
    rule: decision.rule,
    subject: decision.subject,
    issuer: decision.issuer,
    groups: [...decision.groups],
    approval_id: decision.approvalId,
    masking: decision.masking,
    // Absent fields stay absent on the wire (toProtoStruct drops undefined).
    request_started_at: decision.requestStartedAt,
    approval_wait_ms: decision.approvalWaitMs,
  });
}

/**
 * The decision in forwarded metadata, or undefined when there is none the reader can trust: no
 * namespace, a missing or unknown version or protocol, no session id or no target. Readers refuse
 * the exchange then; they never re-verify the caller themselves.
 */
export function decodeDecision(metadata: ForwardedMetadata | undefined, namespace: string = HTTP_DECISION_NAMESPACE): GatewayDecision | undefined {
  const raw = metadata?.filter_metadata?.[namespace];
  if (!raw) return undefined;
  const d = fromProtoStruct(raw);
  if (d.v !== DECISION_VERSION) return undefined;
  const protocol = PROTOCOLS.find((p) => p === d.protocol);
  const text = (key: string) => (typeof d[key] === 'string' ? d[key] : '');
  // A time that is not a finite, non-negative number is dropped rather than trusted.
  const time = (key: string) => (typeof d[key] === 'number' && Number.isFinite(d[key]) && d[key] >= 0 ? d[key] : undefined);
  const requestStartedAt = time('request_started_at');
  const approvalWaitMs = time('approval_wait_ms');
  if (!protocol || !text('session_id') || !text('target')) return undefined;
  return {
    v: DECISION_VERSION,
    protocol,
    sessionId: text('session_id'),
    requestId: text('request_id'),
    target: text('target'),
    rule: text('rule'),
    subject: text('subject'),
    issuer: text('issuer'),
    groups: Array.isArray(d.groups) ? d.groups.filter((g): g is string => typeof g === 'string') : [],
    approvalId: text('approval_id') || null,
    masking: text('masking') || null,
    ...(requestStartedAt === undefined ? {} : { requestStartedAt }),
    ...(approvalWaitMs === undefined ? {} : { approvalWaitMs }),
  };
}
