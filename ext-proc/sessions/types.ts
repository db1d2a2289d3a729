/**
 * Session recording: one record per session that went through Sluice (today one HTTP exchange
 * through ext-proc; later a PostgreSQL or Redis connection), kept for audit and replay. The
 * shapes below are shared by the stores (file, PostgreSQL), the recording queue and
 * `sluice sessions`. All times are milliseconds since the epoch.
 *
 * A record is an envelope (who, what, when, how it ended) plus the ordered events of the session.
 * Records written before version 2 were HTTP-shaped; upgradeRecord() (upgrade-record.ts) turns
 * them into this shape when a store reads them.
 */

import type { MaskingReport } from '../masking/types.ts';

/**
 * A captured body: at most the capture cap, as UTF-8 `text` when the stored bytes are valid UTF-8
 * without NUL, otherwise as `base64`. `bytes` is the size of the whole body as seen on the wire,
 * which is larger than what is stored when `truncated` is true.
 */
export type CapturedBody = { text: string; bytes: number; truncated: boolean } | { base64: string; bytes: number; truncated: boolean };

export type SessionProtocol = 'http' | 'postgres' | 'redis';

/**
 * What the caller really got: `completed` normally; `failed` when the session ran but broke in a
 * way the protocol reported (a database session whose connection died after statements ran);
 * `refused` when the gateway answered in place of the upstream (e.g. ERR_BODY_REFUSED), the
 * code in the last `error` event; `incomplete` when the session was cut (reset, cancel, an
 * upstream that died mid-body).
 */
export type SessionOutcome = 'completed' | 'failed' | 'refused' | 'incomplete';

export const SESSION_PROTOCOLS: readonly SessionProtocol[] = ['http', 'postgres', 'redis'];
export const SESSION_OUTCOMES: readonly SessionOutcome[] = ['completed', 'failed', 'refused', 'incomplete'];

/**
 * Header name → value, in wire order. The caller redacts credentials; the store redacts them again
 * (authorization, cookie, set-cookie, proxy-authorization, x-api-key and the configured names).
 */
export type RecordedHeaders = Record<string, string>;

/** The request as the upstream got it (masked as delivered); its body is attached when the exchange ends. */
export interface HttpRequestEvent {
  at: number;
  kind: 'http.request';
  method: string;
  path: string;
  headers: RecordedHeaders;
  body: CapturedBody;
}

/**
 * The response as the caller got it: the upstream's, or the gateway's own when it refused. `status`
 * is absent only in records upgraded from version 1 whose exchange was cut after the response
 * began (version 1 did not keep the status of a cut exchange).
 */
export interface HttpResponseEvent {
  at: number;
  kind: 'http.response';
  status?: number;
  headers: RecordedHeaders;
  body: CapturedBody;
}

/** Body bytes passing in one direction: one event per chunk, merged past a cap (see ExchangeRecording). */
export interface BodyEvent {
  at: number;
  kind: 'body';
  direction: 'request' | 'response';
  bytes: number;
}

/** The session ended normally. */
export interface EndEvent {
  at: number;
  kind: 'end';
  reason?: string;
}

/** The session ended badly: cut (outcome incomplete), failed, or refused (the stable `code`, e.g. ERR_BODY_REFUSED). */
export interface ErrorEvent {
  at: number;
  kind: 'error';
  code?: string;
  reason?: string;
}

/**
 * The session waited for a just-in-time approval before it reached the upstream: `at` is when the
 * wait ended, `waitMs` how long the caller was held (0 when a standing grant let it through).
 */
export interface ApprovalEvent {
  at: number;
  kind: 'approval';
  approvalId: string;
  waitMs: number;
}

/** A database login: what the client asked for, and who the gateway logged in as upstream. */
export interface PgLoginEvent {
  at: number;
  kind: 'pg.login';
  /** The db user and database in the client's StartupMessage. */
  user: string;
  database: string;
  /** The db user the gateway logged in as (the credential's, or a per-session role). */
  upstreamUser: string;
  applicationName?: string;
  /** The upstream user is a role minted for this session (postgres.sessionRoles): what it was granted, until when it could log in (epoch ms). */
  sessionRole?: { granted: string[]; validUntil: number };
}

/**
 * One statement of a database session: `at` is when the client sent it. The text is what the
 * client sent (masked by the session's profile, capped), `params` the bound parameters of an
 * extended-protocol execution (masked the same way). `outcome`: `ok` (it ran), `error` (the
 * server reported an error), `refused` (the gateway refused it: `code`, and the server was made to
 * raise the refusal), `skipped` (an earlier error in its pipeline made the server skip it), `cut`
 * (the session ended before it completed).
 */
