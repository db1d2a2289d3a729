import { encodeDecision } from '../../../common/decision-metadata.ts';
import { callerErrorBody, ENVOY_STATUS_NAME, type CallerStatus } from '../../../common/caller-error.ts';
import { httpStatusOf } from '../../../common/error-codes.ts';
import type { CheckInput } from '../../check-input.ts';
import { allowedFields, type AllowVerdict, type DenyVerdict, type Verdict } from '../../verdict.ts';
import type { CheckResponseMessage, HeaderValueOption } from '../adapter.ts';

/** gRPC status codes carried in CheckResponse.status (google.rpc.Code). */
const RPC_OK = 0;
const RPC_INVALID_ARGUMENT = 3;
const RPC_PERMISSION_DENIED = 7;
const RPC_INTERNAL = 13;
const RPC_UNAVAILABLE = 14;
const RPC_UNAUTHENTICATED = 16;

/**
 * Envoy only tells OK from not-OK; the code is for its access log and stats, so it follows the
 * HTTP status the caller gets. Anything else a deny can carry is a refusal.
 */
const RPC_CODE_BY_STATUS: Partial<Record<CallerStatus, number>> = {
  400: RPC_INVALID_ARGUMENT,
  401: RPC_UNAUTHENTICATED,
  500: RPC_INTERNAL,
  503: RPC_UNAVAILABLE,
};

/** Prefix of the headers Sluice sets upstream; callers may never set them themselves. */
export const IDENTITY_HEADER_PREFIX = 'x-sluice-';

/** The verdict on an HTTP check as the CheckResponse Envoy's HTTP ext_authz filter expects. */
export function toCheckResponse(verdict: Verdict, request: CheckInput): CheckResponseMessage {
  return verdict.kind === 'allow' ? allowResponse(verdict, request) : denyResponse(verdict, request);
}

function allowResponse(verdict: AllowVerdict, request: CheckInput): CheckResponseMessage {
  const set = verdict.decision.upstreamHeaders;
  // The upstream must never see the caller's token, nor identity headers the caller made up.
  const remove = ['authorization'];
  const headers = request.action.kind === 'http' ? request.action.headers : {};
  for (const name of Object.keys(headers)) {
    if (name.startsWith(IDENTITY_HEADER_PREFIX) && !(name in set)) remove.push(name);
  }
  return {
    status: { code: RPC_OK, message: '' },
    ok_response: { headers: Object.entries(set).map(([key, value]) => overwrite(key, value)), headers_to_remove: remove },
    dynamic_metadata: encodeDecision({
      v: 1,
      protocol: request.protocol,
      sessionId: verdict.sessionId,
      requestId: request.requestId,
      target: verdict.target,
      ...allowedFields(verdict),
      approvalId: verdict.approvalId ?? null,
      requestStartedAt: verdict.startedAt,
      approvalWaitMs: verdict.approvalId === undefined ? undefined : verdict.approvalWaitMs,
    }),
  };
}

function denyResponse(verdict: DenyVerdict, request: CheckInput): CheckResponseMessage {
  const status = httpStatusOf(verdict.code);
  const headers = [overwrite('content-type', 'application/json'), overwrite('cache-control', 'no-store')];
  if (status === 401) headers.push(overwrite('www-authenticate', wwwAuthenticate(verdict)));
  return {
    status: { code: RPC_CODE_BY_STATUS[status] ?? RPC_PERMISSION_DENIED, message: verdict.code },
    denied_response: {
      status: { code: ENVOY_STATUS_NAME[status] },
      headers,
      body: callerErrorBody(verdict.code, verdict.message, request.requestId, verdict.extra),
    },
  };
}

/** RFC 6750 §3: no error attribute when the request carried no token at all. */
function wwwAuthenticate(verdict: DenyVerdict): string {
  if (verdict.code === 'ERR_TOKEN_MISSING') return 'Bearer realm="sluice"';
  const description = verdict.message.replace(/["\\\r\n]/g, '');
  return `Bearer realm="sluice", error="invalid_token", error_description="${description}"`;
}

function overwrite(key: string, value: string): HeaderValueOption {
  return { header: { key, value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' };
}
