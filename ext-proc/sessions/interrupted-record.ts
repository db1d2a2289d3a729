import type { ErrorCode } from '../../common/error-codes.ts';
import { httpSummary } from './http-events.ts';
import type { OpenExchange } from './open-journal.ts';
import type { SessionEvent, SessionRecord } from './types.ts';

/** The code in the `error` event of a record written for an exchange the gateway died in. */
export const RECORDING_INTERRUPTED = 'ERR_RECORDING_INTERRUPTED' satisfies ErrorCode;

/**
 * The `incomplete` record of an exchange a previous ext-proc process opened and died in before
 * its record left the process: what the journal knew (who, which target, the request line, the
 * status when response headers went back) and an error event saying the caller may have got part
 * of the answer. Bodies were never journaled, so they are recorded empty. Its id is the exchange's
 * session id: a store that did get the real record keeps that one (append is idempotent on the id).
 */
export function interruptedRecord(open: OpenExchange): SessionRecord {
  const endedAt = Math.max(open.startedAt, open.lastAt);
  const events: SessionEvent[] = [];
  const protocol = open.protocol ?? 'http';
  if (protocol === 'http' && open.method !== undefined && open.path !== undefined) {
    events.push({ at: open.startedAt, kind: 'http.request', method: open.method, path: open.path, headers: {}, body: EMPTY_BODY });
    if (open.status !== undefined) events.push({ at: endedAt, kind: 'http.response', status: open.status, headers: {}, body: EMPTY_BODY });
  }
  const reason = open.status === undefined
    ? 'the gateway stopped mid-exchange, before any response went back; the record was rebuilt from its open-exchange journal'
    : `the gateway stopped mid-exchange after the response headers (status ${open.status}) went back: the caller may have received part of the answer; the record was rebuilt from its open-exchange journal`;
  events.push({ at: endedAt, kind: 'error', code: RECORDING_INTERRUPTED, reason });
  return {
    version: 2,
    id: open.id,
    requestId: open.requestId,
    protocol,
    subject: open.subject,
    issuer: open.issuer,
    target: open.target,
    rule: open.rule,
    decision: 'allow',
    startedAt: open.startedAt,
    endedAt,
    outcome: 'incomplete',
    summary: protocol === 'http' && open.method !== undefined ? httpSummary(open.method, open.path ?? '', open.status) : `${protocol} session interrupted`,
    events,
  };
}

const EMPTY_BODY = { text: '', bytes: 0, truncated: false };
