import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import { chainKey, type ChainKey } from './chain.ts';
import type { ChainSource } from './chain-verify.ts';
import { PgChainWriter } from './postgres-chain-writer.ts';
import { postgresChainSource, purgePostgres, type PgChainContext } from './postgres-chain.ts';
import { storeError, unavailable } from './postgres-errors.ts';
import type { PurgeOptions, PurgeReport } from './purge.ts';
import { describeError } from '../../common/errors.ts';
import { createLogger, type Logger } from '../../common/logger.ts';
import { invalidOptions, SessionError } from './errors.ts';
import { encodeCursor, listQuery } from './list-query.ts';
import { loadMigrations, migrate, quoteIdent, SQL_NAME } from './migrate.ts';
import { isSessionId, prepareRecord, recordPolicy, type RecordPolicy, type RecordPolicyOptions } from './prepare-record.ts';
import { httpRequestOf, httpResponseOf } from './http-events.ts';
import { auditKeys } from './audit-fields.ts';
import type { CapturedBody, MaskingSummary, RecordedCredential, SessionEvent, SessionFilter, SessionOutcome, SessionPage, SessionProtocol, SessionRecord, SessionStore } from './types.ts';
import { upgradeRecord, type SessionRecordV1 } from './upgrade-record.ts';

export interface PostgresSessionStoreOptions extends RecordPolicyOptions {
  /** postgres:// URL (may carry a password; it is never logged). */
  connectionString: string;
  /** Schema of the sessions table and of sluice_schema_migrations. Default `public`. */
  schema?: string;
  /** Every connection is read-only (default_transaction_read_only); append is refused. */
  readOnly?: boolean;
  /** Apply pending migrations on connect. Default: true unless read-only. */
  migrate?: boolean;
  /** Pool size. Default 4. */
  poolSize?: number;
  /** How long opening a connection may take. Default 2000 ms. */
  connectTimeoutMs?: number;
  /** A query without an answer after this long fails with ERR_SESSION_STORE_UNAVAILABLE. Default 5000 ms. */
  queryTimeoutMs?: number;
  /**
   * Key of the hash chain (HMAC-SHA-256, at least 16 bytes). Each store instance writes a
   * partition of its own, which records whether it is keyed and the key's id.
   */
  chainKey?: Buffer;
  /** Who writes, recorded with the partition for the operator (default: host name and pid). */
  writer?: string;
  logger?: Logger;
}

const MIGRATIONS = new URL('./migrations/', import.meta.url);
const COMPONENT = 'sessions';
/** Written by append: the 001 columns an http session can fill, the 002 ones, and the 003 audit ones. */
const INSERT_COLUMNS = 'id, request_id, subject, issuer, target, rule, decision, method, path, status, started_at, ended_at, events, version, protocol, outcome, summary, credential, masking, credential_name, credential_version, masked';
const VERSION_POSITION = 13;
/** Read back: everything a record of either version needs (not the 003 keys, which the jsonb holds). */
const COLUMNS = 'id, request_id, subject, issuer, target, rule, decision, method, path, status, started_at, ended_at, events, version, protocol, outcome, summary, credential, masking, timings, request, response';

type SessionRow = {
  id: string;
  request_id: string;
  subject: string;
  issuer: string;
  target: string;
  rule: string;
  decision: 'allow' | 'deny';
  started_at: Date;
  ended_at: Date;
  protocol: SessionProtocol;
  outcome: SessionOutcome;
  summary: string;
  credential: RecordedCredential | null;
  masking: MaskingSummary | null;
} & (
  | { version: 2; events: StoredEvent[] }
  | {
    version: 1;
    method: string;
    path: string;
    status: number | null;
    timings: SessionRecordV1['timings'];
    request: StoredMessage;
    response: StoredMessage;
    events: SessionRecordV1['events'] | null;
  }
);

/**
 * Sessions in PostgreSQL, shared by every replica. The table comes from migrations/ (applied on
 * connect, once across replicas). append is an INSERT that ignores a known id, so retries are
 * safe; list pages newest first by (started_at, id) with keyset pagination on indexed columns.
 * Every failure to reach the database is ERR_SESSION_STORE_UNAVAILABLE, the driver error kept as
 * the cause.
 */
