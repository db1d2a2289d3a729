import type { ServerResponse } from 'node:http';
import type { AdminHandler, AdminServer } from '../../common/admin-server.ts';
import { isSluiceError } from '../../common/errors.ts';
import { sendJson } from '../../common/http.ts';
import { HttpRefusal, isHttpRefusal } from '../../common/http-refusal.ts';
import type { Logger } from '../../common/logger.ts';
import { authenticate } from '../../ext-authz/identity/http-bearer.ts';
import type { Identity, IdentityVerifier } from '../../ext-authz/identity/types.ts';
import { isSessionId } from '../sessions/prepare-record.ts';
import type { SessionStore } from '../sessions/types.ts';
import { parseSessionQuery } from './query.ts';
import { compileReaders, type SessionReader } from './readers.ts';

export interface SessionsApiDeps {
  /** Read through get/list only; this API never writes. */
  store: Pick<SessionStore, 'get' | 'list'>;
  verifier: IdentityVerifier;
  /** Who may read sessions; an empty list lets nobody in. */
  readers: readonly SessionReader[];
  /** Gets one `sessions.read` line per call, accepted or refused: who looked at what. */
  logger: Logger;
}

/**
 * The sessions read API for the web console and auditors, registered on ext-proc's admin server:
 * `GET /sessions` (newest first, paged by an opaque cursor) and `GET /sessions/:id`. Callers sign
 * in with their own OIDC token, as with the approvals API, and must match `readers`. Records are
 * returned as stored: the stores keep only masked bodies and redacted headers, so nothing here
 * can show more than the recording already holds.
 */
export function registerSessionsApi(admin: AdminServer, deps: SessionsApiDeps): void {
  const { store, verifier, logger } = deps;
  // Compiled now, so a bad readers list stops the service at boot and not at the first read.
  const mayRead = compileReaders(deps.readers);

  const route = (pattern: string, handler: (identity: Identity, ...rest: Parameters<AdminHandler>) => Promise<Record<string, unknown>>) =>
    admin.route('GET', pattern, async (req, res, params, signal) => {
      let identity: Identity | undefined;
      let line: Record<string, unknown> = {};
      try {
        identity = await authenticate(req, verifier, signal);
        // Not a reader: refused before the query is even parsed, so nothing about the data leaks.
        if (!mayRead(identity)) throw new HttpRefusal(403, 'ERR_SESSION_FORBIDDEN', 'you are not allowed to read recorded sessions');
        line = await handler(identity, req, res, params, signal);
        line.result = 'ok';
      } catch (err) {
        const refusal = toRefusal(err);
        line.result = isHttpRefusal(refusal) ? refusal.code : 'ERR_INTERNAL';
        throw refusal;
      } finally {
        // Built field by field: the token and the headers never reach this line.
        logger.info({ event: 'sessions.read', reader_issuer: identity?.issuerName ?? null, reader_subject: identity?.subject ?? null, ...line }, 'sessions read');
      }
    });

  route('/sessions', async (_identity, req, res) => {
    const filter = parseSessionQuery(new URL(req.url ?? '/', 'http://sessions.invalid').searchParams);
    const page = await store.list(filter);
    ok(res, { sessions: page.records, next_cursor: page.nextCursor ?? null });
    return { filter: { ...filter, cursor: filter.cursor === undefined ? undefined : '(given)' }, count: page.records.length };
  });

  route('/sessions/:id', async (_identity, _req, res, params) => {
    const id = params.id ?? '';
    const record = isSessionId(id) ? await store.get(id) : undefined;
    if (record === undefined) throw new HttpRefusal(404, 'ERR_SESSION_NOT_FOUND', `no session ${id.slice(0, 64)}`);
    ok(res, { session: record });
    return { session_id: record.id };
  });
}

/** The session stores' deliberate errors as HTTP refusals; anything else stays unexpected (500). */
function toRefusal(err: unknown): unknown {
  if (isHttpRefusal(err) || !isSluiceError(err)) return err;
  // A cursor the store does not recognise (or another query problem the store caught) is the caller's.
  if (err.code === 'ERR_SESSION_INVALID') return new HttpRefusal(400, err.code, err.message, { cause: err });
  // The store's message names hosts, paths and ports: the log gets it, the caller a fixed line.
  if (err.code === 'ERR_SESSION_STORE_UNAVAILABLE') return new HttpRefusal(503, err.code, 'the session store is unavailable; try again shortly', { cause: err });
  return err;
}

function ok(res: ServerResponse, body: unknown): void {
  sendJson(res, 200, body, { 'cache-control': 'no-store' });
}
