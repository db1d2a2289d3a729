import type { HttpRequestEvent, HttpResponseEvent, SessionRecord } from './types.ts';

/** The request of an HTTP session (its first `http.request` event), if recorded. */
export function httpRequestOf(record: Pick<SessionRecord, 'events'>): HttpRequestEvent | undefined {
  return record.events.find((event): event is HttpRequestEvent => event.kind === 'http.request');
}

/** The response the caller got (the last `http.response` event), if there was one. */
export function httpResponseOf(record: Pick<SessionRecord, 'events'>): HttpResponseEvent | undefined {
  for (let i = record.events.length - 1; i >= 0; i -= 1) {
    const event = record.events[i]!;
    if (event.kind === 'http.response') return event;
  }
  return undefined;
}

/** The list line of an HTTP session: "GET /api/x → 200", or "→ no response". */
export function httpSummary(method: string, path: string, status: number | null | undefined): string {
  return `${method} ${path} → ${status === null || status === undefined ? 'no response' : status}`;
}
