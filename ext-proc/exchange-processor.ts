import type { Logger } from '../common/logger.ts';
import type { SecretStore } from './secrets/types.ts';
import type { CredentialPlan } from './credentials.ts';
import { readDecision, type ForwardedDecision } from './decision.ts';
import { headerRecord, headersResponse, immediateResponse, setHeader, type HeaderMutation } from './mutations.ts';
import type { MaskingProfile } from './masking/index.ts';
import { planResponseBody, type MaskedBody } from './response-body.ts';
import { ExchangeRecording } from './exchange-recording.ts';
import type { RecordingQueue } from './sessions/index.ts';

export interface ProcessorDeps {
  credentials: ReadonlyMap<string, CredentialPlan>;
  /** Masking profile per target; targets without one stream their bodies untouched. */
  masking: ReadonlyMap<string, MaskingProfile>;
  secrets: SecretStore;
  /** Request headers always removed before the upstream. */
  removeRequestHeaders: readonly string[];
  logger: Logger;
  /** Session recording; absent when `extProc.sessions.store` is off. */
  recording?: { queue: RecordingQueue; maxBodyBytes: number };
  now?: () => number;
}

/**
 * Sent with a response-headers answer when a body needs no processing: Envoy then streams it
 * straight through instead of through ext-proc (needs allow_mode_override in the filter).
 */
const BODY_NOT_NEEDED = {
  request_header_mode: 'SEND', response_header_mode: 'SEND', request_body_mode: 'NONE', response_body_mode: 'NONE',
  request_trailer_mode: 'SKIP', response_trailer_mode: 'SKIP',
};

/** Credentials a caller may never send upstream, whatever the configuration says. */
const CALLER_CREDENTIALS = ['authorization', 'proxy-authorization', 'cookie'];

type Message = Record<string, any>;

/**
 * One processor per ext_proc stream (one HTTP exchange), one method per phase. It reads
 * ext-authz's decision from the forwarded metadata, strips the caller's credentials, injects the
 * target's real one, and keeps that secret from being echoed back in response headers. Anything
 * it cannot do safely ends the exchange with an immediate error (fail closed).
 */
export class ExchangeProcessor {
  private decision: ForwardedDecision | undefined;
  /** The secret injected into this exchange, to scrub from what comes back. */
  private injected: string | undefined;
  private responseBody: MaskedBody | undefined;
  private recording: ExchangeRecording | undefined;
  /**
   * Where the exchange got to: 'response' once response headers passed, 'body' while a response
   * body streams through, 'done' after its last chunk. Decides whether a stream end is a failure.
   */
  private progress: 'request' | 'response' | 'body' | 'done' = 'request';
  private readonly now: () => number;

