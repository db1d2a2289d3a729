import { BodyCapture, httpSummary, type CapturedBody, type HttpRequestEvent, type HttpResponseEvent, type RecordedCredential, type SessionEvent, type SessionRecord } from './sessions/index.ts';
import type { MaskingProfile, MaskingReport } from './masking/types.ts';
import type { GatewayDecision } from '../common/decision-metadata.ts';
import type { BodySink } from './http/body-flow.ts';
import { recordedHeaders, recordedValue } from './http/recorded-headers.ts';

/** What the record needs of the exchange's masking profile. */
export type RecordingProfile = Pick<MaskingProfile, 'name' | 'requestBodies' | 'maskValue'>;

/** A response the gateway gave the caller in place of the upstream's (an ImmediateResponse). */
export interface RefusalResponse {
  /** The stable code the caller got, e.g. ERR_BODY_REFUSED. */
  code: string;
  reason: string;
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * The session record of one exchange, built as its phases pass through ext-proc: an approval event
 * when the request was held for one (the record starts when the caller's request arrived), an http.request
 * event at the request headers (its body attached at the end), body chunk events, an
 * http.response event at the response headers, and a last end or error event. Bodies are capped
 * by BodyCapture (truncation marked). Header values and the path are masked here with the
 * exchange's profile, for the record only (recorded-headers.ts), and counted in the masking
 * report's `headers`; credential headers are redacted here and again by the store. What is
 * recorded is what the caller got: when the gateway refuses, its own response replaces the
 * upstream's.
 */
export class ExchangeRecording {
  private readonly events: SessionEvent[] = [];
  private readonly request: HttpRequestEvent;
  private response: HttpResponseEvent | undefined;
  private readonly requestBody: BodyCapture;
  private readonly responseBody: BodyCapture;
  private refusal: { code: string; reason: string; body: CapturedBody } | undefined;
  private readonly startedAt: number;
  private readonly masked: Record<'request' | 'response', { masked: MaskingReport; delivered: boolean }>;
  /** What masking the recorded headers (and the request path) counted, per direction. */
  private readonly headersMasked: Record<'request' | 'response', MaskingReport>;

  constructor(
    private readonly decision: GatewayDecision,
    request: { method: string; path: string; headers: Record<string, string> },
    startedAt: number,
    private readonly maxBodyBytes: number,
    /** The exchange's credential and masking profile, as its plan decided them. */
    private readonly audit: { credential: RecordedCredential | undefined; profile: RecordingProfile | undefined },
  ) {
    // Until a body says otherwise: nothing masked, and whether the profile masks that direction
    // on its way (responses always; requests with `requestBodies`).
    const profile = audit.profile;
    this.masked = {
      request: { masked: NOTHING_MASKED, delivered: profile?.requestBodies ?? false },
      response: { masked: NOTHING_MASKED, delivered: profile !== undefined },
    };
    this.requestBody = new BodyCapture(maxBodyBytes);
    this.responseBody = new BodyCapture(maxBodyBytes);
    // The session began when the caller's request reached ext-authz, before any approval hold; the
    // earlier of the two clocks, so a skewed ext-authz clock can never start a session after ext-proc saw it.
    const arrived = decision.requestStartedAt === undefined ? startedAt : Math.min(decision.requestStartedAt, startedAt);
    this.startedAt = arrived;
    if (decision.approvalId !== null) {
      const waitMs = decision.approvalWaitMs ?? 0;
      this.events.push({ at: Math.min(arrived + waitMs, startedAt), kind: 'approval', approvalId: decision.approvalId, waitMs });
    }
    const head = recordedHeaders(request.headers, profile);
    const headMasked = { ...head.masked };
    const path = recordedValue(request.path, profile, headMasked);
    this.headersMasked = { request: headMasked, response: NOTHING_MASKED };
    this.request = { at: startedAt, kind: 'http.request', method: request.method, path, headers: head.headers, body: EMPTY_BODY };
    this.events.push(this.request);
  }

  /** The request line as recorded (the path masked with the profile). */
  requestLine(): { method: string; path: string } {
    return { method: this.request.method, path: this.request.path };
  }

  /** The response headers as they reached the caller (the record masks its own copy). */
  onResponseHeaders(headers: Record<string, string>, at: number): void {
    const status = Number(headers[':status']);
    const head = recordedHeaders(headers, this.audit.profile);
    this.headersMasked.response = head.masked;
    this.response = { at, kind: 'http.response', ...(Number.isInteger(status) && status >= 100 && status <= 999 ? { status } : {}), headers: head.headers, body: EMPTY_BODY };
    this.events.push(this.response);
  }

  /**
   * The gateway answered the caller itself (an ImmediateResponse): the record keeps that response,
   * not whatever the upstream had sent, and the outcome is `refused`.
   */
  refuse(refusal: RefusalResponse, at: number): void {
    const capture = new BodyCapture(this.maxBodyBytes);
    capture.push(refusal.body);
    const response: HttpResponseEvent = { at, kind: 'http.response', status: refusal.status, headers: refusal.headers, body: EMPTY_BODY };
    if (this.response !== undefined) this.events.splice(this.events.indexOf(this.response), 1, response);
    else this.events.push(response);
    this.response = response;
    // The gateway's own headers replace the upstream's, and with them what masking those counted.
    this.headersMasked.response = NOTHING_MASKED;
    this.refusal = { code: refusal.code, reason: refusal.reason, body: capture.body() };
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

  /** A body's masking counts, once it is done (or cut): see BodyFlow.masking(). */
  onMasking(direction: 'request' | 'response', masking: { masked: MaskingReport; delivered: boolean } | undefined): void {
    if (masking !== undefined) this.masked[direction] = masking;
  }

  /**
   * One event per chunk while there are few; past MAX_EVENTS a chunk is added to the previous
   * event of the same direction, so a 1 GB body does not make a record of 100,000 events.
   */
  private bodyEvent(direction: 'request' | 'response', bytes: number, at: number): void {
    const last = this.events[this.events.length - 1];
    if (this.events.length >= MAX_EVENTS && last?.kind === 'body' && last.direction === direction) {
      last.bytes += bytes;
      last.at = at;
      return;
    }
    this.events.push({ at, kind: 'body', direction, bytes });
  }

  /**
   * The record; `failed` when the exchange was cut (outcome `incomplete`). A refusal wins over
   * both: the caller got the gateway's answer, whatever became of the stream after it.
   */
  finish(at: number, failed: boolean): SessionRecord {
    this.request.body = this.requestBody.body();
    if (this.response !== undefined) this.response.body = this.refusal?.body ?? this.responseBody.body();
    const outcome = this.refusal !== undefined ? 'refused' : failed ? 'incomplete' : 'completed';
    if (this.refusal !== undefined) this.events.push({ at, kind: 'error', code: this.refusal.code, reason: this.refusal.reason });
    else if (failed) this.events.push({ at, kind: 'error', reason: this.response === undefined ? 'the exchange ended before a response' : 'the exchange ended before the response did' });
    else this.events.push({ at, kind: 'end' });
    return {
      version: 2,
      id: this.decision.sessionId,
      requestId: this.decision.requestId,
      protocol: 'http',
      subject: this.decision.subject,
      issuer: this.decision.issuer,
      target: this.decision.target,
      rule: this.decision.rule,
      decision: 'allow',
      startedAt: this.startedAt,
      endedAt: at,
      outcome,
      summary: httpSummary(this.request.method, this.request.path, this.response?.status),
      events: this.events,
      ...(this.audit.credential === undefined ? {} : { credential: this.audit.credential }),
      masking: {
        profile: this.audit.profile?.name ?? null,
        request: { ...this.masked.request, recordedTruncated: this.request.body.truncated, ...headersEntry(this.headersMasked.request) },
        // A refusal's own body replaces the upstream's: nothing of the upstream's reached the caller.
        response: this.refusal !== undefined ? { masked: NOTHING_MASKED, delivered: this.masked.response.delivered, recordedTruncated: this.refusal.body.truncated } : { ...this.masked.response, recordedTruncated: this.response?.body.truncated ?? false, ...headersEntry(this.headersMasked.response) },
      },
    };
  }
}

/** Events kept one per chunk; later chunks are merged into the last event. */
const MAX_EVENTS = 256;

const NOTHING_MASKED: MaskingReport = Object.freeze({});

const EMPTY_BODY: CapturedBody = { text: '', bytes: 0, truncated: false };

/** The report's `headers` entry: only when something was masked, as records before it had none. */
function headersEntry(masked: MaskingReport): { headers?: MaskingReport } {
  return Object.keys(masked).length === 0 ? {} : { headers: masked };
}