export interface PgStatementEvent {
  at: number;
  kind: 'pg.statement';
  protocol: 'simple' | 'extended';
  text: string;
  /** The text was longer than the record keeps. */
  truncated?: boolean;
  params?: string[];
  /** What ext-authz read in it: one entry per statement in the text. */
  statements?: { class: string; command: string; tables: string[] }[];
  outcome: 'ok' | 'error' | 'refused' | 'skipped' | 'cut';
  durationMs: number;
  /** Rows returned or affected (from the server's command tags). */
  rows?: number;
  /** The server's command tag(s), e.g. "SELECT 3". */
  tag?: string;
  /** The server's ErrorResponse (message masked like the text); for `refused`, the refusal the gateway made it raise. */
  error?: { sqlstate: string; message: string };
  code?: string;
  approvalId?: string;
  /** Result values the masking profile changed (for COPY … TO STDOUT: rows changed). */
  masked?: number;
}

/** A Redis login on the connection (AUTH or HELLO … AUTH): who, and whether the gateway let it in. */
export interface RedisLoginEvent {
  at: number;
  kind: 'redis.login';
  subject?: string;
  issuer?: string;
  outcome: 'ok' | 'refused';
  code?: string;
}

/**
 * One Redis command: `at` is when the client sent it. Key names as sent (capped); the other
 * arguments only as the target's masking profile shows them (absent without one); the reply's
 * size. `outcome`: `ok`, `error` (the server or Envoy answered with an error, `error` its first
 * line), `refused` (the gateway answered `code` and the command never left it), `cut` (the
 * connection ended before the reply).
 */
export interface RedisCommandEvent {
  at: number;
  kind: 'redis.command';
  command: string;
  keys: string[];
  /** Non-key arguments, masked by the session's profile; absent when it has none. */
  values?: string[];
  /** Arguments after the name. */
  args: number;
  bytes: number;
  /**
   * ok / error: how its reply ended (recording: commands+replies); sent: forwarded, its reply not
   * read (recording: commands); refused: by the gateway; cut: the connection ended before its reply.
   */
  outcome: 'ok' | 'error' | 'sent' | 'refused' | 'cut';
  replyBytes?: number;
  error?: string;
  code?: string;
  rule?: string;
  durationMs?: number;
}

/**
 * One step of a session, in order. A discriminated union on `kind`: a protocol adds its own
 * members (`pg.statement`, `redis.command`, …) next to the `http.*` ones, and every consumer's
 * `switch (event.kind)` shows at compile time where it must learn the new kind. `body`, `end` and
 * `error` are shared by every protocol.
 */
export type SessionEvent = ApprovalEvent | HttpRequestEvent | HttpResponseEvent | BodyEvent | EndEvent | ErrorEvent | PgLoginEvent | PgStatementEvent | RedisLoginEvent | RedisCommandEvent;
export type SessionEventKind = SessionEvent['kind'];

export interface SessionRecord {
  version: 2;
  /** The session id ext-authz minted (a UUID); unique per session. */
  id: string;
  /** Envoy's x-request-id. */
  requestId: string;
  protocol: SessionProtocol;
  subject: string;
  /** The issuer's configured name; issuer + subject is the identity. */
  issuer: string;
  target: string;
  /** `policy/rule` that decided. */
  rule: string;
  decision: 'allow' | 'deny';
  /** When the caller's request reached the gateway (ext-authz's check), so any approval wait is inside the session. */
  startedAt: number;
  endedAt: number;
  outcome: SessionOutcome;
  /** One line for lists, e.g. "GET /api/x → 200". */
  summary: string;
  /** In the order they happened; the last is `end` or `error` for a session that has ended. */
  events: SessionEvent[];
  /**
   * Which credential the gateway injected: absent when the target has none (or the record predates
   * this field). Names and versions only, never a value.
   */
  credential?: RecordedCredential;
  /** What was masked, per direction; absent when the session had no masking profile in play (or predates this field). */
  masking?: MaskingSummary;
}

/**
 * A secret as an audit record names it: its name in the secret stores and its version, `v1:` and
 * 16 hex digits of a keyed hash under the gateway's version key (secrets/secret-versions.ts), so
 * two records with the same version used the same value and a rotation shows as a new version,
 * while nothing about the value can be guessed from it.
 */
