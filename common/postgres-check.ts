import { fromProtoStruct, toProtoStruct, type ProtoStruct } from './struct.ts';

/*
 * The PostgreSQL check, as ext-proc's network processor and ext-authz speak it: the processor
 * calls ext-authz's `envoy.service.auth.v3.Authorization/Check` with a synthetic CheckRequest (one
 * per login, one per statement) and reads the verdict from the CheckResponse. Written and read only
 * here, so the two services cannot drift apart; common/postgres-check.test.ts round-trips both
 * directions.
 *
 * Request: `attributes.context_extensions` carries the check (keys below), the token travels as
 * `authorization: Bearer <token>` in `attributes.request.http.headers` (so token reading and the
 * size limit are the HTTP ones), the statement text as `attributes.request.http.body`, the
 * client's address as `attributes.source.address.socket_address.address`.
 *
 * Response: `status.code` 0 allows, 16 refuses the token, 7 refuses anything else; the details are
 * in `dynamic_metadata` (a google.protobuf.Struct), see PostgresCheckResult.
 */

export const PG_CONTEXT = Object.freeze({
  protocol: 'sluice_protocol',
  target: 'sluice_target',
  phase: 'sluice_pg_phase',
  user: 'sluice_pg_user',
  database: 'sluice_pg_database',
  sessionId: 'sluice_session_id',
  holdBudgetMs: 'sluice_hold_budget_ms',
  statementKind: 'sluice_pg_statement_kind',
});

/** Value of `sluice_protocol` that marks a CheckRequest as a PostgreSQL check. */
export const POSTGRES_PROTOCOL = 'postgres';

/** `login`: the startup message (before any statement); `statement`: one Query or Parse message. */
export type PostgresPhase = 'login' | 'statement';
export const POSTGRES_PHASES: readonly PostgresPhase[] = ['login', 'statement'];
/** `simple`: a Query message (may hold several statements); `parse`: an extended-protocol Parse. */
export type StatementKind = 'simple' | 'parse';
export const STATEMENT_KINDS: readonly StatementKind[] = ['simple', 'parse'];

/**
 * What a statement does, from least to most powerful (the order is the rank used when a statement
 * does several things: a SELECT with a DELETE in a CTE is a write).
 */
export const STATEMENT_CLASSES = ['session', 'read', 'write', 'ddl', 'admin'] as const;
export type StatementClass = (typeof STATEMENT_CLASSES)[number];

/** One statement of a checked text, as the analysis sees it. */
export interface StatementSummary {
  class: StatementClass;
  /** Upper-case command name: 'SELECT', 'INSERT', 'CREATE TABLE', 'SET', ... */
  command: string;
  /** Tables the statement names, as written ('public.users' or 'users'); CTE names are not tables. */
  tables: string[];
}

export interface PostgresCheckInput {
  phase: PostgresPhase;
  target: string;
  user: string;
  database: string;
  /** The caller's token (from the startup message's password). Sent as a bearer header, never logged. */
  token: string;
  sessionId: string;
  sourceAddress?: string;
  /** Statement phase only. */
  statement?: { text: string; kind: StatementKind };
  /** How long the processor will wait for this check (ms): an approval hold never outlasts it; 0 = no hold. */
  holdBudgetMs: number;
}

/** The synthetic CheckRequest, in the shape @grpc/proto-loader encodes (keepCase). */
export interface PostgresCheckRequestMessage {
  attributes: {
    source?: { address: { socket_address: { address: string } } };
    request: { http: { headers: Record<string, string>; body?: string } };
    context_extensions: Record<string, string>;
  };
}

export function encodePostgresCheckRequest(input: PostgresCheckInput): PostgresCheckRequestMessage {
  const context: Record<string, string> = {
    [PG_CONTEXT.protocol]: POSTGRES_PROTOCOL,
    [PG_CONTEXT.target]: input.target,
    [PG_CONTEXT.phase]: input.phase,
    [PG_CONTEXT.user]: input.user,
    [PG_CONTEXT.database]: input.database,
    [PG_CONTEXT.sessionId]: input.sessionId,
    [PG_CONTEXT.holdBudgetMs]: String(Math.max(0, Math.floor(input.holdBudgetMs))),
  };
  const http: PostgresCheckRequestMessage['attributes']['request']['http'] = { headers: { authorization: `Bearer ${input.token}` } };
  if (input.phase === 'statement') {
    context[PG_CONTEXT.statementKind] = input.statement?.kind ?? 'simple';
    http.body = input.statement?.text ?? '';
  }
  return {
    attributes: {
      ...(input.sourceAddress ? { source: { address: { socket_address: { address: input.sourceAddress } } } } : {}),
      request: { http },
      context_extensions: context,
    },
  };
}

