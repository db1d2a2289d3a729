import type { RecordedHeaders, SessionRecord } from '../ext-proc/sessions/types.ts';

/**
 * Header names whose values the console never shows, whatever a record holds. The stores already
 * redact these when writing; the console does it again when showing, so a record written by an
 * older or misconfigured writer still cannot put a credential on a page (fail closed).
 */
const CREDENTIAL_HEADERS = /^(authorization|proxy-authorization|cookie|set-cookie|x-api-key|x-auth-token|x-amz-security-token)$|token|secret|password|api-key|apikey/i;
const REDACTED = '[redacted]';

export function redactHeaders(headers: RecordedHeaders): RecordedHeaders {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name] = CREDENTIAL_HEADERS.test(name) ? (value === REDACTED ? value : REDACTED) : value;
  return out;
}

/** The record as the console shows and downloads it: every event's headers passed through redactHeaders. */
export function redactRecord(record: SessionRecord): SessionRecord {
  return {
    ...record,
    events: record.events.map((event) => ('headers' in event ? { ...event, headers: redactHeaders(event.headers) } : event)),
  };
}
