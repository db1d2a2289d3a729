import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { describeError, SluiceError } from '../../common/errors.ts';
import { closeServer, listen, readBody, sendJson } from '../../common/http.ts';
import type { Logger } from '../../common/logger.ts';
import { AuthError } from '../identity/index.ts';
import type { Identity, IdentityVerifier } from '../identity/types.ts';
import type { RunningServer } from '../../common/running-server.ts';
import { approverOf, authenticate, canSee, wwwAuthenticate } from './api-auth.ts';
import { sendError, toApiFailure } from './api-errors.ts';
import { matchRoute } from './api-routes.ts';
import { approvalView } from './approval-view.ts';
import type { ApprovalNotifier } from './notifier.ts';
import type { ApprovalFilter, ApprovalStatus, ApprovalStore } from './types.ts';

export interface ApprovalsApiOptions {
  store: ApprovalStore;
  verifier: IdentityVerifier;
  logger: Logger;
  /** One line per approve/deny call, accepted or refused. */
  auditLog: Logger;
  /** Told when a vote made here decides a request. */
  notifier?: ApprovalNotifier;
  host?: string;
  port?: number;
  now?: () => number;
}

/** Vote bodies are a reason and nothing else. */
export const MAX_BODY_BYTES = 16 * 1024;
/** The store trims and caps a vote's reason itself; the audit line only needs to stay bounded. */
const AUDIT_REASON_CHARS = 1000;
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
const STATUSES: readonly ApprovalStatus[] = ['pending', 'approved', 'denied', 'expired'];

/** Thrown by the handlers for a refusal they decide themselves; the edge turns it into a response. */
class HttpRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

interface AuditEntry {
  approvalId: string;
  decision: 'approve' | 'deny';
  identity?: Identity;
  reason?: string;
  status?: number;
  result?: string;
  approvalStatus?: ApprovalStatus;
}

/**
 * The approvals API on the admin port: approvers list pending requests and vote on them with
 * their own OIDC token. This is the server edge — the only place where store errors become HTTP
 * statuses — and every vote, accepted or refused, leaves exactly one audit line.
 */
export async function startApprovalsApi(options: ApprovalsApiOptions): Promise<RunningServer> {
  const { store, verifier, logger, auditLog, notifier } = options;
  const now = options.now ?? Date.now;

  async function handle(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://approvals.invalid');
    const route = matchRoute(req.method ?? 'GET', url.pathname);
    switch (route.kind) {
      case 'health':
        return sendJson(res, 200, { ok: true });
      case 'not-found':
        throw new HttpRefusal(404, 'ERR_ROUTE_NOT_FOUND', `no route for ${url.pathname}`);
      case 'method-not-allowed':
        throw new HttpRefusal(405, 'ERR_METHOD_NOT_ALLOWED', `use ${route.allow} for ${url.pathname}`, { allow: route.allow });
      case 'list': {
        const identity = await authenticate(req, verifier, signal);
        const { filter, limit } = parseListQuery(url.searchParams);
        // Visibility is per caller, so the limit is applied after filtering, not by the store.
        const visible = (await store.list(filter)).filter((r) => canSee(identity, r)).slice(0, limit);
        return ok(res, { approvals: visible.map(approvalView) });
      }
      case 'get': {
        const identity = await authenticate(req, verifier, signal);
        const request = await store.get(route.id);
        if (request === undefined || !canSee(identity, request)) {
          throw new SluiceError('ERR_APPROVAL_NOT_FOUND', `no approval ${route.id}`);
        }
        return ok(res, { approval: approvalView(request) });
      }
      case 'vote':
        return vote(req, res, signal, route.id, route.approve);
    }
  }

  async function vote(req: IncomingMessage, res: ServerResponse, signal: AbortSignal, id: string, approve: boolean): Promise<void> {
    const audit: AuditEntry = { approvalId: id, decision: approve ? 'approve' : 'deny' };
    try {
      audit.identity = await authenticate(req, verifier, signal);
      audit.reason = await readReason(req);
      if (!approve && audit.reason === '') throw new SluiceError('ERR_APPROVAL_INVALID', 'a denial needs a reason: send {"reason": "..."}');
      const updated = await store.vote(id, approverOf(audit.identity), approve, audit.reason, now());
      audit.status = 200;
      audit.result = 'ok';
      audit.approvalStatus = updated.status;
      ok(res, { approval: approvalView(updated) });
      if (updated.status !== 'pending') notifier?.notify({ type: 'approval.decided', request: updated });
    } catch (err) {
      const failure = refusal(err);
      audit.status = failure.status;
      audit.result = failure.code;
      throw err;
    } finally {
      writeAudit(audit, req);
    }
  }

  function writeAudit(entry: AuditEntry, req: IncomingMessage): void {
    // Built field by field: the token, the headers and the raw body never reach this line.
    auditLog.info(
      {
        event: 'approval.vote',
        approval_id: entry.approvalId,
        decision: entry.decision,
        approver_issuer: entry.identity?.issuerName ?? null,
        approver_subject: entry.identity?.subject ?? null,
        reason: entry.reason === undefined ? null : entry.reason.slice(0, AUDIT_REASON_CHARS),
        result: entry.result ?? 'ERR_INTERNAL',
        http_status: entry.status ?? 500,
        approval_status: entry.approvalStatus ?? null,
        source_address: req.socket.remoteAddress ?? null,
      },
      'approval vote',
    );
  }

  const server = createServer((req, res) => {
    const abort = new AbortController();
    // The caller left before we answered: stop verifying on its behalf.
    res.once('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    handle(req, res, abort.signal).catch((err: unknown) => {
      const failure = refusal(err);
      if (failure.status >= 500) {
        logger.error({ err: describeError(err), method: req.method, path: req.url?.split('?')[0], code: failure.code }, 'approvals API call failed');
      }
      if (res.headersSent || abort.signal.aborted) {
        res.destroy();
        return;
      }
      sendError(res, failure.status, failure.code, failure.message, failure.headers);
    });
  });
  // Bounds on slow clients: the whole request must arrive within 30 s, its headers within 10 s.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;

  const port = await listen(server, options.port ?? 0, options.host ?? '127.0.0.1');
  logger.info({ port, host: options.host ?? '127.0.0.1' }, 'approvals API listening');
  return { port, close: () => closeServer(server) };
}

