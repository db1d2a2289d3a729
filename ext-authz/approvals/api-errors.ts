import type { ServerResponse } from 'node:http';
import { isSluiceError } from '../../common/errors.ts';
import { sendJson } from '../../common/http.ts';
import { ERROR_CODES, httpStatusOf, isErrorCode } from '../../common/error-codes.ts';

export interface ApiFailure {
  status: number;
  code: string;
  message: string;
}

/**
 * Only the approvers' codes (common/error-codes.ts) reach a client with their message and status;
 * anything else is a 500 ERR_INTERNAL with the detail logged.
 */
export function toApiFailure(err: unknown): ApiFailure {
  if (isSluiceError(err) && isErrorCode(err.code) && ERROR_CODES[err.code].audience === 'approver') {
    const status = httpStatusOf(err.code);
    // The store's own message may name hosts and ports: it goes to the log, not to the caller.
    if (status === 503) return { status, code: err.code, message: 'the approval store is unavailable; try again shortly' };
    return { status, code: err.code, message: err.message };
  }
  return { status: httpStatusOf('ERR_INTERNAL'), code: 'ERR_INTERNAL', message: 'internal error' };
}

export function sendError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { error: { code, message } }, { 'cache-control': 'no-store', ...headers });
}
