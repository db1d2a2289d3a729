import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { describeError } from './errors.ts';
import { closeServer, listen, sendJson } from './http.ts';
import { isHttpRefusal } from './http-refusal.ts';
import type { Logger } from './logger.ts';
import { RouteTable, type Params } from './admin-routes.ts';
import { Readiness, type ReadinessCheck } from './readiness.ts';

/**
 * One handler per route. `signal` fires when the client goes away before the answer is sent, so a
 * handler can stop verifying, querying or waiting on its behalf. Throw an HttpRefusal to refuse on
 * purpose; anything else thrown becomes 500 ERR_INTERNAL with the detail in the log only.
 */
export type AdminHandler = (req: IncomingMessage, res: ServerResponse, params: Params, signal: AbortSignal) => Promise<void> | void;

export interface AdminServer {
  /** The bound port (the real one when 0 was asked for). */
  readonly port: number;
  /** `pattern` is `/literal/:param/...`; a duplicate or malformed route throws ERR_ADMIN_ROUTE_INVALID. */
  route(method: string, pattern: string, handler: AdminHandler): void;
  /** A check /readyz runs; the service is ready when every registered check answers `ok: true`. */
  readiness(name: string, check: ReadinessCheck): void;
  /** Runs every readiness check, as /readyz does (the gRPC health service answers from this). */
  ready(): Promise<boolean>;
  close(): Promise<void>;
}

export interface AdminServerOptions {
  host?: string;
  port: number;
  logger: Logger;
  /** Per readiness check; a slower check counts as not ready. */
  readinessTimeoutMs?: number;
  /** Answers what no route matches (a gateway passing its admin port on to a service); 404 when absent. */
  fallback?: AdminHandler;
}

/**
 * The one admin HTTP server of a service: health, readiness and whatever the service's components
 * register (the approvals API, the sessions API). It is the HTTP edge: routing refusals, typed
 * refusals and unexpected failures become `{"error":{"code","message"}}` here and nowhere else.
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { logger } = options;
  const routes = new RouteTable<AdminHandler>();
  const readiness = new Readiness({ logger, ...(options.readinessTimeoutMs === undefined ? {} : { timeoutMs: options.readinessTimeoutMs }) });

  // Liveness says only that the process answers; it must never depend on a backend, or an outage
  // there would get every replica restarted at once.
  routes.add('GET', '/healthz', (_req, res) => noStore(res, 200, { status: 'ok' }));
  routes.add('GET', '/readyz', async (_req, res) => {
    const report = await readiness.run();
    noStore(res, report.ready ? 200 : 503, { status: report.ready ? 'ready' : 'not ready', checks: report.checks });
  });

  async function handle(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const pathname = new URL(req.url ?? '/', 'http://admin.invalid').pathname;
    const match = routes.match(req.method ?? 'GET', pathname);
    if (match.kind === 'not-found' && options.fallback) return options.fallback(req, res, {}, signal);
    if (match.kind === 'not-found') return sendError(res, 404, 'ERR_ROUTE_NOT_FOUND', `no route for ${pathname}`);
    if (match.kind === 'method-not-allowed') {
      return sendError(res, 405, 'ERR_METHOD_NOT_ALLOWED', `use ${match.allow} for ${pathname}`, { allow: match.allow });
    }
    await match.handler(req, res, match.params, signal);
  }

  const server = createServer((req, res) => {
    const abort = new AbortController();
    // The caller left before we answered: stop working on its behalf.
    res.once('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    Promise.resolve()
      .then(() => handle(req, res, abort.signal))
      .catch((err: unknown) => {
        const path = req.url?.split('?')[0];
        let status = 500;
        let code = 'ERR_INTERNAL';
        let message = 'internal error';
        let headers: Readonly<Record<string, string>> = {};
        if (isHttpRefusal(err)) ({ status, code, message, headers } = err);
        // A deliberate 5xx (a store that is down) still deserves the operator's attention, with the cause.
        if (status >= 500) logger.error({ err: describeError(isHttpRefusal(err) && err.cause !== undefined ? err.cause : err), code, method: req.method, path }, 'admin API call failed');
        if (res.headersSent || abort.signal.aborted) {
          res.destroy();
          return;
        }
        sendError(res, status, code, message, headers);
      });
  });
  // Bounds on slow clients: the whole request must arrive within 30 s, its headers within 10 s.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;

  const host = options.host ?? '127.0.0.1';
  const port = await listen(server, options.port, host);
  logger.info({ host, port }, 'admin server listening');
  return {
    port,
    route: (method, pattern, handler) => routes.add(method, pattern, handler),
    readiness: (name, check) => readiness.add(name, check),
    ready: async () => (await readiness.run()).ready,
    close: () => closeServer(server),
  };
}

/** The admin API's error body; every refusal, whoever decides it, has this shape. */
export function sendError(res: ServerResponse, status: number, code: string, message: string, headers: Readonly<Record<string, string>> = {}): void {
  sendJson(res, status, { error: { code, message } }, { 'cache-control': 'no-store', ...headers });
}

function noStore(res: ServerResponse, status: number, body: unknown): void {
  sendJson(res, status, body, { 'cache-control': 'no-store' });
}