/** Every failure as status + code + safe message + headers. */
function refusal(err: unknown): { status: number; code: string; message: string; headers: Record<string, string> } {
  if (err instanceof HttpRefusal) return { status: err.status, code: err.code, message: err.message, headers: err.headers };
  if (err instanceof AuthError) {
    if (err.code === 'ERR_JWKS_UNAVAILABLE') return { status: 503, code: err.code, message: 'the identity provider is unavailable', headers: {} };
    return { status: 401, code: err.code, message: err.message, headers: { 'www-authenticate': wwwAuthenticate(err) } };
  }
  if ((err as { statusCode?: unknown } | null)?.statusCode === 413) return tooLarge();
  const failure = toApiFailure(err);
  return { status: failure.status, code: failure.code, message: failure.message, headers: {} };
}

function tooLarge() {
  // The rest of the body is not read; closing the connection is cheaper than draining it.
  return { status: 413, code: 'ERR_BODY_TOO_LARGE', message: `the request body exceeds ${MAX_BODY_BYTES} bytes`, headers: { connection: 'close' } };
}

function ok(res: ServerResponse, body: unknown): void {
  sendJson(res, 200, body, { 'cache-control': 'no-store' });
}

function parseListQuery(params: URLSearchParams): { filter: ApprovalFilter; limit: number } {
  const filter: ApprovalFilter = {};
  const status = params.get('status') || 'pending';
  if (status !== 'all') {
    if (!STATUSES.includes(status as ApprovalStatus)) {
      throw new SluiceError('ERR_APPROVAL_INVALID', `status must be one of ${STATUSES.join(', ')} or all`);
    }
    filter.status = status as ApprovalStatus;
  }
  const subject = params.get('subject');
  if (subject) filter.subject = subject;
  const target = params.get('target');
  if (target) filter.target = target;
  const rawLimit = params.get('limit');
  let limit = DEFAULT_LIMIT;
  if (rawLimit) {
    limit = Number(rawLimit);
    if (!/^\d+$/.test(rawLimit) || limit < 1 || limit > MAX_LIMIT) {
      throw new SluiceError('ERR_APPROVAL_INVALID', `limit must be an integer from 1 to ${MAX_LIMIT}`);
    }
  }
  return { filter, limit };
}

/** The vote body: empty, or a JSON object with an optional string `reason` (trimmed). */
async function readReason(req: IncomingMessage): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) throw Object.assign(new Error('request body too large'), { statusCode: 413 });
  const raw = (await readBody(req, MAX_BODY_BYTES)).toString('utf8');
  if (raw.trim() === '') return '';
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw new SluiceError('ERR_APPROVAL_INVALID', 'the body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new SluiceError('ERR_APPROVAL_INVALID', 'the body must be a JSON object, e.g. {"reason": "..."}');
  }
  const reason = (body as { reason?: unknown }).reason;
  if (reason === undefined || reason === null) return '';
  if (typeof reason !== 'string') throw new SluiceError('ERR_APPROVAL_INVALID', '"reason" must be a string');
  return reason.trim();
}
