import { BodyCapture, type SessionEvent, type SessionRecord } from './sessions/index.ts';
import type { ForwardedDecision } from './decision.ts';
import type { BodySink } from './body-flow.ts';

/**
 * The session record of one exchange, built as its phases pass through ext-proc: request
 * headers, the request body, response headers, the response body (masked), and the end. Bodies are
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

  /** Where one direction's body chunks go (as delivered, or their masked copy); each is an event. */
  bodySink(direction: 'request' | 'response', now: () => number): BodySink {
    const capture = direction === 'request' ? this.requestBody : this.responseBody;
    return {
      push: (bytes: Buffer) => {
        capture.push(bytes);
        this.bodyEvent(direction, bytes.length, now());
      },
      skip: (byteCount: number) => {
        capture.skip(byteCount);
        this.bodyEvent(direction, byteCount, now());
      },
      get full() {
        return capture.full;
      },
    };
  }

  /**
   * One event per chunk while there are few; past MAX_EVENTS a chunk is added to the previous
   * event of the same direction, so a 1 GB body does not make a record of 100,000 events.
   */
  private bodyEvent(direction: 'request' | 'response', bytes: number, at: number): void {
    const last = this.events[this.events.length - 1];
    if (this.events.length >= MAX_EVENTS && last && last.kind === 'body' && last.direction === direction) {
      last.bytes = (last.bytes ?? 0) + bytes;
      last.at = at;
      return;
    }
    this.events.push({ at, direction, kind: 'body', bytes });
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

/** Events kept one per chunk; later chunks are merged into the last event. */
const MAX_EVENTS = 256;

function withoutPseudo(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (!name.startsWith(':')) out[name] = value;
  return out;
}
