import { BodyCapture, type SessionEvent, type SessionRecord } from './sessions/index.ts';
import type { ForwardedDecision } from './decision.ts';

/**
 * The session record of one exchange, built as its phases pass through ext-proc: request
 * headers, response headers, the response body as delivered (masked), and the end. Bodies are
 * capped by BodyCapture (truncation marked); credential headers are redacted again by the store.
 */
export class ExchangeRecording {
  private readonly events: SessionEvent[] = [];
  private readonly requestBody: BodyCapture;
  private readonly responseBody: BodyCapture;
  private responseHeaders: Record<string, string> = {};
  private status: number | null = null;
  private responseAt: number | undefined;

  constructor(
    private readonly decision: ForwardedDecision,
    private readonly request: { method: string; path: string; headers: Record<string, string> },
    private readonly startedAt: number,
    maxBodyBytes: number,
  ) {
    this.requestBody = new BodyCapture(maxBodyBytes);
    this.responseBody = new BodyCapture(maxBodyBytes);
    this.events.push({ at: startedAt, direction: 'request', kind: 'headers' });
  }

  onResponseHeaders(headers: Record<string, string>, at: number): void {
    this.status = Number(headers[':status']) || null;
    this.responseHeaders = withoutPseudo(headers);
    this.responseAt = at;
    this.events.push({ at, direction: 'response', kind: 'headers' });
  }

  /** A chunk as it was delivered to the caller (after masking). */
  onResponseBody(delivered: Buffer, at: number): void {
    this.responseBody.push(delivered);
    this.events.push({ at, direction: 'response', kind: 'body', bytes: delivered.length });
  }

  finish(at: number, failed: boolean): SessionRecord {
    this.events.push({ at, direction: 'response', kind: failed ? 'error' : 'end' });
    return {
      id: this.decision.sessionId,
      requestId: this.decision.requestId,
      subject: this.decision.subject,
      issuer: this.decision.issuer,
      target: this.decision.target,
      rule: this.decision.rule,
      decision: 'allow',
      method: this.request.method,
      path: this.request.path,
      status: failed ? null : this.status,
      startedAt: this.startedAt,
      endedAt: at,
      timings: {
        ...(this.responseAt !== undefined ? { upstreamMs: this.responseAt - this.startedAt } : {}),
        totalMs: at - this.startedAt,
      },
      request: { headers: withoutPseudo(this.request.headers), body: this.requestBody.body() },
      response: { headers: this.responseHeaders, body: this.responseBody.body() },
      events: this.events,
    };
  }
}

function withoutPseudo(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (!name.startsWith(':')) out[name] = value;
  return out;
}