/** A CheckRequest as ext-authz receives it (only the fields this contract uses). */
export interface ReceivedCheckRequest {
  attributes?: {
    source?: { address?: { socket_address?: { address?: string } } } | null;
    request?: { http?: { headers?: Record<string, string>; body?: string } | null } | null;
    context_extensions?: Record<string, string>;
  } | null;
}

/** The check as ext-authz reads it back; `problem` says why it cannot be decided as sent. */
export interface ReceivedPostgresCheck {
  target: string | undefined;
  phase: PostgresPhase;
  user: string;
  database: string;
  sessionId: string;
  authorization: string | undefined;
  sourceAddress: string | undefined;
  statement: { text: string; kind: StatementKind } | null;
  holdBudgetMs: number;
  problem: string | null;
}

export function isPostgresCheckRequest(request: ReceivedCheckRequest): boolean {
  return request.attributes?.context_extensions?.[PG_CONTEXT.protocol] === POSTGRES_PROTOCOL;
}

/** Reads a PostgreSQL CheckRequest. Never throws: a malformed one comes back with a `problem`. */
export function readPostgresCheckRequest(request: ReceivedCheckRequest): ReceivedPostgresCheck {
  const attributes = request.attributes ?? {};
  const context = attributes.context_extensions ?? {};
  const http = attributes.request?.http ?? {};
  const field = (key: string) => (Object.hasOwn(context, key) ? context[key]! : '');
  const rawPhase = field(PG_CONTEXT.phase);
  const phase = POSTGRES_PHASES.find((p) => p === rawPhase);
  const rawKind = field(PG_CONTEXT.statementKind) || 'simple';
  const kind = STATEMENT_KINDS.find((k) => k === rawKind);
  const budget = Number(field(PG_CONTEXT.holdBudgetMs));
  let problem: string | null = null;
  if (phase === undefined) problem = `unknown ${PG_CONTEXT.phase} "${rawPhase.slice(0, 32)}"`;
  else if (field(PG_CONTEXT.user) === '') problem = `${PG_CONTEXT.user} is missing`;
  else if (field(PG_CONTEXT.database) === '') problem = `${PG_CONTEXT.database} is missing`;
  else if (phase === 'statement' && kind === undefined) problem = `unknown ${PG_CONTEXT.statementKind} "${rawKind.slice(0, 32)}"`;
  return {
    target: field(PG_CONTEXT.target) || undefined,
    phase: phase ?? 'login',
    user: field(PG_CONTEXT.user),
    database: field(PG_CONTEXT.database),
    sessionId: field(PG_CONTEXT.sessionId),
    authorization: http.headers?.authorization,
    sourceAddress: attributes.source?.address?.socket_address?.address || undefined,
    statement: phase === 'statement' ? { text: http.body ?? '', kind: kind ?? 'simple' } : null,
    holdBudgetMs: Number.isFinite(budget) && budget > 0 ? budget : 0,
    problem,
  };
}

/** The verdict the processor acts on. */
export type PostgresCheckResult = PostgresAllow | PostgresDeny;

export interface PostgresAllow {
  allowed: true;
  subject: string;
  /** The issuer's configured name. */
  issuer: string;
  groups: string[];
  /** `policy/rule` that allowed it (`policy/database` for a login). */
  rule: string;
  /** Masking profile for the results, or null for ext-proc's default. */
  masking: string | null;
  /** When the token expires (epoch ms): the processor ends the session then. */
  expiresAt?: number;
  approvalId: string | null;
  approvalWaitMs?: number;
  /** When ext-authz began the check (epoch ms). */
  startedAt?: number;
  /** Statement phase: each statement of the text, in order. */
  statement?: StatementSummary[];
  /**
   * Statement phase: `shape` when the decision depended only on the statement's shape (its
   * classes, commands, tables and functions), not on its constants: no content guardrail reads
   * the text for this target and no approval was involved. The processor may then reuse the
   * verdict for statements of the same shape (same libpg_query fingerprint) in this session.
   */
  reuse?: 'shape';
  /**
   * Login phase: the database roles the policy grants this identity (its `database.grant`), for a
   * target that mints a role per session. Written as version 2 of the metadata, so a processor that
   * predates session roles refuses the login (unknown version) instead of ignoring the grant.
   */
  grantedRoles?: string[];
}

