/**
 * Session recording: one record per HTTP exchange that went through ext-proc, kept for audit and
 * replay. The shapes below are shared by the stores (file, PostgreSQL), the recording queue and
 * `sluice sessions`. All times are milliseconds since the epoch; durations are milliseconds.
 */

/**
 * A captured body: at most the capture cap, as UTF-8 `text` when the stored bytes are valid UTF-8
 * without NUL, otherwise as `base64`. `bytes` is the size of the whole body as seen on the wire,
 * which is larger than what is stored when `truncated` is true.
 */
export type CapturedBody = { text: string; bytes: number; truncated: boolean } | { base64: string; bytes: number; truncated: boolean };

export interface RecordedMessage {
  /**
   * Header name → value. The caller redacts credentials; the store redacts them again
   * (authorization, cookie, set-cookie, proxy-authorization, x-api-key and the configured names).
   */
  headers: Record<string, string>;
  body: CapturedBody;
}

export interface SessionTimings {
  /** Time spent in the request-headers phase (ext-authz decision, ext-proc work). */
  requestHeadersMs?: number;
  /** From the request leaving Envoy to the upstream's response headers. */
  upstreamMs?: number;
  totalMs: number;
}

/** One step of the exchange as ext-proc saw it, in order, so a replay shows what happened when. */
export interface SessionEvent {
  at: number;
  direction: 'request' | 'response';
  kind: 'headers' | 'body' | 'end' | 'error';
  /** Size of a body chunk (kind `body`). */
  bytes?: number;
}

export interface SessionRecord {
  /** The session id ext-authz minted (a UUID); unique per exchange. */
  id: string;
  /** Envoy's x-request-id. */
  requestId: string;
  subject: string;
  /** The issuer's configured name; issuer + subject is the identity. */
  issuer: string;
  target: string;
  /** `policy/rule` that decided. */
  rule: string;
  decision: 'allow' | 'deny';
  method: string;
  path: string;
  /** The HTTP status returned to the caller, or null when there was no response (reset, error). */
  status: number | null;
  startedAt: number;
  endedAt: number;
  timings: SessionTimings;
  request: RecordedMessage;
  response: RecordedMessage;
  events?: SessionEvent[];
}

export interface SessionFilter {
  subject?: string;
  target?: string;
  /** Sessions that started at or after this time. */
  from?: number;
  /** Sessions that started before this time. */
  to?: number;
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

/**
 * Where records go. `append` is idempotent on the id (the first write wins), so a retry after an
 * unclear failure never duplicates a session. Every failure to reach the backing store is
 * ERR_SESSION_STORE_UNAVAILABLE; a malformed record or query is ERR_SESSION_INVALID.
 */
export interface SessionStore {
  append(record: SessionRecord): Promise<void>;
  get(id: string): Promise<SessionRecord | undefined>;
  list(filter?: SessionFilter): Promise<SessionPage>;
  close(): Promise<void>;
}
