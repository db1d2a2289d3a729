import { SluiceError } from '../../common/errors.ts';
import { decodeDecision, type GatewayDecision } from '../../common/decision-metadata.ts';
import { httpStatusOf, type CallerErrorCode } from '../../common/error-codes.ts';
import type { ResolvedCredential } from '../credentials.ts';
import { ExchangeRecording } from '../exchange-recording.ts';
import { isRefusal, planExchange, type ExchangePlan, type PlanDeps, type SessionRecorder } from '../exchange-plan.ts';
import type { MaskingProfile } from '../masking/index.ts';
import type { RecordedCredential } from '../sessions/index.ts';
import { headerRecord, headersResponse, IMMEDIATE_RESPONSE_HEADERS, immediateResponse, setHeader, type HeaderMutation } from './mutations.ts';
import { planBody } from './masked-body.ts';
import { BodyFlow } from './body-flow.ts';
import { BodyModes } from './body-modes.ts';
import type { ExchangeMetrics } from '../metrics.ts';

export interface HttpProcessorDeps extends PlanDeps {
  /** Request headers always removed before the upstream. */
  removeRequestHeaders: readonly string[];
}

/** Credentials a caller may never send upstream, whatever the configuration says. */
const CALLER_CREDENTIALS = ['authorization', 'proxy-authorization', 'cookie'];

type Message = Record<string, any>;

/**
 * One processor per ext_proc stream (one HTTP exchange), one method per phase. At the request
 * headers it reads ext-authz's decision from the forwarded metadata and plans the exchange once
 * (exchange-plan.ts); the phases then apply that plan: strip the caller's credentials, inject the
 * target's real one, keep that secret from being echoed back in response headers and bodies, mask
 * and record the bodies. Anything it cannot do safely ends the exchange with an immediate error (fail closed).
 */
export class HttpExchangeProcessor {
  private decision: GatewayDecision | undefined;
  /** Set once the request headers are planned; every later phase reads only this. */
  private plan: ExchangePlan | undefined;
  private requestBody: BodyFlow | undefined;
  private responseBody: BodyFlow | undefined;
  private recording: { record: ExchangeRecording; recorder: SessionRecorder } | undefined;
  /**
   * Where the exchange got to: 'body' while a response body streams through, 'done' after its
   * last chunk (or when there is none). Decides whether a stream end is a failure.
   */
  private progress: 'request' | 'body' | 'done' = 'request';
  private readonly now: () => number;
  /** How Envoy sends bodies to this stream (from the first message's protocol_config). */
  private modes = BodyModes.DEFAULT;
  /** A request body is still to come through here. */
  private requestBodyPending = false;
  private refused = false;

  constructor(private readonly deps: HttpProcessorDeps, private readonly metrics?: ExchangeMetrics) {
    this.now = deps.now ?? Date.now;
  }

  /** The exchange's masking profile (the policy's choice, else the target's default). */
  private get profile(): MaskingProfile | undefined {
    return this.plan?.profile;
  }

  /**
   * Answers one ProcessingRequest: with exactly one ProcessingResponse, except for body chunks in
   * FULL_DUPLEX_STREAMED mode, where a chunk the masker holds back entirely gets no answer yet.
   * Calls must not overlap.
   */
  async handle(request: Message): Promise<Message[]> {
    if (request.protocol_config) this.modes = BodyModes.from(request.protocol_config);
    const answers = await this.answer(request);
    if (answers.some((a) => a.immediate_response)) this.refused = true;
    // The answer that completes the exchange goes back only once its record is stored: a crash
    // of this process after the caller got the last byte must not leave the exchange unrecorded.
    if (this.finished) await this.endExchange(false)?.stored();
    return answers;
  }

  /**
   * True once Envoy will ask nothing more of this exchange: it was refused, or the response (and
   * any request body) has passed. The server then closes the stream itself. Left to Envoy, the
   * stream would end in an RST_STREAM, one per exchange, and Node's HTTP/2 stack (nghttp2's
   * rapid-reset guard) answers a steady stream of those with GOAWAY, refusing in-flight streams.
   */
  get finished(): boolean {
    return this.refused || (this.progress === 'done' && !this.requestBodyPending);
  }

