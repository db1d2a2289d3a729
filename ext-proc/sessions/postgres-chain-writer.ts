import type pg from 'pg';
import type { Logger } from '../../common/logger.ts';
import { chainAlg, genesisHash, nextLink, type ChainKey, type ChainLink } from './chain.ts';
import { SessionError } from './errors.ts';
import { storeError } from './postgres-errors.ts';
import type { SessionRecord } from './types.ts';

/**
 * Appends of one PostgreSQL store instance, linked into its own partition of the chain and written
 * in batches: while one INSERT is in flight the next appends wait, and go together in the next
 * (group commit). One statement per batch inserts every row and moves the head recorded in the
 * partition row, so chaining costs no round trip per record and no lock shared with other
 * replicas. The head is kept in memory; after a failure whose outcome is unclear (a connection
 * that dropped, a timeout) it is read back from the partition row before the next batch.
 */

export interface PgChainWriterOptions {
  pool: pg.Pool;
  /** Quoted, schema-qualified names. */
  table: string;
  chains: string;
  /** Column list of the record's own values (without the chain columns), and a builder for its row. */
  columns: string;
  /** The row's placeholders for one record, from its parameters' numbers; constant columns inline. */
  placeholders: (param: (value: unknown) => string, values: readonly unknown[]) => string;
  partition: string;
  writer: string;
  key: ChainKey | undefined;
  logger: Logger;
  /** Most records per INSERT. Default 200. */
  maxBatch?: number;
  /** Most estimated bytes per INSERT. Default 8 MiB. */
  maxBatchBytes?: number;
}

interface Waiting {
  record: SessionRecord;
  values: readonly unknown[];
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** A SQLSTATE: the server answered, so the statement did not commit. Anything else may have. */
const SQLSTATE = /^[0-9A-Z]{5}$/;

export class PgChainWriter {
  private readonly o: PgChainWriterOptions;
  private readonly maxBatch: number;
  private readonly maxBatchBytes: number;
  private queue: Waiting[] = [];
  private readonly byId = new Map<string, Promise<void>>();
  private running: Promise<void> | undefined;
  /** Undefined: not known (not created yet, or an unclear failure); read before the next batch. */
  private head: { seq: number; hash: string } | undefined;
  private created = false;

  constructor(options: PgChainWriterOptions) {
    this.o = options;
    this.maxBatch = options.maxBatch ?? 200;
    this.maxBatchBytes = options.maxBatchBytes ?? 8 * 1024 * 1024;
  }

  append(record: SessionRecord, values: readonly unknown[], bytes: number): Promise<void> {
    const joined = this.byId.get(record.id);
    if (joined !== undefined) return joined;
    const done = new Promise<void>((resolve, reject) => {
      this.queue.push({ record, values, bytes, resolve, reject });
    });
    this.byId.set(record.id, done);
    const forget = () => this.byId.delete(record.id);
    done.then(forget, forget);
    this.kick();
    return done;
  }

