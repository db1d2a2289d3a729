import { isSluiceError } from '../../common/errors.ts';
import { ERROR_CODES, httpStatusOf, isErrorCode } from '../../common/error-codes.ts';
import { HttpRefusal, isHttpRefusal } from '../../common/http-refusal.ts';
import { authRefusal } from '../identity/http-bearer.ts';
import { MAX_BODY_BYTES } from './api-limits.ts';

/**
 * What the approvals API throws at the admin server: an HttpRefusal, or the unexpected error
 * unchanged. Only the approvers' codes (common/error-codes.ts) reach a client with their message,
 * at the table's status; anything else becomes a 500 ERR_INTERNAL with the detail logged.
 */
export function toRefusal(err: unknown): unknown {
  if (isHttpRefusal(err)) return err;
  if ((err as { statusCode?: unknown } | null)?.statusCode === 413) {
    // The rest of the body is not read; closing the connection is cheaper than draining it.
    return new HttpRefusal(httpStatusOf('ERR_BODY_TOO_LARGE'), 'ERR_BODY_TOO_LARGE', `the request body exceeds ${MAX_BODY_BYTES} bytes`, { headers: { connection: 'close' } });
  }
  if (isSluiceError(err) && isErrorCode(err.code) && ERROR_CODES[err.code].audience === 'approver') {
    const status = httpStatusOf(err.code);
    // The store's own message may name hosts and ports: it goes to the log, not to the caller.
    if (status === 503) return new HttpRefusal(status, err.code, 'the approval store is unavailable; try again shortly', { cause: err });
    return new HttpRefusal(status, err.code, err.message, { cause: err });
  }
  return authRefusal(err);
}