export interface PostgresDeny {
  allowed: false;
  /** Stable ERR_ code (docs/errors.md). */
  code: string;
  /** SQLSTATE for the ErrorResponse the processor sends the client. */
  sqlstate: string;
  /** Safe to show the client: never a token, never internal detail. */
  message: string;
  subject?: string;
  issuer?: string;
  approvalId?: string;
}

/** gRPC codes in CheckResponse.status (google.rpc.Code). */
export const PG_RPC_OK = 0;
export const PG_RPC_PERMISSION_DENIED = 7;
export const PG_RPC_UNAUTHENTICATED = 16;

/**
 * What the processor does with an answer it cannot read: deny, as a connection failure (class 08).
 * The gateway's own link is broken, and an authorizer whose answers cannot be read cannot be
 * trusted with the session's next statement either, so the processor ends the session.
 */
export const INVALID_CHECK_CODE = 'ERR_DB_CHECK_INVALID';
export const INVALID_CHECK_SQLSTATE = '08006';

/** Wire version of the metadata; a reader refuses any other. */
export const PG_CHECK_VERSION = 1;
/** The version of an allow that carries granted roles (`db_roles`); everything else stays version 1. */
export const PG_CHECK_VERSION_ROLES = 2;
/** A granted role name on the wire: what sluice.yaml's grantable list accepts (lower-case, ≤ 63). */
const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
/** More granted roles than this in one verdict is malformed, not a policy. */
const MAX_GRANTED_ROLES = 64;

/** SQLSTATE: five digits or upper-case letters. */
const SQLSTATE = /^[0-9A-Z]{5}$/;
const ERROR_CODE = /^ERR_[A-Z0-9_]+$/;
/** What a message shown to a database client may hold at most. */
const MAX_MESSAGE_CHARS = 1000;

export interface PostgresCheckResponseMessage {
  status: { code: number; message: string };
  dynamic_metadata: ProtoStruct;
}

/**
 * The verdict as a CheckResponse. `unauthenticated` (the deny is about the token) picks status 16;
 * every other deny is 7. Field names are snake_case on the wire.
 */
export function encodePostgresCheckResponse(result: PostgresCheckResult, options: { unauthenticated?: boolean } = {}): PostgresCheckResponseMessage {
  if (result.allowed) {
    return {
      status: { code: PG_RPC_OK, message: '' },
      dynamic_metadata: toProtoStruct({
        v: result.grantedRoles === undefined ? PG_CHECK_VERSION : PG_CHECK_VERSION_ROLES,
        protocol: POSTGRES_PROTOCOL,
        decision: 'allow',
        subject: result.subject,
        issuer: result.issuer,
        groups: [...result.groups],
        rule: result.rule,
        masking: result.masking,
        expires_at: result.expiresAt,
        approval_id: result.approvalId,
        approval_wait_ms: result.approvalWaitMs,
        started_at: result.startedAt,
        statements: result.statement?.map((s) => ({ class: s.class, command: s.command, tables: [...s.tables] })),
        reuse: result.reuse,
        db_roles: result.grantedRoles === undefined ? undefined : [...result.grantedRoles],
      }),
    };
  }
  return {
    status: { code: options.unauthenticated ? PG_RPC_UNAUTHENTICATED : PG_RPC_PERMISSION_DENIED, message: result.code },
    dynamic_metadata: toProtoStruct({
      v: PG_CHECK_VERSION,
      protocol: POSTGRES_PROTOCOL,
      decision: 'deny',
      code: result.code,
      sqlstate: result.sqlstate,
      message: result.message,
      subject: result.subject,
      issuer: result.issuer,
      approval_id: result.approvalId,
    }),
  };
}

/** A CheckResponse as the processor's gRPC client decodes it (oneofs: true), or a plain encoded one. */
export interface ReceivedCheckResponse {
  status?: { code?: number | string } | null;
  dynamic_metadata?: { fields?: Record<string, Record<string, unknown>> } | null;
}

/**
 * The processor's reading of a CheckResponse. Fails closed: a missing status or metadata, another
 * version or protocol, a status that disagrees with the decision, or a missing or mistyped field
 * reads as a denial with ERR_DB_CHECK_INVALID (SQLSTATE 08006).
 */
