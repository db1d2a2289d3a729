import { isSluiceError } from '../../common/errors.ts';
import { HttpRefusal, isHttpRefusal } from '../../common/http-refusal.ts';
import { authRefusal } from '../identity/http-bearer.ts';
import { MAX_BODY_BYTES } from './api-limits.ts';

/**
 * HTTP status for each error the store (or the API itself) raises on purpose. Only these codes
 * reach a client with their message; anything else stays as thrown and the admin server makes it
 * a 500 ERR_INTERNAL with the detail logged.
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

/** What the approvals API throws at the admin server: an HttpRefusal, or the unexpected error unchanged. */
export function toRefusal(err: unknown): unknown {
  if (isHttpRefusal(err)) return err;
  if ((err as { statusCode?: unknown } | null)?.statusCode === 413) {
    // The rest of the body is not read; closing the connection is cheaper than draining it.
    return new HttpRefusal(413, 'ERR_BODY_TOO_LARGE', `the request body exceeds ${MAX_BODY_BYTES} bytes`, { headers: { connection: 'close' } });
  }
  if (isSluiceError(err)) {
    const status = STATUS_BY_CODE[err.code];
    // The store's own message may name hosts and ports: it goes to the log, not to the caller.
    if (status === 503) return new HttpRefusal(status, err.code, 'the approval store is unavailable; try again shortly', { cause: err });
    if (status !== undefined) return new HttpRefusal(status, err.code, err.message, { cause: err });
  }
  return authRefusal(err);
}
