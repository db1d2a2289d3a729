import { HttpRefusal } from '../common/http-refusal.ts';
import type { SessionPage, SessionRecord } from '../ext-proc/sessions/types.ts';

export interface ServiceClientOptions {
  /** ext-authz's own admin server (the approvals API), for votes. */
  approvalsUrl: string;
  /** ext-proc's admin server (the sessions API and its metrics). */
  extProcUrl: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** prom-client's JSON form of one metric family. */
export interface MetricFamily {
  name: string;
  values: { labels: Record<string, string | number>; value: number }[];
}

/**
 * The console calls the services' own APIs as the signed-in person, with their ID token as the
 * bearer: a vote goes through the approvals API (its checks, its audit line, its metrics) and a
 * session read through ext-proc's sessions API (its readers, its `sessions.read` line), so the
 * console adds no second way to decide or read anything. An API's refusal reaches the page with
 * its own code and status.
 */
export class ServiceClient {
  readonly #options: ServiceClientOptions;
  readonly #fetch: typeof fetch;

  constructor(options: ServiceClientOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? fetch;
  }

  vote(idToken: string, id: string, approve: boolean, reason: string, signal: AbortSignal): Promise<{ approval: unknown }> {
    const url = `${this.#options.approvalsUrl}/approvals/${encodeURIComponent(id)}/${approve ? 'approve' : 'deny'}`;
    return this.#json(url, idToken, signal, { method: 'POST', body: JSON.stringify({ reason }), headers: { 'content-type': 'application/json' } });
  }

  async listSessions(idToken: string, query: URLSearchParams, signal: AbortSignal): Promise<SessionPage> {
    const body = await this.#json<{ sessions: SessionRecord[]; next_cursor: string | null }>(`${this.#options.extProcUrl}/sessions?${query}`, idToken, signal);
    return body.next_cursor ? { records: body.sessions, nextCursor: body.next_cursor } : { records: body.sessions };
  }

  async getSession(idToken: string, id: string, signal: AbortSignal): Promise<SessionRecord> {
    return (await this.#json<{ session: SessionRecord }>(`${this.#options.extProcUrl}/sessions/${encodeURIComponent(id)}`, idToken, signal)).session;
  }

  /** ext-proc's metrics, for the overview; an empty list when ext-proc cannot be reached (the page says so). */
  async extProcMetrics(signal: AbortSignal): Promise<MetricFamily[] | undefined> {
    try {
      const response = await this.#fetch(`${this.#options.extProcUrl}/metrics?format=json`, { signal: this.#signal(signal) });
      return response.ok ? ((await response.json()) as MetricFamily[]) : undefined;
    } catch {
      return undefined;
    }
  }

  async #json<T>(url: string, idToken: string, signal: AbortSignal, init: RequestInit = {}): Promise<T> {
    let response: Response;
    try {
      response = await this.#fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${idToken}`, accept: 'application/json' }, signal: this.#signal(signal) });
    } catch (err) {
      throw new HttpRefusal(503, 'ERR_SERVICE_UNAVAILABLE', 'the service behind this page cannot be reached; retry in a moment', { cause: err });
    }
    const body = (await response.json().catch(() => undefined)) as (T & { error?: { code?: unknown; message?: unknown } }) | undefined;
    if (response.ok && body !== undefined) return body;
    const code = typeof body?.error?.code === 'string' ? body.error.code : 'ERR_INTERNAL';
    const message = typeof body?.error?.message === 'string' ? body.error.message : 'the service answered with an error';
    // The API's own refusal, unchanged: the page shows the same code the CLI would.
    if (response.status < 500 || code !== 'ERR_INTERNAL') throw new HttpRefusal(response.status, code, message);
    // An unexpected failure behind the API: a 500 here too, the detail in the log only.
    throw new Error(`${new URL(url).pathname} answered ${response.status}`);
  }

  #signal(signal: AbortSignal): AbortSignal {
    return AbortSignal.any([signal, AbortSignal.timeout(this.#options.timeoutMs ?? 10_000)]);
  }
}