  /** Resolves when every append made before it has settled. */
  async drain(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  private kick(): void {
    if (this.running !== undefined) return;
    this.running = (async () => {
      try {
        await this.run();
      } finally {
        this.running = undefined;
        // Appends that came while the last batch finished.
        if (this.queue.length > 0) this.kick();
      }
    })();
  }

  private async run(): Promise<void> {
    // Started on a later tick, so the appends of this tick join the first batch too.
    await Promise.resolve();
    while (this.queue.length > 0) {
      let bytes = 0;
      let n = 0;
      while (n < this.queue.length && n < this.maxBatch && (n === 0 || bytes + this.queue[n]!.bytes <= this.maxBatchBytes)) bytes += this.queue[n++]!.bytes;
      const batch = this.queue.splice(0, n);
      await this.flush(batch, 0);
    }
  }

  private async flush(batch: Waiting[], attempt: number): Promise<void> {
    try {
      await this.ensureHead();
    } catch (err) {
      this.head = undefined;
      for (const w of batch) w.reject(storeError(err, `cannot store session ${w.record.id}`));
      return;
    }
    let head = this.head!;
    const links: ChainLink[] = [];
    for (const w of batch) {
      let link: ChainLink;
      try {
        link = nextLink(head, w.record, this.o.key);
      } catch (err) {
        // Not JSON a hash can be taken of (checkRecord lets no such record through; kept for safety).
        w.reject(new SessionError('ERR_SESSION_INVALID', `session record ${w.record.id} cannot be hashed: ${(err as Error).message}`, { cause: err }));
        batch = batch.filter((other) => other !== w);
        continue;
      }
      links.push(link);
      head = link;
    }
    if (batch.length === 0) return;
    const values: unknown[] = [];
    const param = (value: unknown) => {
      values.push(value);
      return `$${values.length}`;
    };
    const partition = param(this.o.partition);
    const rows = batch.map((w, i) => {
      const link = links[i]!;
      return `(${this.o.placeholders(param, w.values)}, ${partition}, ${param(link.seq)}, ${param(link.prev)}, ${param(link.hash)})`;
    });
    const sql = `WITH inserted AS (INSERT INTO ${this.o.table} (${this.o.columns}, chain_partition, chain_seq, chain_prev, chain_hash) VALUES ${rows.join(', ')} RETURNING 1)
      UPDATE ${this.o.chains} SET head_seq = ${param(head.seq)}, head_hash = ${param(head.hash)} WHERE partition = ${partition} AND (SELECT count(*) FROM inserted) = ${param(batch.length)}`;
    try {
      await this.o.pool.query(sql, values);
    } catch (err) {
      await this.failed(batch, err, attempt);
      return;
    }
    this.head = head;
    for (const w of batch) w.resolve();
  }

  private async failed(batch: Waiting[], err: unknown, attempt: number): Promise<void> {
    const { code, constraint } = err as { code?: unknown; constraint?: unknown };
    const answered = typeof code === 'string' && SQLSTATE.test(code);
    if (!answered) this.head = undefined;
    if (code === '23505' && constraint === 'sluice_sessions_pkey' && attempt < 3) {
      // Some ids are stored already (a retry of a write that did commit): the first write wins,
      // those appends are done, the others are linked again without them.
      let stored: Set<string>;
      try {
        const found = await this.o.pool.query<{ id: string }>(`SELECT id FROM ${this.o.table} WHERE id = ANY($1::uuid[])`, [batch.map((w) => w.record.id)]);
        stored = new Set(found.rows.map((r) => r.id));
      } catch (lookupErr) {
        this.head = undefined;
        for (const w of batch) w.reject(storeError(lookupErr, `cannot store session ${w.record.id}`));
        return;
      }
      const rest: Waiting[] = [];
      for (const w of batch) (stored.has(w.record.id) ? w.resolve() : rest.push(w));
      if (rest.length > 0) await this.flush(rest, attempt + 1);
      return;
    }
    if (code === '23505' && constraint === 'sluice_sessions_chain_idx' && attempt < 3) {
      // Our head was behind the partition's (an earlier batch committed after all): read it and link again.
      this.head = undefined;
      this.o.logger.warn({ partition: this.o.partition }, 'session chain: the partition moved on under this writer; re-reading its head');
      await this.flush(batch, attempt + 1);
      return;
    }
    if (typeof code === 'string' && code.startsWith('22') && batch.length > 1) {
      // One record PostgreSQL will never take: write them one by one so only that one is refused.
      for (const w of batch) await this.flush([w], attempt);
      return;
    }
    for (const w of batch) w.reject(storeError(err, `cannot store session ${w.record.id}`));
  }

  /** The partition row exists and the head is known. */
  private async ensureHead(): Promise<void> {
    if (!this.created) {
      await this.o.pool.query(`INSERT INTO ${this.o.chains} (partition, alg, key_id, writer) VALUES ($1, $2, $3, $4) ON CONFLICT (partition) DO NOTHING`, [
        this.o.partition, chainAlg(this.o.key), this.o.key?.id ?? null, this.o.writer,
      ]);
      this.created = true;
      this.head = undefined;
    }
    if (this.head !== undefined) return;
    const result = await this.o.pool.query<{ head_seq: string; head_hash: string | null; alg: string; key_id: string | null }>(`SELECT head_seq, head_hash, alg, key_id FROM ${this.o.chains} WHERE partition = $1`, [this.o.partition]);
    const row = result.rows[0];
    if (row === undefined) throw new SessionError('ERR_SESSION_STORE_UNAVAILABLE', `the chain partition ${this.o.partition} is gone from ${this.o.chains}`);
    if (row.alg !== chainAlg(this.o.key) || row.key_id !== (this.o.key?.id ?? null)) {
      throw new SessionError('ERR_SESSION_CHAIN_KEY', `the chain partition ${this.o.partition} is keyed otherwise than this writer`);
    }
    const seq = Number(row.head_seq);
    this.head = { seq, hash: seq === 0 || row.head_hash === null ? genesisHash(this.o.partition) : row.head_hash };
  }
}
