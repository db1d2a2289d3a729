import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { AdminServer } from '../common/admin-server.ts';
import { sendError } from '../common/admin-server.ts';
import { httpStatusOf, isErrorCode } from '../common/error-codes.ts';
import { describeError, isSluiceError } from '../common/errors.ts';
import { isHttpRefusal } from '../common/http-refusal.ts';
import type { Logger } from '../common/logger.ts';
import { canSee } from '../ext-authz/approvals/api-auth.ts';
import type { ApprovalStore } from '../ext-authz/approvals/types.ts';
import type { IdentityVerifier } from '../ext-authz/identity/types.ts';
import type { CompiledPolicySet } from '../ext-authz/policy/index.ts';
import { compileReaders } from '../ext-proc/sessions-api/readers.ts';
import type { ApprovalFeed } from './approval-feed.ts';
import { streamPendingApprovals } from './approvals-events.ts';
import { sendAsset } from './assets.ts';
import { BrowserSessions, type ConsoleUser } from './browser-sessions.ts';
import { DecisionHistory, denialsByCode, maskingByRecognizer } from './decision-history.ts';
import { ConsoleError } from './errors.ts';
import { answerExplain, emptyExplainForm, type ConsoleTarget } from './explain-form.ts';
import { OidcClient } from './oidc-client.ts';
import { approvalsPage } from './pages/approvals-page.ts';
import { explainPage } from './pages/explain-page.ts';
import { errorPage, signInPage } from './pages/messages.ts';
import { overviewPage } from './pages/overview-page.ts';
import { replayPage } from './pages/replay-page.ts';
import { sessionsPage } from './pages/sessions-page.ts';
import { readForm } from './read-form.ts';
import { redactRecord } from './redact.ts';
import { checkCsrf, securityHeaders } from './security.ts';
import { ServiceClient, type MetricFamily } from './service-client.ts';
import { apiQuery, readFilters, ruleChoices } from './session-filters.ts';
import type { ConsoleSettings } from './settings.ts';
import { SignIn } from './sign-in.ts';

export interface ConsoleDeps {
  settings: ConsoleSettings;
  /** The origin browsers use (scheme, host, port); the redirect URI and the CSRF origin check come from it. */
  publicUrl: string;
  /** The `iss` of the sign-in issuer (settings.issuer names it). */
  issuerUrl: string;
  verifier: IdentityVerifier;
  store: Pick<ApprovalStore, 'list'>;
  feed: ApprovalFeed;
  policies: () => CompiledPolicySet;
  /** The declared targets with their protocols: the sessions filter, and the explain form's fields per protocol. */
  targets: () => readonly ConsoleTarget[];
  /** ext-authz's own metrics, read in process. */
  authzMetrics: Registry;
  /** ext-authz's own admin server: the approvals API that votes go through. */
  approvalsUrl: string;
  /** ext-proc's admin server: the sessions API and its metrics. */
  extProcUrl: string;
  logger: Logger;
  fetch?: typeof fetch;
  /** How often the decision counters are sampled for the overview. Default 10 s. */
  sampleIntervalMs?: number;
  /** How often an open approvals page re-reads the store. Default 2 s. */
  resyncMs?: number;
}

interface Call {
  req: IncomingMessage;
  res: ServerResponse;
  params: Readonly<Record<string, string>>;
  signal: AbortSignal;
  user: ConsoleUser;
  form: Record<string, string>;
}

interface RouteOptions {
  /** `json` routes answer refusals with the admin API's error body; `html` ones with a page. */
  kind: 'html' | 'json';
  /** Who may use it besides being signed in. */
  role?: 'auditor' | 'policyAuthor';
}

/**
 * The operator console: server-rendered pages on ext-authz's admin server, under /console. Each
 * request runs the same phases, in order: security headers; the sign-in (a page shows the sign-in
 * page, JSON says ERR_CONSOLE_SIGNIN_REQUIRED); for a POST the form and its CSRF check; the
 * visibility rule of the route; the handler. Refusals become a page or a JSON error here and
 * nowhere else, with the status of their code (common/error-codes.ts).
 */