  private async answer(request: Message): Promise<Message[]> {
    switch (request.request) {
      case 'request_headers': return [await this.onRequestHeaders(request)];
      case 'request_body': return this.onBody('request', request.request_body);
      case 'response_headers': return [this.onResponseHeaders(request)];
      case 'response_body': return this.onBody('response', request.response_body);
      case 'request_trailers': return [this.onTrailers('request')];
      case 'response_trailers': return [this.onTrailers('response')];
      default:
        this.deps.logger.error({ kind: request.request }, 'unexpected ext_proc message; refusing the exchange');
        this.metrics?.refused('ERR_INTERNAL');
        return [immediateResponse('ERR_INTERNAL', 'the gateway could not process this request', this.decision?.requestId ?? '')];
    }
  }

  private async onRequestHeaders(request: Message): Promise<Message> {
    const headers = headerRecord(request.request_headers?.headers);
    const requestId = headers['x-request-id'] ?? '';
    this.decision = decodeDecision(request.metadata_context);
    if (!this.decision) {
      this.deps.logger.error({ request_id: requestId }, 'no ext-authz decision in the forwarded metadata; refusing');
      return this.refuse('ERR_NO_DECISION', 'the request was not authorized', requestId);
    }
    const planned = await planExchange(this.decision, this.deps);
    if (isRefusal(planned)) {
      if (planned.recording) this.openRecording(planned.recording.recorder, planned.recording.profile, undefined, headers);
      return this.refuse(planned.code, planned.message, requestId);
    }
    this.plan = planned;
    if (planned.recorder) this.openRecording(planned.recorder, planned.profile, planned.credential?.recorded, headers);

    const remove = new Set<string>(CALLER_CREDENTIALS);
    for (const name of this.deps.removeRequestHeaders) remove.add(name);
    const mutation: HeaderMutation = { set_headers: [], remove_headers: [] };
    if (planned.credential) {
      const { header, value } = credentialHeader(planned.credential);
      remove.delete(header);
      mutation.set_headers.push(setHeader(header, value));
    }
    if (!request.request_headers?.end_of_stream) {
      const flow = this.bodyFlow('request', this.profile?.requestBodies ? this.profile : undefined, headers);
      if (flow === 'refuse') {
        return this.refuse('ERR_REQUEST_BODY_REFUSED', 'the request body cannot be sent under this target\'s masking profile', requestId);
      }
      this.requestBody = flow;
      if (flow && !this.modes.overridable && !this.modes.requestBodiesArrive) {
        // The body is needed but this filter can neither send it nor be asked to: never pass it unmasked.
        this.deps.logger.error({ target: this.decision.target, session_id: this.decision.sessionId }, 'the request body must be processed but the ext_proc filter does not send request bodies; refusing');
        return this.refuse('ERR_INTERNAL', 'the gateway could not process this request', requestId);
      }
      for (const name of flow?.staleHeaders() ?? []) remove.add(name);
    }
    // Remove only what is there: Envoy treats removing an absent header as a no-op anyway, but a
    // short list keeps the message small on the hot path.
    for (const name of remove) if (name in headers) mutation.remove_headers.push(name);
    const answer = headersResponse('request_headers', mutation);
    const askForBody = Boolean(this.requestBody) && this.modes.overridable && !this.modes.requestBodiesArrive;
    this.requestBodyPending = !request.request_headers?.end_of_stream && (askForBody || this.modes.requestBodiesArrive);
    return askForBody ? this.modes.withRequestBody(answer) : answer;
  }

  /**
   * The session record of this exchange, from its request line and headers as they go upstream
   * unmasked: the record masks its own copy with the profile (exchange-recording.ts).
   */
  private openRecording(recorder: SessionRecorder, profile: MaskingProfile | undefined, credential: RecordedCredential | undefined, headers: Record<string, string>): void {
    const record = new ExchangeRecording(this.decision!, {
      method: headers[':method'] ?? '',
      path: headers[':path'] ?? '',
      headers,
    }, recorder.startedAt, recorder.maxBodyBytes, { credential, profile });
    this.recording = { record, recorder };
    recorder.note({ protocol: 'http', ...record.requestLine(), at: recorder.startedAt });
  }