  constructor(private readonly deps: ProcessorDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Answers one ProcessingRequest with exactly one ProcessingResponse. Calls must not overlap. */
  async handle(request: Message): Promise<Message> {
    switch (request.request) {
      case 'request_headers': return this.onRequestHeaders(request);
      case 'response_headers': return this.onResponseHeaders(request);
      case 'request_body': return { request_body: { response: { status: 'CONTINUE' } } };
      case 'response_body': return this.onResponseBody(request);
      case 'request_trailers': return { request_trailers: {} };
      case 'response_trailers': return { response_trailers: {} };
      default:
        this.deps.logger.error({ kind: request.request }, 'unexpected ext_proc message; refusing the exchange');
        return immediateResponse(500, 'ERR_INTERNAL', 'the gateway could not process this request', this.decision?.requestId ?? '');
    }
  }

  private onRequestHeaders(request: Message): Message {
    const headers = headerRecord(request.request_headers?.headers);
    const requestId = headers['x-request-id'] ?? '';
    this.decision = readDecision(request.metadata_context);
    if (!this.decision) {
      this.deps.logger.error({ request_id: requestId }, 'no ext-authz decision in the forwarded metadata; refusing');
      return immediateResponse(403, 'ERR_NO_DECISION', 'the request was not authorized', requestId);
    }
    if (this.deps.recording) {
      // Audit completeness first: with the write queue full (deny mode), no new exchange starts.
      if (!this.deps.recording.queue.canAccept()) {
        this.deps.logger.error({ session_id: this.decision.sessionId, stats: this.deps.recording.queue.stats() }, 'session recording queue full; refusing new exchanges');
        return immediateResponse(503, 'ERR_RECORDING_UNAVAILABLE', 'the gateway cannot record this exchange right now', requestId);
      }
      const profile = this.deps.masking.get(this.decision.target);
      this.recording = new ExchangeRecording(this.decision, {
        method: headers[':method'] ?? '',
        path: maskText(headers[':path'] ?? '', profile),
        headers: maskHeaders(headers, profile),
      }, this.now(), this.deps.recording.maxBodyBytes);
    }
    const remove = new Set<string>(CALLER_CREDENTIALS);
    for (const name of this.deps.removeRequestHeaders) remove.add(name);
    const mutation: HeaderMutation = { set_headers: [], remove_headers: [] };

    const plan = this.deps.credentials.get(this.decision.target);
    if (plan) {
      const secret = this.deps.secrets.get(plan.secret);
      if (secret === undefined) {
        this.deps.logger.error({ target: this.decision.target, secret_name: plan.secret, session_id: this.decision.sessionId }, 'credential for target is not in any secret store; refusing');
        return immediateResponse(503, 'ERR_SECRET_UNAVAILABLE', 'the upstream credential is unavailable', requestId);
      }
      this.injected = secret;
      remove.delete(plan.header);
      mutation.set_headers.push(setHeader(plan.header, `${plan.prefix}${secret}${plan.suffix}`));
    }
    // Remove only what is there: Envoy treats removing an absent header as a no-op anyway, but a
    // short list keeps the message small on the hot path.
    for (const name of remove) if (name in headers) mutation.remove_headers.push(name);
    return headersResponse('request_headers', mutation);
  }

  private onResponseHeaders(request: Message): Message {
    const headers = headerRecord(request.response_headers?.headers);
    const mutation: HeaderMutation = { set_headers: [], remove_headers: [] };
    this.recording?.onResponseHeaders(maskHeaders(headers, this.decision ? this.deps.masking.get(this.decision.target) : undefined), this.now());
    if (this.injected !== undefined) {
      const echoed = Object.entries(headers).filter(([name, value]) => !name.startsWith(':') && value.includes(this.injected!)).map(([name]) => name);
      if (echoed.length > 0) {
        this.deps.logger.warn({ headers: echoed, session_id: this.decision?.sessionId, target: this.decision?.target }, 'upstream echoed the injected credential in response headers; removed');
        mutation.remove_headers.push(...echoed);
      }
    }
    const plan = planResponseBody(this.decision ? this.deps.masking.get(this.decision.target) : undefined, headers);
    if (plan.kind === 'refuse') {
      this.deps.logger.warn({ target: this.decision?.target, session_id: this.decision?.sessionId, reason: plan.reason }, 'response body refused by its masking profile');
      return immediateResponse(502, 'ERR_BODY_REFUSED', 'the upstream response cannot be delivered under this target\'s masking profile', this.decision?.requestId ?? '');
    }
    if (request.response_headers?.end_of_stream || (plan.kind === 'pass' && !this.recording)) {
      this.progress = 'done';
      return { ...headersResponse('response_headers', mutation), mode_override: BODY_NOT_NEEDED };
    }
    this.progress = 'body';
    // Unmasked but recorded: the body still streams through, untouched, to be captured.
    if (plan.kind === 'pass') return headersResponse('response_headers', mutation);
    this.responseBody = plan.body;
    // The masked body differs in length, and leaves decoded if it arrived compressed.
    mutation.remove_headers.push('content-length');
    if (plan.body.decodes) mutation.remove_headers.push('content-encoding');
    return headersResponse('response_headers', mutation);
  }

  private async onResponseBody(request: Message): Promise<Message> {
    const chunk: Buffer = request.response_body?.body ?? Buffer.alloc(0);
    const last = Boolean(request.response_body?.end_of_stream);
    if (last) this.progress = 'done';
    if (!this.responseBody) {
      this.recording?.onResponseBody(chunk, this.now());
      return { response_body: { response: { status: 'CONTINUE' } } };
    }
    const body = await this.responseBody.push(chunk, last);
    this.recording?.onResponseBody(body, this.now());
    if (last) {
      this.deps.logger.debug({ session_id: this.decision?.sessionId, matches: this.responseBody.matches() }, 'response body masked');
      this.responseBody = undefined;
    }
    return { response_body: { response: { status: 'CONTINUE', body_mutation: { body } } } };
  }

  /**
   * The stream ended (failed = cancelled or errored): free what the body phase holds and hand the
   * session record to the recording queue. Called once per stream.
   */
  close(failed = false): void {
    this.responseBody?.destroy();
    this.responseBody = undefined;
    if (this.recording && this.deps.recording) {
      // Envoy may end a finished exchange's stream with a cancel; what counts is how far it got.
      const record = this.recording.finish(this.now(), failed && this.progress !== 'done');
      this.recording = undefined;
      if (!this.deps.recording.queue.offer(record)) {
        this.deps.logger.error({ session_id: record.id }, 'session record not queued (queue full)');
      }
    }
  }
}

/** Header values as the session record keeps them: masked with the target's profile, if any. */
function maskHeaders(headers: Record<string, string>, profile: MaskingProfile | undefined): Record<string, string> {
  if (!profile) return headers;
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name] = maskText(value, profile);
  return out;
}

function maskText(text: string, profile: MaskingProfile | undefined): string {
  return profile ? profile.maskWhole(Buffer.from(text, 'latin1')).toString('latin1') : text;
}
