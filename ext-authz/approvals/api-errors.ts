import type { ServerResponse } from 'node:http';
import { isSluiceError } from '../../common/errors.ts';
import { sendJson } from '../../common/http.ts';

/**
 * HTTP status for each error the store (or the API itself) raises on purpose. Only these codes
 * reach a client with their message; anything else is a 500 ERR_INTERNAL with the detail logged.
 */
const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  ERR_APPROVAL_INVALID: 400,
  ERR_APPROVAL_SELF: 403,
  ERR_APPROVAL_NOT_APPROVER: 403,
  ERR_APPROVAL_NOT_FOUND: 404,
  ERR_APPROVAL_ALREADY_DECIDED: 409,
  ERR_APPROVAL_DUPLICATE_VOTE: 409,
  ERR_APPROVAL_EXPIRED: 410,
  ERR_APPROVAL_STORE_UNAVAILABLE: 503,
};

export interface ApiFailure {
  status: number;
  code: string;
  message: string;
}

export function toApiFailure(err: unknown): ApiFailure {
  if (isSluiceError(err)) {
    const status = STATUS_BY_CODE[err.code];
    // The store's own message may name hosts and ports: it goes to the log, not to the caller.
    if (status === 503) return { status, code: err.code, message: 'the approval store is unavailable; try again shortly' };
    if (status !== undefined) return { status, code: err.code, message: err.message };
  }
  return { status: 500, code: 'ERR_INTERNAL', message: 'internal error' };
}

export function sendError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { error: { code, message } }, { 'cache-control': 'no-store', ...headers });
}