  /**
   * The gateway answers the caller itself. Once the exchange is being recorded, the record keeps
   * this answer in place of the upstream's, with outcome `refused` and the code.
   */
  private refuse(code: CallerErrorCode, message: string, requestId: string) {
    this.metrics?.refused(code);
    const answer = immediateResponse(code, message, requestId);
    this.recording?.record.refuse({ code, reason: message, status: httpStatusOf(code), headers: { ...IMMEDIATE_RESPONSE_HEADERS }, body: answer.immediate_response.body }, this.now());
    return answer;
  }

  /**
   * The flow of one body: masked on its way when `deliverWith` is given, and recorded (masked with
   * the exchange's profile) when recording is on. Undefined when the body needs no processing;
   * 'refuse' when the profile refuses to read it (a binary body under `binary: refuse`).
   */
  private bodyFlow(direction: 'request' | 'response', deliverWith: MaskingProfile | undefined, headers: Record<string, string>, injected?: string): BodyFlow | 'refuse' | undefined {
    const deliver = planBody(deliverWith, headers, injected);
    if (deliver.kind === 'refuse') {
      this.deps.logger.warn({ target: this.decision?.target, session_id: this.decision?.sessionId, direction, reason: deliver.reason }, 'body refused by its masking profile');
      return 'refuse';
    }
    const sink = this.recording?.record.bodySink(direction, this.now);
    if (deliver.kind === 'mask') return new BodyFlow(deliver.body, sink, 'raw');
    if (!sink) return undefined;
    const copy = planBody(this.profile, headers);
    return new BodyFlow(undefined, sink, copy.kind === 'mask' ? { copy: copy.body } : copy.kind === 'refuse' ? 'count-only' : 'raw');
  }

  private onResponseHeaders(request: Message): Message {
    const headers = headerRecord(request.response_headers?.headers);
    const mutation: HeaderMutation = { set_headers: [], remove_headers: [] };
    const injected = this.plan?.credential?.secret;
    let echoed: string[] = [];
    if (injected !== undefined && injected !== '') {
      echoed = Object.entries(headers).filter(([name, value]) => !name.startsWith(':') && value.includes(injected)).map(([name]) => name);
      if (echoed.length > 0) {
        this.deps.logger.warn({ headers: echoed, session_id: this.decision?.sessionId, target: this.decision?.target }, 'upstream echoed the injected credential in response headers; removed');
        mutation.remove_headers.push(...echoed);
      }
    }
    // The record keeps what the caller got: without the headers that echoed the credential.
    const delivered = echoed.length === 0 ? headers : Object.fromEntries(Object.entries(headers).filter(([name]) => !echoed.includes(name)));
    const at = this.now();
    this.recording?.record.onResponseHeaders(delivered, at);
    const status = Number(headers[':status']);
    if (Number.isInteger(status) && status >= 100 && status <= 999) this.recording?.recorder.note({ status, at });
    if (request.response_headers?.end_of_stream) {
      this.progress = 'done';
      return this.modes.withoutResponseBody(headersResponse('response_headers', mutation), this.requestBody !== undefined);
    }
    // A body of an exchange that injected a credential always comes through here, profile or not:
    // the credential is scrubbed from it. Only a body that needs nothing is switched off below.
    const flow = this.bodyFlow('response', this.profile, headers, injected);
    if (flow === 'refuse') {
      return this.refuse('ERR_BODY_REFUSED', 'the upstream response cannot be delivered under this target\'s masking profile', this.decision?.requestId ?? '');
    }
    if (!flow) {
      this.progress = 'done';
      return this.modes.withoutResponseBody(headersResponse('response_headers', mutation), this.requestBody !== undefined);
    }
    this.progress = 'body';
    this.responseBody = flow;
    mutation.remove_headers.push(...flow.staleHeaders());
    return headersResponse('response_headers', mutation);
  }

