import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CARD, EMAIL, FROM_UPSTREAM, MUST_REFUSE, STREAM_END } from './upstream.ts';

/** What the load sends; each kind has its own loop. */
export const KINDS = ['cached-get', 'stream', 'record', 'new-token', 'approval', 'oauth2', 'refused'] as const;
export type Kind = typeof KINDS[number];

/** One request as the caller saw it. */
export interface Outcome {
  kind: Kind;
  rid: string;
  startedAt: number;
  endedAt: number;
  /** HTTP status, or undefined when no response came (connection refused, reset, timeout). */
  status: number | undefined;
  fromUpstream: boolean;
  /** The whole body arrived (a stream read to its last line; other bodies read to their end). */
  complete: boolean;
  /** Raw card numbers and emails in what the caller received, in bytes. */
  unmaskedBytes: number;
  error?: string;
}

export interface LoadDeps {
  url: (path: string) => string;
  /** A token minted at start and reused (cached by the gateway after its first check). */
  cachedToken: string;
  /** A token minted for one request (the issuer's current key). */
  freshToken: () => Promise<string>;
  /** Tokens the gateway must refuse: bad signature, expired, a denied subject, none at all. */
  refusedTokens: (string | undefined)[];
  /** Pause between the requests of one loop, ms. */
  pauseMs: number;
  /** Per-request deadline, ms (held approvals wait longer). */
  timeoutMs: number;
}

const RAW = [CARD, CARD.replaceAll(' ', ''), EMAIL];
const FAILURE_PAUSE_MS = 100;

/** Bytes of raw sensitive values in a delivered body. */
export function unmaskedBytes(text: string): number {
  let bytes = 0;
  for (const value of RAW) bytes += (text.split(value).length - 1) * value.length;
  return bytes;
}

/** Whether a finished request counts as a success of its kind (recovery is the first one after a fault). */
export function succeeded(o: Outcome): boolean {
  if (o.kind === 'refused') return o.status === 401 || o.status === 403;
  return o.status !== undefined && o.status >= 200 && o.status < 300 && o.fromUpstream && o.complete;
}

/**
 * Steady load through the gateway: one loop per kind (two for the cached GETs and the masked
 * streams), each sending its next request as soon as the previous one ended plus a pause. Every
 * request is kept as an Outcome, so any time window can be read back afterwards.
 */
export class Load {
  readonly outcomes: Outcome[] = [];
  readonly inFlight = new Map<string, Kind>();
  private running = true;
  private loops: Promise<void>[] = [];
  private refusedTurn = 0;
  private answerWaiters: (() => void)[] = [];

  constructor(private readonly deps: LoadDeps) {}

  start(): void {
    const plan: Kind[] = ['cached-get', 'cached-get', 'stream', 'stream', 'record', 'new-token', 'approval', 'oauth2', 'refused'];
    this.loops = plan.map((kind) => this.loop(kind));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /**
   * Resolves the moment the next request gets a complete upstream answer: a kill right then finds
   * that exchange's session record wherever it is (queued, being written, stored).
   */
  nextAnswer(): Promise<void> {
    return new Promise((resolve) => this.answerWaiters.push(resolve));
  }

  /** Outcomes of requests started in [from, to). */
  between(from: number, to: number): Outcome[] {
    return this.outcomes.filter((o) => o.startedAt >= from && o.startedAt < to);
  }

  private async loop(kind: Kind): Promise<void> {
    while (this.running) {
      const outcome = await this.one(kind);
      this.outcomes.push(outcome);
      if (kind !== 'refused' && succeeded(outcome)) for (const resolve of this.answerWaiters.splice(0)) resolve();
      // A failing client backs off a little, as a real one would; spinning on instant 503s would
      // only take CPU from the children the supervisor is restarting.
      await sleep(succeeded(outcome) ? this.deps.pauseMs : Math.max(this.deps.pauseMs, FAILURE_PAUSE_MS));
    }
  }

  private async one(kind: Kind): Promise<Outcome> {
    const rid = randomUUID();
    const headers: Record<string, string> = {};
    let method = 'GET';
    let path = `/api/items?rid=${rid}`;
    let body: string | undefined;
    let timeoutMs = this.deps.timeoutMs;
    switch (kind) {
      case 'cached-get': headers.authorization = `Bearer ${this.deps.cachedToken}`; break;
      case 'stream': headers.authorization = `Bearer ${this.deps.cachedToken}`; path = `/api/stream?rid=${rid}`; break;
      case 'record':
        headers.authorization = `Bearer ${this.deps.cachedToken}`;
        method = 'POST'; path = `/api/records?rid=${rid}`;
        headers['content-type'] = 'application/json';
        body = JSON.stringify({ rid, customer: EMAIL, amount: 12 });
        break;
      case 'new-token': headers.authorization = `Bearer ${await this.deps.freshToken()}`; break;
      case 'approval':
        headers.authorization = `Bearer ${this.deps.cachedToken}`;
        method = 'POST'; path = `/ops/deploy/web?rid=${rid}`; body = '{}';
        headers['content-type'] = 'application/json';
        headers['x-sluice-reason'] = 'fault suite';
        timeoutMs = 20_000;
        break;
      case 'oauth2': headers.authorization = `Bearer ${this.deps.cachedToken}`; path = `/partner/data?rid=${rid}`; break;
      case 'refused': {
        const token = this.deps.refusedTokens[this.refusedTurn++ % this.deps.refusedTokens.length];
        if (token !== undefined) headers.authorization = `Bearer ${token}`;
        headers[MUST_REFUSE] = '1';
        break;
      }
    }
    const startedAt = Date.now();
    this.inFlight.set(rid, kind);
    let status: number | undefined;
    let fromUpstream = false;
    let text = '';
    let complete = false;
    let error: string | undefined;
    try {
      const response = await fetch(this.deps.url(path), { method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
      status = response.status;
      fromUpstream = response.headers.get(FROM_UPSTREAM) === '1';
      const decoder = new TextDecoder();
      for await (const chunk of response.body ?? []) text += decoder.decode(chunk as Uint8Array, { stream: true });
      complete = kind === 'stream' && fromUpstream ? text.includes(`${STREAM_END} ${rid}`) : true;
    } catch (err) {
      error = (err as Error).cause ? String(((err as Error).cause as Error).message ?? (err as Error).cause) : (err as Error).message;
    } finally {
      this.inFlight.delete(rid);
    }
    return { kind, rid, startedAt, endedAt: Date.now(), status, fromUpstream, complete, unmaskedBytes: unmaskedBytes(text), ...(error ? { error } : {}) };
  }
}
