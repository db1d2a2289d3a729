import { randomUUID } from 'node:crypto';
import { describeError, isSluiceError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import type { PgLoginEvent, SecretRef, SessionEvent, SessionOutcome, SessionRecord } from '../sessions/types.ts';
import type { PgAllow, PgAuthorizer, PgDeny, PgLoginRequest } from './authorizer.ts';
import { ClientFlow } from './client-flow.ts';
import { Outbox } from './outbox.ts';
import type { RowMaskerSource } from './result-flow.ts';
import { ResultFlow } from './result-flow.ts';
import { ResultContext } from './result-context.ts';
import { checkStartupParams } from './startup-params.ts';
import { StatementGate } from './statement-gate.ts';
import { StatementLog } from './statement-log.ts';
import { UpstreamLogin, type UpstreamCredential } from './upstream-login.ts';
import { SESSION_ROLE_SQLSTATE, type SessionRoleErrorCode } from './session-roles/errors.ts';
import type { MintedRole, SessionRoleMinter } from './session-roles/session-roles.ts';
import { ENCRYPTION_DECLINED, AUTH, encodeAuthentication, encodeErrorResponse } from './wire/backend.ts';
import { PgProtocolError } from './wire/errors.ts';
import { Framer, type Frame } from './wire/framer.ts';
import { F, decodePassword, decodeStartupPhase, encodeStartupMessage, encodeTerminate } from './wire/frontend.ts';
import type { NetworkResponse } from './outbox.ts';

/** Per-target settings of a PostgreSQL session (sluice.yaml `targets[].postgres`, with defaults). */
export interface PgSessionSettings {
  /** Largest message either side may send, bytes. */
  maxMessageBytes: number;
  /** How long an allowed statement text is remembered per session (ms; 0 = ask every time). */
  statementCacheMs: number;
  /** How often a live session's login is checked again (policy reload, revoked subject), ms. */
  recheckMs: number;
  /** Extra life after the token's exp before the session is ended, ms. */
  expiryGraceMs: number;
  /** How long a statement may wait for an approval, ms (0: approvals cannot hold statements). */
  holdBudgetMs: number;
  /** A chunk is answered within this long even while its statement is still being checked (ms). */
  respondWithinMs: number;
  /** Statements kept per session record; beyond, they are counted. */
  maxRecordedStatements: number;
  /** Statement text kept per event, bytes. */
  maxStatementBytes: number;
  /** Cleartext password to the server is allowed (the path to it is loopback or TLS). */
  allowCleartextUpstream: boolean;
}

export interface PgSessionDeps {
  target: string;
  authorizer: PgAuthorizer;
  /** The real credential for the target and the db user the policy allowed; null when none is configured. */
  credential(target: string, requestedUser: string): Promise<(UpstreamCredential & { secret: SecretRef | undefined }) | null>;
  /**
   * The target mints a role per session (postgres.sessionRoles): the login is as that role, and
   * `credential` is not asked. Absent: the target's credential logs in.
   */
  sessionRoles?: SessionRoleMinter;
  /** Row maskers for the session's masking profile (null profile: nothing to mask). */
  maskers(profile: string | null): RowMaskerSource | null;
  /** Hands the finished record to the recording queue. */
  record(record: SessionRecord): void;
  /** The listener takes TLS only and this client did not speak it: refused at its StartupMessage. */
  plaintextRefused?: boolean;
  /** Whether a new session's record can be kept (recording queue not full in deny mode). */
  admit?: () => boolean;
  settings: PgSessionSettings;
  logger: Logger;
  sourceAddress: string | undefined;
  newSessionId?: () => string;
  now?: () => number;
}

type Phase = 'startup' | 'password' | 'authorizing' | 'upstream-auth' | 'ready' | 'cancel' | 'closed';

/** What the client reads when its role cannot be minted (fixed texts: the detail is in the log). */
const ROLE_REFUSALS: Partial<Record<SessionRoleErrorCode, string>> = {
  ERR_PG_ROLE_ADMIN_UNAVAILABLE: 'the gateway cannot create your database user right now (its admin connection to the database is unavailable); the operator has been told',
  ERR_PG_ROLE_NOT_GRANTABLE: 'the policy grants you no database roles the gateway may give on this target',
  ERR_PG_ROLE_MINT_FAILED: 'the gateway could not create your database user; the operator has been told',
};

function sameRoles(a: readonly string[] | undefined, b: readonly string[]): boolean {
  const left = new Set(a ?? []);
  return left.size === new Set(b).size && b.every((role) => left.has(role));
}

/** Why the gateway ends a live session (client-facing FATAL). */
interface Ending {
  sqlstate: string;
  message: string;
  reason: string;
  code: string;
  outcome: SessionOutcome;
}

/**
 * One client connection to a PostgreSQL target, as Envoy's network ext_proc filter hands it over.
 *
 * Phases: startup (encryption declined, StartupMessage read and its parameters filtered) →
 * password (the client is asked for a cleartext password: its OIDC token) → authorizing
 * (ext-authz verifies the token and decides the login) → upstream-auth (the gateway sends its
 * own StartupMessage and logs in with the real credential; the client sees none of it) → ready
 * (statements are checked one by one, results masked and recorded) → closed. A refusal at any
 * point is a real ErrorResponse in the client's protocol and then a close, never a dropped
 * connection; anything unexpected is a refusal too (fail closed).
 */
export class PgSession {
  private phase: Phase = 'startup';
  private readonly outbox: Outbox;
  private readonly clientFramer: Framer;
  private readonly serverFramer: Framer;
  private readonly now: () => number;
  private readonly startedAt: number;
  private sessionId: string;
  private readChain: Promise<void> = Promise.resolve();
  private writeChain: Promise<void> = Promise.resolve();

  private requested: { user: string; database: string; passed: Map<string, string> } | undefined;
  private token = '';
  private login: PgAllow | undefined;
  private loginDenied: PgDeny | undefined;
  private upstreamUser = '';
  private secret: SecretRef | undefined;
  /** The role minted for this session (its password goes to the upstream login only), until released. */
  private minted: MintedRole | undefined;
  private roleReleased = false;
  private upstreamLogin: UpstreamLogin | undefined;
  private maskers: RowMaskerSource | null = null;
  private client: ClientFlow | undefined;
  private results: ResultFlow | undefined;
  private readonly log: StatementLog;
  private readonly events: SessionEvent[] = [];
  private timers: NodeJS.Timeout[] = [];
  private ending: Ending | undefined;
  private endedBy: { outcome: SessionOutcome; reason: string; code?: string } | undefined;
  private recorded = false;

  constructor(private readonly deps: PgSessionDeps, send: (response: NetworkResponse) => void) {
    this.outbox = new Outbox(send);
    this.clientFramer = new Framer({ startup: true, maxMessageBytes: deps.settings.maxMessageBytes });
    this.serverFramer = new Framer({ startup: false, maxMessageBytes: deps.settings.maxMessageBytes });
    this.now = deps.now ?? Date.now;
    this.startedAt = this.now();
    this.sessionId = (deps.newSessionId ?? randomUUID)();
    this.log = new StatementLog({ maxEvents: deps.settings.maxRecordedStatements });
  }

  /** Bytes from the client (Envoy's read_data). */
  async onClientData(data: Buffer, endOfStream: boolean): Promise<void> {
    this.outbox.opened('read', endOfStream);
    const work = (this.readChain = this.readChain.then(() => this.fromClient(data, endOfStream)));
    this.track(work);
    await this.answerWithin(work);
    this.outbox.respond('read');
  }

  /** Bytes from the server (Envoy's write_data). */
  async onServerData(data: Buffer, endOfStream: boolean): Promise<void> {
    this.outbox.opened('write', endOfStream);
    const work = (this.writeChain = this.writeChain.then(() => this.fromServer(data, endOfStream)));
    this.track(work);
    await this.answerWithin(work);
    this.outbox.respond('write');
  }

  /**
   * Chunks received and not yet processed, both directions. The stream pauses reading from Envoy
   * while this is high (onBacklog), so a result that streams faster than it can be masked waits in
   * Envoy's flow control and the server's socket, not in this process.
   */
  backlog = 0;
  onBacklog: (() => void) | undefined;

  private track(work: Promise<void>): void {
    this.backlog++;
    this.onBacklog?.();
    void work.finally(() => {
      this.backlog--;
      this.onBacklog?.();
    });
  }

  /** The stream to Envoy ended (connection closed, or Envoy gone): the record is written. */
  closed(failed: boolean): void {
    this.clearTimers();
    this.releaseRole(failed ? 'the connection was cut' : 'the session ended');
    if (this.endedBy === undefined) {
      this.endedBy = failed
        ? { outcome: 'incomplete', reason: 'the connection was cut (Envoy or the gateway stopped)' }
        : { outcome: 'completed', reason: 'the client closed the connection' };
    }
    this.phase = 'closed';
    this.writeRecord();
  }

  private async answerWithin(work: Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([work, new Promise<void>((resolve) => { timer = setTimeout(resolve, this.deps.settings.respondWithinMs); })]);
    clearTimeout(timer);
  }

  // ─── client → server ────────────────────────────────────────────────────────

  private async fromClient(data: Buffer, endOfStream: boolean): Promise<void> {
    if (this.phase === 'closed') return;
    if (this.phase === 'cancel') {
      this.outbox.emit('read', data);
      return;
    }
    let frames: Frame[];
    try {
      frames = this.clientFramer.push(data);
    } catch (err) {
      return this.refuseProtocol(err);
    }
    for (const frame of frames) {
      if (this.isClosed()) return; // a frame before this one may have ended the session
      try {
        await this.clientFrame(frame);
      } catch (err) {
        if (err instanceof PgProtocolError) return this.refuseProtocol(err);
        this.deps.logger.error({ err: describeError(err), target: this.deps.target, session_id: this.sessionId }, 'postgres session failed; closing it');
        return this.endNow({ sqlstate: 'XX000', message: 'the gateway failed while handling this session; it has been closed', reason: 'internal error', code: 'ERR_INTERNAL', outcome: 'failed' });
      }
    }
    if (this.phase === 'ready' && this.client) this.outbox.emit('read', this.client.take());
    if (endOfStream && this.phase === 'ready' && !this.endedBy) this.endedBy = { outcome: 'completed', reason: 'the client closed the connection' };
  }

  private async clientFrame(frame: Frame): Promise<void> {
    switch (this.phase) {
      case 'startup':
        return this.startupFrame(frame);
      case 'password':
        if (frame.type !== F.Password) throw new PgProtocolError(`expected a password message, got ${String.fromCharCode(frame.type)}`);
        this.token = decodePassword(frame);
        this.phase = 'authorizing';
        return this.authorizeLogin();
      case 'authorizing':
      case 'upstream-auth':
        // The client must wait for AuthenticationOk; a client that pipelines its first query is refused
        // rather than have bytes reach the server before the login is over.
        throw new PgProtocolError('the client sent a message before the login completed');
      case 'ready':
        if (frame.type === F.Terminate && !this.endedBy) this.endedBy = { outcome: 'completed', reason: 'the client ended the session' };
        return this.client!.frame(frame);
      default:
        return;
    }
  }

  private startupFrame(frame: Frame): void {
    const message = decodeStartupPhase(frame);
    switch (message.kind) {
      case 'ssl-request':
      case 'gssenc-request':
        // Encryption is Envoy's job (TLS at the listener); in this shape the processor says no and
        // the client goes on in the clear on a connection the operator keeps local.
        this.outbox.emit('write', ENCRYPTION_DECLINED);
        return;
      case 'cancel':
        // A cancel key is the server's own (BackendKeyData passes through): forward it as is.
        this.phase = 'cancel';
        this.endedBy = { outcome: 'completed', reason: 'cancel request' };
        this.recorded = true; // a cancel request is not a session
        this.outbox.emit('read', frame.bytes);
        return;
      case 'startup': {
        if (this.deps.plaintextRefused) {
          return this.refuseLogin('08P01', 'this database gateway accepts TLS connections only: connect with sslnegotiation=direct (PostgreSQL 17+ clients) or through a local sidecar', 'ERR_PG_TLS_REQUIRED');
        }
        const check = checkStartupParams(message.params);
        if (!check.ok) return this.refuseLogin(check.sqlstate, check.message, 'ERR_PG_STARTUP_REFUSED');
        if (check.dropped.length > 0) this.deps.logger.debug({ target: this.deps.target, dropped: check.dropped }, 'startup parameters not passed to the server');
        this.requested = { user: check.user, database: check.database, passed: check.passed };
        this.phase = 'password';
        this.outbox.emit('write', encodeAuthentication(AUTH.CleartextPassword));
        return;
      }
    }
  }

  private async authorizeLogin(): Promise<void> {
    const requested = this.requested!;
    const verdict = await this.deps.authorizer.login(this.loginRequest());
    if (!verdict.allowed) {
      this.loginDenied = verdict;
      return this.refuseLogin(verdict.sqlstate, verdict.message, verdict.code);
    }
    this.login = verdict;
    if (this.deps.admit && !this.deps.admit()) {
      this.deps.logger.error({ target: this.deps.target, session_id: this.sessionId }, 'session recording is full; refusing a new postgres session rather than lose its record');
      return this.refuseLogin('53300', 'the gateway cannot record new sessions right now; try again shortly', 'ERR_RECORDING_UNAVAILABLE');
    }
    try {
      this.maskers = this.deps.maskers(verdict.masking);
    } catch (err) {
      this.deps.logger.error({ err: describeError(err), target: this.deps.target, profile: verdict.masking }, 'the policy names a masking profile ext-proc does not have; refusing the login');
      return this.refuseLogin('58000', 'the gateway could not set up this session; the operator has been told', 'ERR_MASKING_PROFILE_UNKNOWN');
    }
    const credential = this.deps.sessionRoles ? await this.mintRole(verdict) : await this.deps.credential(this.deps.target, requested.user);
    if (credential === undefined) return; // refused, or the connection closed meanwhile
    if (credential === null) {
      this.deps.logger.error({ target: this.deps.target, user: requested.user }, 'no credential configured for this PostgreSQL target and db user; refusing the login');
      return this.refuseLogin('08004', 'the gateway has no credential for this database user; the operator has been told', 'ERR_PG_NO_CREDENTIAL');
    }
    this.upstreamUser = credential.user;
    this.secret = credential.secret;
    this.upstreamLogin = new UpstreamLogin(credential, { allowCleartext: this.deps.settings.allowCleartextUpstream });
    this.phase = 'upstream-auth';
    const params = new Map([['user', credential.user], ['database', requested.database], ...requested.passed]);
    this.outbox.emit('read', encodeStartupMessage(params));
    this.scheduleLifetime(verdict);
  }

  /**
   * A role for this session only, with the roles the verdict grants (session-roles/). Undefined
   * when the login was refused here, or the connection closed while the role was being made (then
   * it is released at once).
   */
  private async mintRole(verdict: PgAllow): Promise<(UpstreamCredential & { secret: SecretRef | undefined }) | undefined> {
    const roles = this.deps.sessionRoles!;
    let role: MintedRole;
    try {
      role = await roles.mint({ sessionId: this.sessionId, database: this.requested!.database, granted: verdict.grantedRoles, expiresAt: verdict.expiresAt });
    } catch (err) {
      const code = (isSluiceError(err) && err.code in SESSION_ROLE_SQLSTATE ? err.code : 'ERR_PG_ROLE_MINT_FAILED') as SessionRoleErrorCode;
      this.deps.logger.error({ err: describeError(err), target: this.deps.target, session_id: this.sessionId, granted: verdict.grantedRoles }, 'could not mint a session role; refusing the login');
      this.refuseLogin(SESSION_ROLE_SQLSTATE[code], ROLE_REFUSALS[code] ?? ROLE_REFUSALS.ERR_PG_ROLE_MINT_FAILED!, code);
      return undefined;
    }
    this.minted = role;
    if (this.phase === 'closed') {
      this.releaseRole('the connection closed during the login');
      return undefined;
    }
    return { user: role.name, password: role.password, secret: undefined };
  }

  /** Once, whichever way the session ends. */
  private releaseRole(reason: string): void {
    if (!this.minted || this.roleReleased) return;
    this.roleReleased = true;
    this.deps.sessionRoles!.release(this.minted, reason);
  }

  /** What every check of this session carries: who asks, for which db user and database, with which token. */
  private loginRequest(): PgLoginRequest {
    const requested = this.requested!;
    return {
      sessionId: this.sessionId, target: this.deps.target, user: requested.user, database: requested.database,
      token: this.token, sourceAddress: this.deps.sourceAddress,
    };
  }

  // ─── server → client ────────────────────────────────────────────────────────

  private async fromServer(data: Buffer, endOfStream: boolean): Promise<void> {
    if (this.phase === 'closed') return;
    if (this.phase === 'cancel') {
      this.outbox.emit('write', data);
      return;
    }
    if (this.phase === 'ready') {
      try {
        this.outbox.emit('write', this.results!.chunk(data));
      } catch (err) {
        return this.refuseProtocol(err);
      }
      if (endOfStream && !this.endedBy) this.endedBy = { outcome: 'completed', reason: 'the server closed the connection' };
      this.deliverPendingEnding();
      return;
    }
    if (this.phase !== 'upstream-auth') {
      // The server speaks before it was asked to (or after a refusal): nothing of it reaches the client.
      return;
    }
    let frames: Frame[];
    try {
      frames = this.serverFramer.push(data);
    } catch (err) {
      return this.refuseProtocol(err);
    }
    for (let i = 0; i < frames.length; i++) {
      const step = await this.upstreamLogin!.step(frames[i]!);
      if (step.kind === 'answer') {
        if (step.toServer) this.outbox.emit('read', step.toServer);
        continue;
      }
      if (step.kind === 'fail') {
        this.deps.logger.error({ target: this.deps.target, code: step.code, detail: step.operatorDetail }, 'the gateway could not log in to the PostgreSQL server');
        return this.endNow({ sqlstate: step.sqlstate, message: step.message, reason: 'upstream login failed', code: step.code, outcome: 'failed' });
      }
      // AuthenticationOk: from here the session is the client's.
      this.becomeReady();
      const rest = Buffer.concat(frames.slice(i).map((f) => f.bytes));
      const pendingTail = this.serverFramer.takePending();
      this.outbox.emit('write', this.results!.chunk(pendingTail ? Buffer.concat([rest, pendingTail]) : rest));
      return;
    }
  }

  private becomeReady(): void {
    const login = this.login!;
    const requested = this.requested!;
    const maskers = this.maskers;
    const context = maskers ? new ResultContext() : null;
    this.results = new ResultFlow({ log: this.log, maskers, context, maxMessageBytes: this.deps.settings.maxMessageBytes });
    const gate = new StatementGate(this.deps.authorizer, { ttlMs: this.deps.settings.statementCacheMs, maxEntries: 256 });
    this.client = new ClientFlow({
      gate, context, log: this.log, maskers,
      request: () => ({ ...this.loginRequest(), holdBudgetMs: this.deps.settings.holdBudgetMs }),
      maxStatementBytes: this.deps.settings.maxStatementBytes,
      onApproval: (approvalId, waitMs) => this.events.push({ at: this.now(), kind: 'approval', approvalId, waitMs }),
    });
    const minted = this.minted;
    const loginEvent: PgLoginEvent = {
      at: this.now(), kind: 'pg.login', user: requested.user, database: requested.database, upstreamUser: this.upstreamUser,
      ...(minted ? { sessionRole: { granted: [...minted.granted], validUntil: minted.validUntil } } : {}),
      ...(requested.passed.has('application_name') ? { applicationName: requested.passed.get('application_name')! } : {}),
    };
    this.events.push(loginEvent);
    this.phase = 'ready';
    this.deps.logger.info({
      target: this.deps.target, session_id: this.sessionId, subject: login.subject, user: requested.user, database: requested.database, upstream_user: this.upstreamUser,
      ...(minted ? { granted_roles: minted.granted } : {}),
    }, 'postgres session ready');
  }

  // ─── lifetime ───────────────────────────────────────────────────────────────

  /** The session ends at the token's exp (plus grace) and whenever a re-check of the login fails. */
  private scheduleLifetime(login: PgAllow): void {
    if (login.expiresAt !== undefined) {
      const ms = Math.max(0, login.expiresAt + this.deps.settings.expiryGraceMs - this.now());
      this.timers.push(setTimeout(() => this.endWhenSafe({
        sqlstate: '28000', code: 'ERR_TOKEN_EXPIRED', outcome: 'completed', reason: 'the token expired',
        message: `your token expired at ${new Date(login.expiresAt!).toISOString()}; the session is closed, connect again with a fresh token`,
      }), Math.min(ms, 2 ** 31 - 1)).unref());
    }
    if (this.deps.settings.recheckMs > 0) {
      const recheck = setInterval(() => void this.recheck(), this.deps.settings.recheckMs).unref();
      this.timers.push(recheck);
    }
  }

  private async recheck(): Promise<void> {
    if (this.phase !== 'ready' || this.ending) return;
    let verdict;
    try {
      verdict = await this.deps.authorizer.login(this.loginRequest());
    } catch (err) {
      // Only an authorizer that throws gets here (authz-client answers a failed call with a denial,
      // which ends the session below); the session keeps its last decision until exp.
      this.deps.logger.warn({ err: describeError(err), session_id: this.sessionId }, 'could not re-check a postgres session login');
      return;
    }
    if (verdict.allowed && this.minted && !sameRoles(verdict.grantedRoles, this.minted.granted)) {
      // The role was made with the old grant; a new one needs a new session.
      this.client?.forgetAllowed();
      return this.endWhenSafe({
        sqlstate: '28000', code: 'ERR_PG_ROLE_NOT_GRANTABLE', outcome: 'completed', reason: 'granted roles changed',
        message: 'the policy now grants other database roles; the session is closed, connect again',
      });
    }
    if (verdict.allowed) return;
    this.client?.forgetAllowed();
    this.endWhenSafe({
      sqlstate: verdict.sqlstate === '28P01' ? '28000' : verdict.sqlstate, code: verdict.code, outcome: 'completed', reason: 'access revoked',
      message: `access to this database was revoked (${verdict.message}); the session is closed`,
    });
  }

  /** Ends at the next message boundary toward the client (never inside a message already under way). */
  private endWhenSafe(ending: Ending): void {
    if (this.phase === 'closed' || this.ending) return;
    this.ending = ending;
    this.deliverPendingEnding();
  }

  private deliverPendingEnding(): void {
    if (!this.ending || this.phase === 'closed') return;
    if (this.results && !this.results.atBoundary) return;
    this.endNow(this.ending);
  }

  private endNow(ending: Ending): void {
    if (this.phase === 'closed') return;
    this.endedBy = { outcome: ending.outcome, reason: ending.reason, code: ending.code };
    this.outbox.emit('write', encodeErrorResponse({ severity: 'FATAL', sqlstate: ending.sqlstate, message: ending.message }));
    if (this.phase === 'ready' || this.phase === 'upstream-auth') this.outbox.emit('read', encodeTerminate());
    this.phase = 'closed';
    this.outbox.close();
    this.clearTimers();
    this.releaseRole(ending.reason);
  }

  private refuseLogin(sqlstate: string, message: string, code: string): void {
    this.endedBy = { outcome: 'refused', reason: message, code };
    this.outbox.emit('write', encodeErrorResponse({ severity: 'FATAL', sqlstate, message }));
    this.phase = 'closed';
    this.outbox.close();
    this.clearTimers();
    this.releaseRole(message);
  }

  private refuseProtocol(err: unknown): void {
    if (isSluiceError(err) && err.code === 'ERR_PG_RESULT_UNMASKABLE') {
      // A result the profile could apply to but the gateway cannot read: the session ends before a row of it passes.
      this.deps.logger.error({ target: this.deps.target, session_id: this.sessionId, detail: err.message }, 'a result cannot be masked; ending the postgres session');
      return this.endNow({ sqlstate: '0A000', message: 'a result of this statement cannot be masked by the gateway (binary format); use text format', reason: 'result cannot be masked', code: 'ERR_PG_RESULT_UNMASKABLE', outcome: 'failed' });
    }
    const code = err instanceof PgProtocolError ? err.code : 'ERR_PG_PROTOCOL_VIOLATION';
    this.deps.logger.warn({ target: this.deps.target, session_id: this.sessionId, code, detail: err instanceof Error ? err.message : String(err) }, 'postgres protocol violation; closing the connection');
    const sqlstate = code === 'ERR_PG_MESSAGE_TOO_LARGE' ? '54000' : '08P01';
    const message = code === 'ERR_PG_MESSAGE_TOO_LARGE' ? 'a message is larger than the gateway accepts' : `protocol violation: ${err instanceof Error ? err.message : 'invalid message'}`;
    if (this.phase === 'ready' || this.phase === 'upstream-auth') {
      this.endNow({ sqlstate, message, reason: 'protocol violation', code, outcome: 'failed' });
    } else {
      this.refuseLogin(sqlstate, message, code);
    }
  }

  private isClosed(): boolean {
    return this.phase === 'closed';
  }

  private clearTimers(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers = [];
  }

  // ─── the record ─────────────────────────────────────────────────────────────

  private writeRecord(): void {
    if (this.recorded) return;
    this.recorded = true;
    this.log.cut();
    const requested = this.requested;
    const login = this.login;
    const denied = this.loginDenied;
    const ended = this.endedBy ?? { outcome: 'incomplete' as const, reason: 'unknown' };
    const { events: statements, dropped } = this.log.events();
    const endAt = this.now();
    const events: SessionEvent[] = [...this.events, ...statements].sort((a, b) => a.at - b.at);
    if (dropped > 0) events.push({ at: endAt, kind: 'error', code: 'ERR_PG_RECORD_CAPPED', reason: `${dropped} more statements ran; the record keeps the first ${statements.length}` });
    events.push(ended.outcome === 'completed' ? { at: endAt, kind: 'end', reason: ended.reason } : { at: endAt, kind: 'error', ...(ended.code ? { code: ended.code } : {}), reason: ended.reason });
    const who = requested ? `${requested.user}@${requested.database}` : 'no startup';
    const record: SessionRecord = {
      version: 2,
      id: this.sessionId,
      requestId: this.sessionId,
      protocol: 'postgres',
      subject: login?.subject ?? denied?.subject ?? '',
      issuer: login?.issuer ?? denied?.issuer ?? '',
      target: this.deps.target,
      rule: login?.rule ?? '',
      decision: login ? 'allow' : 'deny',
      startedAt: login?.startedAt !== undefined ? Math.min(login.startedAt, this.startedAt) : this.startedAt,
      endedAt: Math.max(endAt, this.startedAt),
      outcome: ended.outcome,
      summary: login ? `${who}: ${this.log.count} statement${this.log.count === 1 ? '' : 's'}, ${ended.reason}` : `${who}: login refused (${ended.code ?? ended.reason})`,
      events,
      ...(this.maskers ? { masking: { profile: this.maskers.profile, request: { masked: {}, delivered: true, recordedTruncated: false }, response: { masked: this.maskers.matches(), delivered: true, recordedTruncated: false } } } : {}),
      ...(this.secret ? { credential: { target: this.deps.target, kind: 'secret' as const, secret: this.secret } } : {}),
    };
    try {
      this.deps.record(record);
    } catch (err) {
      this.deps.logger.error({ err: describeError(err), session_id: this.sessionId }, 'could not queue the postgres session record');
    }
  }
}