  /** One body chunk of either direction: pushed through its flow (masked, recorded) or passed. */
  private async onBody(direction: 'request' | 'response', message: Message | undefined): Promise<Message[]> {
    const chunk: Buffer = message?.body ?? Buffer.alloc(0);
    const last = Boolean(message?.end_of_stream);
    const flow = direction === 'request' ? this.requestBody : this.responseBody;
    if (direction === 'response' && last) this.progress = 'done';
    if (direction === 'request' && last) this.requestBodyPending = false;
    const out = await flow?.push(chunk, last);
    if (last && flow) {
      if (direction === 'response') {
        this.deps.logger.debug({ session_id: this.decision?.sessionId, matches: flow.matches() }, 'response body done');
        this.warnEchoes(flow);
      }
      this.reportMasking(direction, flow);
      flow.destroy();
      if (direction === 'request') this.requestBody = undefined;
      else this.responseBody = undefined;
    }
    return this.modes.bodyAnswers(direction, chunk, out, last);
  }

  /** What masking did to one body, for its session record and the metrics; once per body. */
  private reportMasking(direction: 'request' | 'response', flow: BodyFlow): void {
    const masking = flow.masking();
    this.recording?.record.onMasking(direction, masking);
    this.metrics?.masked(this.profile?.name, direction, flow.maskedBytes(), masking);
  }

  /** Says how often the upstream echoed the injected credential into its body (never the value). */
  private warnEchoes(flow: BodyFlow): void {
    const echoes = flow.echoes();
    if (echoes > 0) this.deps.logger.warn({ session_id: this.decision?.sessionId, target: this.decision?.target, echoes }, 'upstream echoed the injected credential in the response body; replaced');
  }

  /**
   * Trailers end a body without an end_of_stream chunk. In FULL_DUPLEX_STREAMED a masking flow may
   * still hold bytes then, which a trailers answer cannot carry: the exchange fails rather than
   * lose or leak them.
   */
  private onTrailers(direction: 'request' | 'response'): Message {
    const flow = direction === 'request' ? this.requestBody : this.responseBody;
    if (flow && this.modes.isDuplex(direction)) throw new SluiceError('ERR_INTERNAL', `a ${direction} body with trailers cannot be masked in FULL_DUPLEX_STREAMED mode`);
    return direction === 'request' ? { request_trailers: {} } : { response_trailers: {} };
  }

  /**
   * The stream ended (failed = cancelled or errored): free what the body phase holds and hand the
   * session record to the recording queue, unless the exchange's last answer already did. Called once per stream.
   */
  close(failed = false): void {
    this.endExchange(failed);
  }

  /**
   * Frees the body flows and hands the session record to the queue, once: the recorder to wait on
   * for it to be stored, or undefined when nothing is recorded (or it was already handed over).
   */
  private endExchange(failed: boolean): SessionRecorder | undefined {
    // A body cut mid-way still reports what was masked of it so far.
    if (this.requestBody) this.reportMasking('request', this.requestBody);
    if (this.responseBody) {
      this.reportMasking('response', this.responseBody);
      this.warnEchoes(this.responseBody);
    }
    this.requestBody?.destroy();
    this.requestBody = undefined;
    this.responseBody?.destroy();
    this.responseBody = undefined;
    if (!this.recording) return undefined;
    // What counts is how far the exchange got: Envoy may cancel a finished exchange's stream,
    // and ends the stream cleanly when the upstream dies mid-body.
    const incomplete = this.progress === 'body' || (failed && this.progress !== 'done');
    const { record: recording, recorder } = this.recording;
    this.recording = undefined;
    const record = recording.finish(this.now(), incomplete);
    if (!recorder.submit(record)) {
      this.deps.logger.error({ session_id: record.id }, 'session record not queued (queue full)');
    }
    return recorder;
  }
}

/**
 * The header that carries the target's credential. Only an `http-header` presentation can go over
 * HTTP; a kind added for another protocol fails to compile here until HTTP decides what it means.
 */
function credentialHeader(credential: ResolvedCredential): { header: string; value: string } {
  const presentation = credential.presentation;
  switch (presentation.kind) {
    case 'http-header':
      return { header: presentation.header, value: `${presentation.prefix}${credential.secret}${presentation.suffix}` };
    default: {
      const unknown: never = presentation.kind;
      throw new SluiceError('ERR_INTERNAL', `credential presentation "${String(unknown)}" cannot be sent over HTTP`);
    }
  }
}