export function decodePostgresCheckResponse(response: ReceivedCheckResponse | null | undefined): PostgresCheckResult {
  const invalid = (why: string): PostgresDeny => ({
    allowed: false, code: INVALID_CHECK_CODE, sqlstate: INVALID_CHECK_SQLSTATE,
    message: `the gateway's authorization answer could not be read (${why})`,
  });
  if (response === null || typeof response !== 'object') return invalid('no response');
  const status = Number(response.status?.code);
  if (!Number.isInteger(status)) return invalid('no status');
  const d = fromProtoStruct(response.dynamic_metadata ?? undefined);
  if ((d.v !== PG_CHECK_VERSION && d.v !== PG_CHECK_VERSION_ROLES) || d.protocol !== POSTGRES_PROTOCOL) return invalid('unknown version or protocol');
  // Roles come only in version 2 and only on an allow; any other mix is a shape this reader does not know.
  if ((d.v === PG_CHECK_VERSION_ROLES) !== (d.db_roles !== undefined) || (d.v === PG_CHECK_VERSION_ROLES && status !== PG_RPC_OK)) return invalid('granted roles in an unexpected shape');
  const text = (key: string): string | undefined => (typeof d[key] === 'string' ? d[key] : undefined);
  const time = (key: string): number | undefined => (typeof d[key] === 'number' && Number.isFinite(d[key]) && d[key] >= 0 ? d[key] : undefined);

  if (status === PG_RPC_OK) {
    if (d.decision !== 'allow') return invalid('status OK without an allow decision');
    const subject = text('subject');
    const issuer = text('issuer');
    const rule = text('rule');
    if (!subject || issuer === undefined || rule === undefined) return invalid('allow without subject, issuer or rule');
    if (!Array.isArray(d.groups) || !d.groups.every((g) => typeof g === 'string')) return invalid('groups are not a list of strings');
    if (d.masking !== null && typeof d.masking !== 'string') return invalid('masking is neither a name nor null');
    if (d.approval_id !== null && typeof d.approval_id !== 'string') return invalid('approval_id is neither an id nor null');
    let statements: StatementSummary[] | undefined;
    if (d.statements !== undefined) {
      statements = readStatements(d.statements);
      if (statements === undefined) return invalid('statements are malformed');
    }
    let grantedRoles: string[] | undefined;
    if (d.db_roles !== undefined) {
      const roles = d.db_roles;
      if (!Array.isArray(roles) || roles.length > MAX_GRANTED_ROLES || !roles.every((r) => typeof r === 'string' && ROLE_NAME.test(r))) return invalid('granted roles are malformed');
      grantedRoles = [...new Set(roles as string[])];
    }
    const expiresAt = time('expires_at');
    const approvalWaitMs = time('approval_wait_ms');
    const startedAt = time('started_at');
    return {
      allowed: true,
      subject,
      issuer,
      groups: d.groups as string[],
      rule,
      masking: (d.masking as string | null) || null,
      ...(expiresAt === undefined ? {} : { expiresAt }),
      approvalId: (d.approval_id as string | null) || null,
      ...(approvalWaitMs === undefined ? {} : { approvalWaitMs }),
      ...(startedAt === undefined ? {} : { startedAt }),
      ...(statements === undefined ? {} : { statement: statements }),
      ...(d.reuse === 'shape' ? { reuse: 'shape' as const } : {}),
      ...(grantedRoles === undefined ? {} : { grantedRoles }),
    };
  }

  if (d.decision !== 'deny') return invalid('a refusal without a deny decision');
  const code = text('code');
  const sqlstate = text('sqlstate');
  const message = text('message');
  if (code === undefined || !ERROR_CODE.test(code) || sqlstate === undefined || !SQLSTATE.test(sqlstate) || message === undefined) {
    return invalid('deny without a code, SQLSTATE or message');
  }
  const subject = text('subject');
  const issuer = text('issuer');
  const approvalId = text('approval_id');
  return {
    allowed: false,
    code,
    sqlstate,
    // It goes into the client's ErrorResponse: no control characters, bounded.
    message: message.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, MAX_MESSAGE_CHARS),
    ...(subject ? { subject } : {}),
    ...(issuer ? { issuer } : {}),
    ...(approvalId ? { approvalId } : {}),
  };
}

function readStatements(value: unknown): StatementSummary[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const out: StatementSummary[] = [];
  for (const item of value) {
    if (item === null || typeof item !== 'object') return undefined;
    const s = item as Record<string, unknown>;
    const cls = STATEMENT_CLASSES.find((c) => c === s.class);
    if (cls === undefined || typeof s.command !== 'string') return undefined;
    if (!Array.isArray(s.tables) || !s.tables.every((t) => typeof t === 'string')) return undefined;
    out.push({ class: cls, command: s.command, tables: s.tables as string[] });
  }
  return out;
}
