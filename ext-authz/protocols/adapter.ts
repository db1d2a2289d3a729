import type { ProtoStruct } from '../../common/struct.ts';
import type { CheckInput, CheckProtocol } from '../check-input.ts';
import type { Verdict } from '../verdict.ts';

/** An Envoy CheckRequest as @grpc/proto-loader decodes it (only the fields the adapters read). */
export interface CheckRequestMessage {
  attributes?: {
    source?: { address?: { socket_address?: { address?: string } } };
    request?: { http?: { id?: string; method?: string; path?: string; headers?: Record<string, string>; body?: string; raw_body?: Buffer } };
    context_extensions?: Record<string, string>;
    route_metadata_context?: { filter_metadata?: Record<string, { fields?: Record<string, Record<string, unknown>> }> };
  };
}

export interface HeaderValueOption {
  header: { key: string; value: string };
  append_action: 'OVERWRITE_IF_EXISTS_OR_ADD';
}

/** An Envoy CheckResponse. The HTTP filter reads every field; the network filter only `status`. */
export interface CheckResponseMessage {
  status: { code: number; message: string };
  ok_response?: { headers: HeaderValueOption[]; headers_to_remove: string[] };
  denied_response?: { status: { code: string }; headers: HeaderValueOption[]; body: string };
  dynamic_metadata?: ProtoStruct;
}

/**
 * One protocol at the ext_authz edge: what Envoy sends for it becomes a neutral CheckInput, and the
 * verdict on that input becomes what Envoy expects back. Both directions live in the protocol's
 * folder (protocols/<name>/) and the adapter carries its own name; the list in protocols/index.ts
 * is the only other place that knows it exists.
 */
export interface ProtocolAdapter {
  readonly protocol: CheckProtocol;
  /** Whether this CheckRequest came from this protocol's Envoy filter. */
  recognizes(request: CheckRequestMessage): boolean;
  read(request: CheckRequestMessage): CheckInput;
  /** Never throws: the server edge sends whatever this returns. */
  respond(verdict: Verdict, input: CheckInput): CheckResponseMessage;
}
