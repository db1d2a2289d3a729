import { httpSummary } from './http-events.ts';
import type { CapturedBody, SessionEvent, SessionOutcome, SessionRecord } from './types.ts';

/** A record as stores wrote it before version 2: one HTTP exchange, HTTP-shaped. Read-only now. */
export interface SessionRecordV1 {
  version?: undefined;
  id: string;
  requestId: string;
  subject: string;
  issuer: string;
  target: string;
  rule: string;
  decision: 'allow' | 'deny';
  method: string;
  path: string;
  /** null when the exchange did not complete (reset, error, cut mid-body). */
  status: number | null;
  startedAt: number;
  endedAt: number;
  timings: { requestHeadersMs?: number; upstreamMs?: number; totalMs: number };
  request: { headers: Record<string, string>; body: CapturedBody };
  response: { headers: Record<string, string>; body: CapturedBody };
  events?: { at: number; direction: 'request' | 'response'; kind: 'headers' | 'body' | 'end' | 'error'; bytes?: number }[];
}

/**
 * The outcome of a version 1 record. Version 1 set status to null exactly when the exchange
 * failed, so that alone decides. Migration 002 backfills PostgreSQL rows with the same rule
 * (`CASE WHEN status IS NULL …`): keep the two in step.
 */
export function v1Outcome(record: Pick<SessionRecordV1, 'status'>): SessionOutcome {
  return record.status === null ? 'incomplete' : 'completed';
}

/**
 * Any stored record as version 2: a version 2 record is returned as it is; a version 1 record is
 * rebuilt from its fields. Its events become http.request (at the request headers), body chunks,
 * http.response (at the response headers) and a last end or error; v1 `end` events of the request
 * direction (never written by ext-proc) are dropped. Without v1 events, the request is placed at
 * startedAt, the response at startedAt + upstreamMs and the end at endedAt. timings.requestHeadersMs
 * has no place in version 2 and is dropped.
 */
export function upgradeRecord(stored: SessionRecord | SessionRecordV1): SessionRecord {
  if (stored.version === 2) return stored;
  const v1 = stored;
  const outcome = v1Outcome(v1);
  const request: SessionEvent = { at: v1.startedAt, kind: 'http.request', method: v1.method, path: v1.path, headers: v1.request.headers, body: v1.request.body };
  const hasResponse = v1.status !== null || Object.keys(v1.response.headers).length > 0 || v1.response.body.bytes > 0;
  const response = (at: number): SessionEvent => ({ at, kind: 'http.response', ...(v1.status === null ? {} : { status: v1.status }), headers: v1.response.headers, body: v1.response.body });
  const last: SessionEvent = outcome === 'completed' ? { at: v1.endedAt, kind: 'end' } : { at: v1.endedAt, kind: 'error', reason: 'the exchange did not complete' };
  const events: SessionEvent[] = [];
  if (v1.events === undefined) {
    events.push(request);
    if (hasResponse) events.push(response(v1.startedAt + (v1.timings.upstreamMs ?? v1.timings.totalMs)));
    events.push(last);
  } else {
    let sawRequest = false;
    let sawResponse = false;
    for (const event of v1.events) {
      if (event.kind === 'headers' && event.direction === 'request' && !sawRequest) {
        events.push({ ...request, at: event.at });
        sawRequest = true;
      } else if (event.kind === 'headers' && event.direction === 'response' && !sawResponse && hasResponse) {
        events.push(response(event.at));
        sawResponse = true;
      } else if (event.kind === 'body') {
        events.push({ at: event.at, kind: 'body', direction: event.direction, bytes: event.bytes ?? 0 });
      }
      // v1 end and error events: the one end is written below, from the outcome.
    }
    if (!sawRequest) events.unshift(request);
    if (!sawResponse && hasResponse) events.push(response(v1.startedAt + (v1.timings.upstreamMs ?? v1.timings.totalMs)));
    events.push(last);
  }
  return {
    version: 2,
    id: v1.id,
    requestId: v1.requestId,
    protocol: 'http',
    subject: v1.subject,
    issuer: v1.issuer,
    target: v1.target,
    rule: v1.rule,
    decision: v1.decision,
    startedAt: v1.startedAt,
    endedAt: v1.endedAt,
    outcome,
    summary: httpSummary(v1.method, v1.path, v1.status),
    events,
  };
}
