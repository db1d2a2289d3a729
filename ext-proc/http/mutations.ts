import { callerErrorBody, ENVOY_STATUS_NAME } from '../../common/caller-error.ts';
import { httpStatusOf, type CallerErrorCode } from '../../common/error-codes.ts';

/**
 * Builders for ext_proc messages. Header values go in `raw_value` only: Envoy reads raw_value
 * from ext_proc mutations (setting `value` alone yields an empty header; setting both fails the
 * stream).
 */
export interface HeaderValueOption {
  header: { key: string; raw_value: Buffer };
  append_action: 'OVERWRITE_IF_EXISTS_OR_ADD';
}

export interface HeaderMutation {
  set_headers: HeaderValueOption[];
  remove_headers: string[];
}

export function setHeader(key: string, value: string): HeaderValueOption {
  return { header: { key, raw_value: Buffer.from(value, 'latin1') }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' };
}

export function headersResponse(which: 'request_headers' | 'response_headers', mutation?: HeaderMutation) {
  return { [which]: { response: { status: 'CONTINUE', ...(mutation ? { header_mutation: mutation } : {}) } } };
}

/** The headers of every immediate reply (the session record of a refused exchange shows them). */
export const IMMEDIATE_RESPONSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'content-type': 'application/json', 'cache-control': 'no-store' });

/**
 * An immediate reply to the caller with Sluice's JSON error body; nothing goes upstream. The
 * status is the code's (common/error-codes.ts).
 */
export function immediateResponse(code: CallerErrorCode, message: string, requestId: string) {
  return {
    immediate_response: {
      status: { code: ENVOY_STATUS_NAME[httpStatusOf(code)] },
      headers: { set_headers: Object.entries(IMMEDIATE_RESPONSE_HEADERS).map(([name, value]) => setHeader(name, value)), remove_headers: [] },
      body: Buffer.from(callerErrorBody(code, message, requestId)),
      details: code,
    },
  };
}

/** Headers as a plain object from an ext_proc HeaderMap (raw_value bytes, lower-case keys). */
export function headerRecord(map: { headers?: { key?: string; value?: string; raw_value?: Buffer }[] } | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of map?.headers ?? []) {
    if (!h.key) continue;
    const value = h.raw_value && h.raw_value.length > 0 ? h.raw_value.toString('latin1') : (h.value ?? '');
    out[h.key] = out[h.key] === undefined ? value : `${out[h.key]},${value}`;
  }
  return out;
}