export class PostgresSessionStore implements SessionStore {
  private readonly pool: pg.Pool;
  private readonly table: string;
  private readonly schema: string;
  private readonly readOnly: boolean;
  private readonly policy: RecordPolicy;
  private readonly logger: Logger;
  private readonly chains: string;
  private readonly chainKey: ChainKey | undefined;
  private readonly writer: PgChainWriter;
  /** This instance's chain partition (its row is created by the first append). */
  readonly partition: string;
  private closed = false;

  /** Connects, checks the database answers and applies migrations; rejects with ERR_SESSION_STORE_UNAVAILABLE. */
  static async connect(options: PostgresSessionStoreOptions): Promise<PostgresSessionStore> {
    const store = new PostgresSessionStore(options);
    try {
      await store.pool.query('SELECT 1');
      if (options.migrate ?? !store.readOnly) {
        await migrate(store.pool, { schema: store.schema, component: COMPONENT, migrations: await loadMigrations(MIGRATIONS), logger: store.logger });
      }
    } catch (err) {
      await store.close();
      throw storeError(err, 'cannot connect to PostgreSQL');
    }
    return store;
  }

  private constructor(options: PostgresSessionStoreOptions) {
    const problems: string[] = [];
    if (typeof options.connectionString !== 'string' || !/^postgres(ql)?:\/\//.test(options.connectionString)) problems.push('connectionString must be a postgres:// URL');
    const schema = options.schema ?? 'public';
    if (!SQL_NAME.test(schema)) problems.push('schema must be a lower-case SQL name (letters, digits, _)');
    const poolSize = options.poolSize ?? 4;
    if (!Number.isSafeInteger(poolSize) || poolSize < 1 || poolSize > 100) problems.push('poolSize must be from 1 to 100');
    for (const name of ['connectTimeoutMs', 'queryTimeoutMs'] as const) {
      const value = options[name];
      if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) problems.push(`${name} must be a positive integer`);
    }
    if (options.chainKey !== undefined && !(Buffer.isBuffer(options.chainKey) && options.chainKey.byteLength >= 16)) problems.push('chainKey must be at least 16 bytes');
    if (options.writer !== undefined && (typeof options.writer !== 'string' || options.writer === '' || options.writer.length > 200)) problems.push('writer must be a name of 1 to 200 characters');
    if (problems.length > 0) throw invalidOptions('PostgreSQL session store', problems);
    this.policy = recordPolicy('PostgreSQL session store', options);
    this.schema = schema;
    this.table = `${quoteIdent(schema)}.sluice_sessions`;
    this.chains = `${quoteIdent(schema)}.sluice_session_chains`;
    this.readOnly = options.readOnly ?? false;
    this.logger = options.logger ?? createLogger('sluice-sessions');
    this.chainKey = options.chainKey === undefined ? undefined : chainKey(options.chainKey);
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: poolSize,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 2000,
      query_timeout: options.queryTimeoutMs ?? 5000,
      application_name: 'sluice-sessions',
      ...(this.readOnly ? { options: '-c default_transaction_read_only=on' } : {}),
    });
    // An idle connection that breaks emits here; without a listener it would crash the process.
    this.pool.on('error', (err) => this.logger.warn({ err: describeError(err) }, 'PostgreSQL session store: idle connection failed'));
    {
      // A partition per store instance: sortable by when it started, unique without coordination.
      // Made even when read-only (the database refuses the write anyway); created on the first append.
      this.partition = `${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(4).toString('hex')}`;
      this.writer = new PgChainWriter({
        pool: this.pool,
        table: this.table,
        chains: this.chains,
        columns: INSERT_COLUMNS,
        placeholders: (param, values) => values.map((value, i) => (i === VERSION_POSITION ? '2' : param(value))).join(', '),
        partition: this.partition,
        writer: options.writer ?? `${hostname()} pid ${process.pid}`,
        key: this.chainKey,
        logger: this.logger,
      });
    }
  }

  /** What `sluice sessions verify` reads: every partition, by seq. */
  chainSource(): ChainSource {
    this.checkOpen();
    return postgresChainSource(this.chainContext());
  }

  /** Removes old records per partition, recording each purge point (postgres-chain.ts). */
  async purge(options: PurgeOptions): Promise<PurgeReport> {
    this.checkOpen();
    if (this.readOnly && !options.dryRun) throw unavailable('the session store was opened read-only');
    return purgePostgres(this.chainContext(), options);
  }

  private chainContext(): PgChainContext {
    return { pool: this.pool, table: this.table, chains: this.chains, columns: COLUMNS, fromRow: fromRow as (row: never) => SessionRecord };
  }

  async append(record: SessionRecord): Promise<void> {
    this.checkOpen();
    if (this.readOnly) throw unavailable('the session store was opened read-only');
    const r = prepareRecord(record, this.policy);
    const request = httpRequestOf(r);
    const keys = auditKeys(r);
    const events = JSON.stringify(r.events.map(toStoredEvent));
    const credential = r.credential === undefined ? null : JSON.stringify(r.credential);
    const masking = r.masking === undefined ? null : JSON.stringify(toStoredMasking(r.masking));
    // In INSERT_COLUMNS order; `version` (VERSION_POSITION) is written as the literal 2.
    const values = [
      r.id, r.requestId, r.subject, r.issuer, r.target, r.rule, r.decision,
      request?.method ?? null, request?.path ?? null, httpResponseOf(r)?.status ?? null,
      new Date(r.startedAt), new Date(r.endedAt),
      events, 2, r.protocol, r.outcome, r.summary, credential, masking,
      keys.credentialName, keys.credentialVersion, keys.masked,
    ];
    // The first write of an id wins (a retry after an unclear failure is no second session): the writer checks.
    await this.writer.append(r, values, 512 + events.length + (credential?.length ?? 0) + (masking?.length ?? 0));
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    this.checkOpen();
    if (!isSessionId(id)) return undefined;
    try {
      const result = await this.pool.query<SessionRow>(`SELECT ${COLUMNS} FROM ${this.table} WHERE id = $1`, [id.toLowerCase()]);
      const row = result.rows[0];
      return row === undefined ? undefined : fromRow(row);
    } catch (err) {
      throw storeError(err, 'cannot read sessions');
    }
  }

  async list(filter: SessionFilter = {}): Promise<SessionPage> {
    this.checkOpen();
    const query = listQuery(filter);
    const where: string[] = [];
    const values: unknown[] = [];
    const param = (value: unknown) => {
      values.push(value);
      return `$${values.length}`;
    };
    if (query.subject !== undefined) where.push(`subject = ${param(query.subject)}`);
    if (query.target !== undefined) where.push(`target = ${param(query.target)}`);
    if (query.protocol !== undefined) where.push(`protocol = ${param(query.protocol)}`);
    if (query.outcome !== undefined) where.push(`outcome = ${param(query.outcome)}`);
    if (query.credential !== undefined) where.push(`credential_name = ${param(query.credential)}`);
    if (query.version !== undefined) where.push(`credential_version = ${param(query.version)}`);
    if (query.masked !== undefined) where.push(`masked @> ARRAY[${param(query.masked)}::text]`);
    if (query.rule !== undefined) where.push('rule' in query.rule ? `rule = ${param(query.rule.rule)}` : `rule_policy = ${param(query.rule.policy)}`);
    // Literals, not parameters: the partial indexes of migration 004 are chosen by matching them.
    if (query.approval !== undefined) where.push(query.approval ? 'approval' : 'NOT approval');
    if (query.refusals !== undefined) where.push(query.refusals ? 'refusals' : 'NOT refusals');
    if (query.from !== undefined) where.push(`started_at >= ${param(new Date(query.from))}`);
    if (query.to !== undefined) where.push(`started_at < ${param(new Date(query.to))}`);
    if (query.after !== undefined) where.push(`(started_at, id) < (${param(new Date(query.after.startedAt))}, ${param(query.after.id)}::uuid)`);
    const sql = `SELECT ${COLUMNS} FROM ${this.table}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at DESC, id DESC LIMIT ${param(query.limit + 1)}`;
    let rows: SessionRow[];
    try {
      rows = (await this.pool.query<SessionRow>(sql, values)).rows;
    } catch (err) {
      throw storeError(err, 'cannot list sessions');
    }
    const records = rows.slice(0, query.limit).map(fromRow);
    const last = records[records.length - 1];
    return rows.length > query.limit && last !== undefined ? { records, nextCursor: encodeCursor(last) } : { records };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writer.drain();
    await this.pool.end().catch(() => undefined);
  }

  private checkOpen(): void {
    if (this.closed) throw unavailable('the session store is closed');
  }
}

