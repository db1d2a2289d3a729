import { setTimeout as sleepFor } from 'node:timers/promises';
import { describeError, SluiceError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { raceAbort } from '../identity/race-abort.ts';
import type { ApprovalEvent, ApprovalNotifier } from './notifier.ts';
import { jsonWebhookBody, slackWebhookBody } from './webhook-payload.ts';

export type WebhookFetch = (url: string, init: RequestInit) => Promise<Response>;

export interface WebhookNotifierOptions {
  /** Where to POST. Treated as a secret (Slack puts its credential in the path): never logged. */
  url: string;
  format: 'json' | 'slack';
  /** Deadline of one attempt, headers included. */
  timeoutMs?: number;
  /** Attempts per notification, the first included. */
  maxAttempts?: number;
  /** Delay before the 2nd attempt; doubles per attempt, capped by maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Notifications waiting for a delivery slot; beyond it the oldest is dropped. */
  maxQueue?: number;
  /** Deliveries in flight at once. Above 1, two events may arrive out of order. */
  concurrency?: number;
  /** Public base URL of the approvals API, for links in messages. */
  approvalsUrl?: string;
  fetch?: WebhookFetch;
  logger: Logger;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

interface Job {
  type: ApprovalEvent['type'];
  approvalId: string;
  body: string;
}

type Outcome = { ok: true; status: number } | { ok: false; status?: number; retryAfterMs?: number; error?: string };

/**
 * POSTs approval events to a webhook (plain JSON or a Slack-compatible message), off the caller's
 * path. Network errors, 5xx and 429 are retried with exponential backoff; other statuses are the
 * receiver refusing the message and retrying would not change its mind. Memory is bounded: at most
 * `concurrency` deliveries in flight and `maxQueue` waiting, so a dead webhook costs a fixed
 * amount of memory and some log lines, nothing else.
 */
export class WebhookNotifier implements ApprovalNotifier {
  private readonly url: string;
  /** scheme://host:port only: what logs may say about the destination. */
  private readonly origin: string;
  /** The URL as written and as normalised: both are cut out of error messages before logging. */
  private readonly urlForms: readonly string[];
  private readonly format: 'json' | 'slack';
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxQueue: number;
  private readonly concurrency: number;
  private readonly approvalsUrl: string | undefined;
  private readonly fetch: WebhookFetch;
  private readonly logger: Logger;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;

  private readonly queue: Job[] = [];
  private active = 0;
  private closed = false;
  private readonly stopping = new AbortController();
  private idleWaiters: (() => void)[] = [];

  constructor(options: WebhookNotifierOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw invalidOption('url', 'must be an absolute http(s) URL');
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw invalidOption('url', 'must be an absolute http(s) URL');
    if (options.format !== 'json' && options.format !== 'slack') throw invalidOption('format', 'must be "json" or "slack"');
    this.url = options.url;
    this.origin = parsed.origin;
    this.urlForms = [...new Set([options.url, parsed.href])].sort((a, b) => b.length - a.length);
    this.format = options.format;
    this.timeoutMs = positiveInt('timeoutMs', options.timeoutMs, 2000);
    this.maxAttempts = positiveInt('maxAttempts', options.maxAttempts, 5);
    this.baseDelayMs = nonNegativeInt('baseDelayMs', options.baseDelayMs, 200);
    this.maxDelayMs = nonNegativeInt('maxDelayMs', options.maxDelayMs, 30_000);
    this.maxQueue = positiveInt('maxQueue', options.maxQueue, 1000);
    this.concurrency = positiveInt('concurrency', options.concurrency, 4);
    this.approvalsUrl = options.approvalsUrl;
    this.fetch = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
    this.logger = options.logger;
    this.sleep = options.sleep ?? ((ms, signal) => sleepFor(ms, undefined, { signal }));
  }

  notify(event: ApprovalEvent): void {
    try {
      const job = this.toJob(event);
      if (this.closed) {
        this.logger.warn(this.fields(job), 'approval webhook is closed; notification dropped');
        return;
      }
      if (this.queue.length >= this.maxQueue) {
        const dropped = this.queue.shift()!;
        this.logger.error({ ...this.fields(dropped), max_queue: this.maxQueue }, 'approval webhook queue is full; dropped the oldest notification');
      }
      this.queue.push(job);
      this.pump();
    } catch (err) {
      this.logger.error({ err: describeError(err), type: event?.type, webhook: this.origin }, 'approval notification failed before sending; dropped');
    }
  }

  /** Resolves once nothing is queued or in flight (tests, graceful shutdown). */
  idle(): Promise<void> {
    if (this.active === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops accepting events, drops the queue, abandons in-flight attempts and waits for them. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      if (this.queue.length > 0) {
        this.logger.warn({ webhook: this.origin, dropped: this.queue.length }, 'approval webhook closing; queued notifications dropped');
        this.queue.length = 0;
      }
      this.stopping.abort();
    }
    await this.idle();
  }

  private toJob(event: ApprovalEvent): Job {
    // Serialised now, so the message describes the request as it was when the event happened.
    const payload = this.format === 'slack' ? slackWebhookBody(event, this.approvalsUrl) : jsonWebhookBody(event, this.approvalsUrl);
    return { type: event.type, approvalId: event.request.id, body: JSON.stringify(payload) };
  }

  private pump(): void {
    while (this.active < this.concurrency && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.active++;
      this.deliver(job)
        .catch((err: unknown) => this.logger.error({ ...this.fields(job), err: describeError(err) }, 'approval webhook delivery crashed'))
        .finally(() => {
          this.active--;
          this.pump();
          if (this.active === 0 && this.queue.length === 0) {
            const waiters = this.idleWaiters;
            this.idleWaiters = [];
            for (const resolve of waiters) resolve();
          }
        });
    }
  }

  private async deliver(job: Job): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt(job.body);
      if (outcome.ok) {
        this.logger.debug({ ...this.fields(job), attempt, status: outcome.status }, 'approval webhook delivered');
        return;
      }
      const status = outcome.status ?? null;
      const retryable = status === null || status >= 500 || status === 429;
      this.logger.warn(
        { ...this.fields(job), attempt, max_attempts: this.maxAttempts, status, error: outcome.error ?? null },
        'approval webhook attempt failed',
      );
      let stop: string | undefined;
      if (!retryable) stop = `HTTP ${status} is not retried`;
      else if (attempt >= this.maxAttempts) stop = `no success after ${attempt} attempts`;
      else if (this.closed) stop = 'the notifier is closing';
      if (stop === undefined) {
        await this.sleep(this.backoff(attempt, outcome.retryAfterMs), this.stopping.signal).catch(() => undefined);
        if (this.closed) stop = 'the notifier is closing';
      }
      if (stop !== undefined) {
        this.logger.error({ ...this.fields(job), attempts: attempt, status, why: stop }, 'approval webhook gave up; notification lost');
        return;
      }
    }
  }

  private async attempt(body: string): Promise<Outcome> {
    const controller = new AbortController();
    const onStop = (): void => controller.abort(new Error('the notifier is closing'));
    this.stopping.signal.addEventListener('abort', onStop, { once: true });
    const timer = setTimeout(() => controller.abort(new Error(`timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
    try {
      // Raced as well as signalled: a fetch that ignores its signal still cannot hold a slot.
      const response = await raceAbort(
        this.fetch(this.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'sluice-approvals' },
          body,
          signal: controller.signal,
        }),
        controller.signal,
      );
      // The receiver's answer is of no use; release the connection.
      void response.body?.cancel().catch(() => undefined);
      if (response.ok) return { ok: true, status: response.status };
      return { ok: false, status: response.status, retryAfterMs: retryAfterMs(response.headers.get('retry-after')) };
    } catch (err) {
      const reason = controller.signal.aborted ? (controller.signal.reason as Error).message : this.safeMessage(err);
      return { ok: false, error: reason };
    } finally {
      clearTimeout(timer);
      this.stopping.signal.removeEventListener('abort', onStop);
    }
  }

  private backoff(attempt: number, retryAfter: number | undefined): number {
    const exponential = this.baseDelayMs * 2 ** (attempt - 1);
    return Math.min(this.maxDelayMs, Math.max(exponential, retryAfter ?? 0));
  }

  /** A network error's message, plus its system code, with the URL (a credential) cut out. */
  private safeMessage(err: unknown): string {
    const { message } = describeError(err);
    const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause;
    const code = typeof cause?.code === 'string' ? ` (${cause.code})` : '';
    let text = `${message}${code}`;
    for (const form of this.urlForms) text = text.split(form).join(this.origin);
    return text;
  }

  private fields(job: Job): Record<string, unknown> {
    return { webhook: this.origin, format: this.format, type: job.type, approval_id: job.approvalId };
  }
}

/** Retry-After in seconds (the HTTP-date form is rare from webhooks and ignored). */
function retryAfterMs(header: string | null): number | undefined {
  if (header === null || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header.trim()) * 1000;
}

function invalidOption(name: string, problem: string): SluiceError {
  return new SluiceError('ERR_CONFIG_INVALID', `webhook notifier option "${name}" ${problem}`, { details: { option: name } });
}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw invalidOption(name, 'must be a positive integer');
  return value;
}

function nonNegativeInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) throw invalidOption(name, 'must be a non-negative integer');
  return value;
}