export function registerConsole(admin: AdminServer, deps: ConsoleDeps): { close(): void } {
  const { settings, logger } = deps;
  const publicOrigin = new URL(deps.publicUrl).origin;
  const isAuditor = compileReaders(settings.auditors, 'console.auditors');
  const isPolicyAuthor = compileReaders(settings.policyAuthors, 'console.policyAuthors');
  const sessions = new BrowserSessions({ ttlMs: Number.parseInt(settings.sessionTtl, 10) * 1000 });
  const signIn = new SignIn({
    client: new OidcClient({ issuer: deps.issuerUrl, clientId: settings.clientId, redirectUri: `${publicOrigin}/console/callback`, ...(deps.fetch ? { fetch: deps.fetch } : {}) }),
    verifier: deps.verifier,
    sessions,
    issuerName: settings.issuer,
    clientId: settings.clientId,
    secureCookies: publicOrigin.startsWith('https:'),
  });
  const services = new ServiceClient({ approvalsUrl: deps.approvalsUrl, extProcUrl: deps.extProcUrl, ...(deps.fetch ? { fetch: deps.fetch } : {}) });
  const readAuthz = async () => (await deps.authzMetrics.getMetricsAsJSON()) as unknown as MetricFamily[];
  const history = new DecisionHistory(readAuthz);
  const sampleIntervalMs = deps.sampleIntervalMs ?? 10_000;
  void history.sample(Date.now());
  const sampler = setInterval(() => void history.sample(Date.now()).catch(() => undefined), sampleIntervalMs);
  sampler.unref();

  const may = (user: ConsoleUser, role: RouteOptions['role']) =>
    role === undefined || (role === 'auditor' ? isAuditor(user.identity) : isPolicyAuthor(user.identity));

  function route(method: string, pattern: string, options: RouteOptions, handler: (call: Call) => Promise<string | void> | string | void): void {
    admin.route(method, pattern, async (req, res, params, signal) => {
      securityHeaders(res);
      let user: ConsoleUser | undefined;
      try {
        user = signIn.current(req);
        if (user === undefined) {
          if (options.kind === 'html' && method === 'GET') return sendHtml(res, 401, signInPage(settings.issuer, req.url ?? '/console'));
          throw new ConsoleError('ERR_CONSOLE_SIGNIN_REQUIRED', 'sign in to the console first');
        }
        const form = method === 'POST' ? await readForm(req) : {};
        if (method === 'POST') checkCsrf(req, user.csrf, form.csrf, publicOrigin);
        if (!may(user, options.role)) {
          throw new ConsoleError('ERR_CONSOLE_FORBIDDEN', options.role === 'auditor' ? 'only auditors (console.auditors) may read recorded sessions' : 'only policy authors (console.policyAuthors) may use the explain form');
        }
        const page = await handler({ req, res, params, signal, user, form });
        if (typeof page === 'string') sendHtml(res, 200, page);
      } catch (err) {
        refuse(res, options.kind, err, user);
      }
    });
  }

  function refuse(res: ServerResponse, kind: RouteOptions['kind'], err: unknown, user: ConsoleUser | undefined): void {
    const known = isHttpRefusal(err) || (isSluiceError(err) && isErrorCode(err.code));
    const code = known ? (err as { code: string }).code : 'ERR_INTERNAL';
    const status = isHttpRefusal(err) ? err.status : known ? httpStatusOf(code) : 500;
    const message = known && status < 500 ? (err as Error).message : status === 503 ? (err as Error).message : 'internal error';
    if (!known || status >= 500) logger.error({ err: describeError(isSluiceError(err) && err.cause !== undefined ? err.cause : err), code }, 'console request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (kind === 'json') return sendError(res, status, code, message);
    sendHtml(res, status, errorPage(status, code, message, user));
  }

  // Sign-in: these run without a signed-in user.
  admin.route('GET', '/console/login', async (req, res) => {
    securityHeaders(res);
    try {
      await signIn.start(res, new URL(req.url ?? '/', 'http://console.invalid').searchParams.get('next') ?? '/console');
    } catch (err) {
      refuse(res, 'html', err, undefined);
    }
  });
  admin.route('GET', '/console/callback', async (req, res, _params, signal) => {
    securityHeaders(res);
    try {
      const identity = await signIn.finish(req, res, signal);
      logger.info({ event: 'console.signin', issuer: identity.issuerName, subject: identity.subject }, 'console sign-in');
    } catch (err) {
      if (isSluiceError(err) && err.code === 'ERR_CONSOLE_SIGNIN_FAILED') {
        logger.warn({ event: 'console.signin', result: err.code, reason: err.message, cause: err.cause === undefined ? undefined : describeError(err.cause) }, 'console sign-in refused');
        return sendHtml(res, 401, signInPage(settings.issuer, '/console', `Sign-in failed: ${err.message}.`));
      }
      refuse(res, 'html', err, undefined);
    }
  });
  admin.route('GET', '/console/signed-out', (_req, res) => {
    securityHeaders(res);
    sendHtml(res, 200, signInPage(settings.issuer, '/console', 'You are signed out.'));
  });
  admin.route('GET', '/console/assets/:name', (_req, res, params) => sendAsset(res, params.name ?? ''));

  route('POST', '/console/logout', { kind: 'html' }, ({ req, res }) => signIn.signOut(req, res));

  route('GET', '/console', { kind: 'html' }, async ({ user, signal }) => {
    const authz = await readAuthz();
    const [pending, procMetrics] = await Promise.all([deps.store.list({ status: 'pending' }).catch(() => []), services.extProcMetrics(signal)]);
    const waiting = new Map<string, number>();
    for (const r of pending) if (canSee(user.identity, r)) waiting.set(r.target, (waiting.get(r.target) ?? 0) + 1);
    return overviewPage(user, {
      decisions: history.buckets({ at: Date.now(), totals: totalsOf(authz) }),
      intervalSeconds: Math.round(sampleIntervalMs / 1000),
      denials: denialsByCode(authz),
      waiting: [...waiting].map(([label, value]) => ({ label, value })),
      masking: procMetrics === undefined ? undefined : maskingByRecognizer(procMetrics),
    });
  });

  route('GET', '/console/approvals', { kind: 'html' }, ({ user }) => approvalsPage(user));
  route('GET', '/console/approvals/events', { kind: 'json' }, ({ res, user, signal }) =>
    streamPendingApprovals(res, user.identity, signal, { store: deps.store, feed: deps.feed, ...(deps.resyncMs ? { resyncMs: deps.resyncMs } : {}) }));
  for (const decision of ['approve', 'deny'] as const) {
    route('POST', `/console/approvals/:id/${decision}`, { kind: 'json' }, async ({ res, params, user, form, signal }) => {
      const answer = await services.vote(user.idToken, params.id ?? '', decision === 'approve', form.reason ?? '', signal);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  }

  route('GET', '/console/sessions', { kind: 'html', role: 'auditor' }, async ({ req, user, signal }) => {
    const filters = readFilters(new URL(req.url ?? '/', 'http://console.invalid').searchParams);
    const page = await services.listSessions(user.idToken, apiQuery(filters), signal);
    return sessionsPage(user, filters, { ...page, records: page.records.map(redactRecord) }, deps.targets().map((t) => t.name), ruleChoices(deps.policies()));
  });
  route('GET', '/console/sessions/:id', { kind: 'html', role: 'auditor' }, async ({ params, user, signal }) =>
    replayPage(user, redactRecord(await services.getSession(user.idToken, params.id ?? '', signal))));
  route('GET', '/console/sessions/:id/record.json', { kind: 'json', role: 'auditor' }, async ({ res, params, user, signal }) => {
    const record = redactRecord(await services.getSession(user.idToken, params.id ?? '', signal));
    const body = JSON.stringify({ session: record }, null, 2);
    res.writeHead(200, { 'content-type': 'application/json', 'content-disposition': `attachment; filename="session-${record.id}.json"`, 'content-length': Buffer.byteLength(body) }).end(body);
  });

  route('GET', '/console/explain', { kind: 'html', role: 'policyAuthor' }, ({ user }) => explainPage(user, deps.targets(), emptyExplainForm(user, deps.targets())));
  route('POST', '/console/explain', { kind: 'html', role: 'policyAuthor' }, ({ user, form }) => {
    const { form: shown, result } = answerExplain(form, deps.targets(), deps.policies(), settings.issuer);
    return explainPage(user, deps.targets(), shown, result);
  });

  logger.info({ publicUrl: publicOrigin, issuer: settings.issuer }, 'operator console on the admin server at /console');
  return { close: () => clearInterval(sampler) };
}

function sendHtml(res: ServerResponse, status: number, page: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(page) });
  res.end(page);
}

function totalsOf(families: MetricFamily[]): Map<string, [number, number]> {
  const totals = new Map<string, [number, number]>();
  for (const { labels, value } of families.find((f) => f.name === 'sluice_authz_decisions_total')?.values ?? []) {
    const pair = totals.get(String(labels.target)) ?? [0, 0];
    pair[labels.effect === 'allow' ? 0 : 1] += value;
    totals.set(String(labels.target), pair);
  }
  return totals;
}