function fromRow(row: SessionRow): SessionRecord {
  if (row.version === 1) {
    return upgradeRecord({
      id: row.id,
      requestId: row.request_id,
      subject: row.subject,
      issuer: row.issuer,
      target: row.target,
      rule: row.rule,
      decision: row.decision,
      method: row.method,
      path: row.path,
      status: row.status,
      startedAt: row.started_at.getTime(),
      endedAt: row.ended_at.getTime(),
      timings: row.timings,
      request: fromStored(row.request),
      response: fromStored(row.response),
      ...(row.events === null ? {} : { events: row.events }),
    });
  }
  return {
    version: 2,
    id: row.id,
    requestId: row.request_id,
    protocol: row.protocol,
    subject: row.subject,
    issuer: row.issuer,
    target: row.target,
    rule: row.rule,
    decision: row.decision,
    startedAt: row.started_at.getTime(),
    endedAt: row.ended_at.getTime(),
    outcome: row.outcome,
    summary: row.summary,
    events: row.events.map(fromStoredEvent),
    ...(row.credential === null ? {} : { credential: row.credential }),
    ...(row.masking === null ? {} : { masking: fromStoredMasking(row.masking as unknown as StoredMasking) }),
  };
}

/**
 * Like headers, masking counts go in as [name, count] pairs: jsonb would reorder the keys, and
 * both stores must give back the same record.
 */