export interface SecretRef {
  name: string;
  version: string;
}

/**
 * The credential of one session, named when the exchange's plan resolved it (once per exchange).
 * `secret`: the named secret was injected. `oauth2`: a token minted with client credentials was
 * injected; the record names the client and the version of its client secret, plus the token's
 * expiry (when the token endpoint gave `expires_in`) and `jti` (when the token is a JWT carrying
 * one) — never the token. Database sessions (postgres, redis) carry this same field when they
 * land: `kind` then grows a member for the db user or per-session role, next to these.
 */
export interface RecordedCredential {
  /** The credential entry: the target it belongs to. */
  target: string;
  kind: 'secret' | 'oauth2';
  /** For kind `secret`. */
  secret?: SecretRef;
  /** For kind `oauth2`. */
  oauth2?: { clientId: string; clientSecret: SecretRef; expiresAt?: number; jti?: string };
}

/** What was masked in one direction's body. */
export interface DirectionMasking {
  /** Counts only, never the values. */
  masked: MaskingReport;
  /**
   * True when the counts are of what the peer received: the body was masked on its way (the
   * delivery masker). False when the body passed to the peer unmasked and only the record's copy
   * was masked (a request body under a profile without `requestBodies`): the counts then say what
   * the record hides, not what the peer was spared — and stop where the copy stopped (once the
   * recorded body was full).
   */
  delivered: boolean;
  /** The recorded body was cut at the capture cap (or not kept at all, maxBodyBytes 0). */
  recordedTruncated: boolean;
  /**
   * Values masked in this direction's recorded headers (and, for the request, its path, the
   * `:path` header), counted like `masked`. Always the record's copy only: headers reach the peer
   * as they were sent, whatever `delivered` says of the body. Absent when none was masked.
   */
  headers?: MaskingReport;
}

/**
 * The masking report of a session: the profile in force and, per direction, how many values each
 * entry masked. Present whether or not the bodies themselves are kept, so "which sessions carried
 * card numbers" is answerable with maxBodyBytes 0. Database sessions carry this same field (their
 * masked result rows count as `response`).
 */
export interface MaskingSummary {
  /** The masking profile's name; null when there was none (nothing was masked). */
  profile: string | null;
  request: DirectionMasking;
  response: DirectionMasking;
}

export interface SessionFilter {
  subject?: string;
  target?: string;
  protocol?: SessionProtocol;
  outcome?: SessionOutcome;
  /** Sessions that started at or after this time. */
  from?: number;
  /** Sessions that started before this time. */
  to?: number;
  /** Sessions whose credential is this secret: `credential.secret.name` or `credential.oauth2.clientSecret.name`. */
  credential?: string;
  /** With or without `credential`: sessions whose credential's secret has this version. */
  version?: string;
  /** Sessions where this recognizer id or custom pattern name masked at least one value (either direction, delivered or not). */
  masked?: string;
  /** Sessions this rule let in: `policy/rule` exactly, or `policy/*` for any rule of the policy. */
  rule?: string;
  /** true: sessions that waited for a just-in-time approval (decision-keys.ts); false: those that did not. */
  approval?: boolean;
  /** true: sessions where the gateway refused at least one database statement; false: none refused. */
  refusals?: boolean;
  /** Page size, 1..1000 (default 50). */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface SessionPage {
  /** Newest first (by startedAt, then id). */
  records: SessionRecord[];
  /** Present when there may be more: pass it back as `cursor` for the next page. */
  nextCursor?: string;
}

export interface AppendProgress {
  written?: () => void;
}

/**
 * Where records go. `append` is idempotent on the id (the first write wins), so a retry after an
 * unclear failure never duplicates a session. Every failure to reach the backing store is
 * ERR_SESSION_STORE_UNAVAILABLE; a malformed record or query is ERR_SESSION_INVALID. Stores read
 * records of every version and hand back version 2.
 */
export interface SessionStore {
  /**
   * Resolves once the record is stored as durably as the store promises (fsync, commit).
   * `written`, when given, is called as soon as the record has left this process (written to the
   * operating system, or committed): a crash of the process can no longer lose it. Stores that
   * have no earlier point simply never call it; the queue calls it on resolve.
   */
  append(record: SessionRecord, progress?: AppendProgress): Promise<void>;
  get(id: string): Promise<SessionRecord | undefined>;
  list(filter?: SessionFilter): Promise<SessionPage>;
  close(): Promise<void>;
}
