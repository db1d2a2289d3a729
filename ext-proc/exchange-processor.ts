import type { Logger } from '../common/logger.ts';
import type { SecretStore } from './secrets/types.ts';
import type { CredentialPlan } from './credentials.ts';
import { readDecision, type ForwardedDecision } from './decision.ts';
import { headerRecord, headersResponse, immediateResponse, setHeader, type HeaderMutation } from './mutations.ts';

export interface ProcessorDeps {
  credentials: ReadonlyMap<string, CredentialPlan>;
  secrets: SecretStore;
  /** Request headers always removed before the upstream. */
  removeRequestHeaders: readonly string[];
  logger: Logger;
}

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

  constructor(private readonly deps: ProcessorDeps) {}

  /** Answers one ProcessingRequest with exactly one ProcessingResponse. */
  handle(request: Message): Message {
    switch (request.request) {
      case 'request_headers': return this.onRequestHeaders(request);
      case 'response_headers': return this.onResponseHeaders(request);
      case 'request_body': return { request_body: { response: { status: 'CONTINUE' } } };
      case 'response_body': return { response_body: { response: { status: 'CONTINUE' } } };
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
    const remove = new Set<string>(CALLER_CREDENTIALS);
    for (const name of this.deps.removeRequestHeaders) remove.add(name);
    const mutation: HeaderMutation = { set_headers: [], remove_headers: [] };

    const plan = this.deps.credentials.get(this.decision.target);
    if (plan) {
      const secret = this.deps.secrets.get(plan.secret);
      if (secret === undefined) {
        this.deps.logger.error({ target: this.decision.target, secret: plan.secret, session_id: this.decision.sessionId }, 'credential for target is not in any secret store; refusing');
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
    if (this.injected === undefined) return headersResponse('response_headers');
    const headers = headerRecord(request.response_headers?.headers);
    const echoed = Object.entries(headers).filter(([name, value]) => !name.startsWith(':') && value.includes(this.injected!)).map(([name]) => name);
    if (echoed.length === 0) return headersResponse('response_headers');
    this.deps.logger.warn({ headers: echoed, session_id: this.decision?.sessionId, target: this.decision?.target }, 'upstream echoed the injected credential in response headers; removed');
    return headersResponse('response_headers', { set_headers: [], remove_headers: echoed });
  }
}