type StoredDirection = Omit<MaskingSummary['request'], 'masked' | 'headers'> & { masked: [string, number][]; headers?: [string, number][] };
type StoredMasking = Omit<MaskingSummary, 'request' | 'response'> & Record<'request' | 'response', StoredDirection>;

function toStoredMasking(m: MaskingSummary): StoredMasking {
  const side = (d: MaskingSummary['request']): StoredDirection => ({
    masked: Object.entries(d.masked),
    delivered: d.delivered,
    recordedTruncated: d.recordedTruncated,
    ...(d.headers === undefined ? {} : { headers: Object.entries(d.headers) }),
  });
  return { profile: m.profile, request: side(m.request), response: side(m.response) };
}

function fromStoredMasking(m: StoredMasking): MaskingSummary {
  const side = (d: StoredDirection) => ({
    masked: Object.fromEntries(d.masked),
    delivered: d.delivered,
    recordedTruncated: d.recordedTruncated,
    ...(d.headers === undefined ? {} : { headers: Object.fromEntries(d.headers) }),
  });
  return { profile: m.profile, request: side(m.request), response: side(m.response) };
}

/**
 * jsonb keeps an object's keys in its own order, not the order they came in; headers go in as
 * [name, value] pairs so that a replay shows them as they were on the wire.
 */
type StoredHeaders = [string, string][];

interface StoredMessage {
  headers: StoredHeaders;
  body: CapturedBody;
}

type StoredEvent = { [K in SessionEvent['kind']]: WithStoredHeaders<Extract<SessionEvent, { kind: K }>> }[SessionEvent['kind']];
type WithStoredHeaders<E> = E extends { headers: Record<string, string> } ? Omit<E, 'headers'> & { headers: StoredHeaders } : E;

function toStoredEvent(event: SessionEvent): StoredEvent {
  return event.kind === 'http.request' || event.kind === 'http.response' ? { ...event, headers: Object.entries(event.headers) } : event;
}

function fromStoredEvent(event: StoredEvent): SessionEvent {
  return event.kind === 'http.request' || event.kind === 'http.response' ? { ...event, headers: headersOf(event.headers) } : event;
}

function fromStored(stored: StoredMessage): { headers: Record<string, string>; body: CapturedBody } {
  return { headers: headersOf(stored.headers), body: stored.body };
}

function headersOf(pairs: StoredHeaders): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of pairs) {
    Object.defineProperty(headers, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return headers;
}
