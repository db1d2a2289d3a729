import type pg from 'pg';
import type { ChainAlg } from './chain.ts';
import type { ChainEntry, ChainPartition, ChainSource } from './chain-verify.ts';
import { SessionError } from './errors.ts';
import { storeError } from './postgres-errors.ts';
import type { PartitionPurge, PurgeOptions, PurgeReport } from './purge.ts';
import type { SessionRecord } from './types.ts';

/**
 * Reading and purging the chain partitions of the PostgreSQL store (the writer side is
 * postgres-chain-writer.ts). Verify reads each partition by seq, a page at a time.
 */

const PAGE = 500;

interface ChainRow {
  partition: string;
  alg: ChainAlg;
  key_id: string | null;
  writer: string;
  created_at: Date;
  head_seq: string;
  head_hash: string | null;
  purged_seq: string | null;
  purged_hash: string | null;
  purged_at: Date | null;
  purged_before: Date | null;
}

export interface PgChainContext {
  pool: pg.Pool;
  table: string;
  chains: string;
  /** The columns fromRow() needs, and fromRow itself. */
  columns: string;
  fromRow: (row: never) => SessionRecord;
}

/**
 * Everything verify reads comes from one REPEATABLE READ snapshot on one connection, so a purge or
 * a writer committing meanwhile cannot make the partition rows and the records disagree (a purge
 * point newer than the rows read, which would look like removed records).
 */
export function postgresChainSource(ctx: PgChainContext): ChainSource {
  let snapshot: Promise<pg.PoolClient> | undefined;
  let broken = false;
  const client = () => {
    snapshot ??= (async () => {
      const c = await ctx.pool.connect();
      try {
        await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      } catch (err) {
        c.release(true);
        throw err;
      }
      return c;
    })();
    return snapshot;
  };
  const query = async <R extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<pg.QueryResult<R>> => {
    try {
      return await (await client()).query<R>(sql, values);
    } catch (err) {
      broken = true;
      throw storeError(err, 'cannot read the session chains');
    }
  };
  return {
    partitions: async () => {
      const rows = (await query<ChainRow>(`SELECT * FROM ${ctx.chains} ORDER BY created_at, partition`)).rows;
      const partitions = rows.map(partitionOf);
      // Linked rows whose partition row is gone: checked as unkeyed, from the genesis hash.
      const orphans = await query<{ chain_partition: string }>(
        `SELECT DISTINCT chain_partition FROM ${ctx.table} WHERE chain_partition IS NOT NULL AND NOT (chain_partition = ANY($1::text[])) ORDER BY chain_partition`,
        [rows.map((r) => r.partition)],
      );
      for (const { chain_partition } of orphans.rows) partitions.push({ partition: chain_partition, alg: 'sha256' });
      return partitions;
    },
    entries: (partition) => entries(ctx, query, partition),
    legacyCount: async () => Number((await query<{ n: string }>(`SELECT count(*) AS n FROM ${ctx.table} WHERE chain_partition IS NULL`)).rows[0]!.n),
    close: async () => {
      if (snapshot === undefined) return;
      const c = await snapshot.catch(() => undefined);
      if (c === undefined) return;
      await c.query('COMMIT').catch(() => {
        broken = true;
      });
      c.release(broken);
    },
  };
}

type Query = <R extends pg.QueryResultRow>(sql: string, values?: unknown[]) => Promise<pg.QueryResult<R>>;

function partitionOf(row: ChainRow): ChainPartition {
  const partition: ChainPartition = { partition: row.partition, alg: row.alg, writer: row.writer, createdAt: row.created_at.getTime() };
  if (row.key_id !== null) partition.keyId = row.key_id;
  if (Number(row.head_seq) > 0 && row.head_hash !== null) partition.head = { seq: Number(row.head_seq), hash: row.head_hash };
  if (row.purged_seq !== null && row.purged_hash !== null) {
    partition.purged = { seq: Number(row.purged_seq), hash: row.purged_hash, at: row.purged_at?.getTime() ?? 0, before: row.purged_before?.getTime() ?? 0 };
  }
  return partition;
}

async function* entries(ctx: PgChainContext, query: Query, partition: string): AsyncGenerator<ChainEntry> {
  let after = -1;
  for (;;) {
    type Row = Record<string, unknown> & { chain_seq: string; chain_prev: string; chain_hash: string; id: string };
    const rows = (await query<Row>(`SELECT ${ctx.columns}, chain_seq, chain_prev, chain_hash FROM ${ctx.table} WHERE chain_partition = $1 AND chain_seq > $2 ORDER BY chain_seq LIMIT ${PAGE}`, [partition, after])).rows;
    for (const row of rows) {
      const seq = Number(row.chain_seq);
      let record: SessionRecord | undefined;
      try {
        record = ctx.fromRow(row as never);
      } catch {
        record = undefined;
      }
      yield { id: row.id, record, where: `${partition}#${seq}`, link: { seq, prev: row.chain_prev, hash: row.chain_hash } };
      after = seq;
    }
    if (rows.length < PAGE) return;
  }
}

/**
 * Removes, per partition, the longest prefix of records that all started before `before`, in one
 * transaction each that first records the purge point (the last removed link) in the partition
 * row, locked, so the writer of a live partition waits a moment and carries on. Rows written before
 * chaining go by their start time alone. A partition whose range to purge has fewer rows than its
 * seqs say (records deleted by hand) is not purged: that would hide the deletion.
 */
export async function purgePostgres(ctx: PgChainContext, options: PurgeOptions): Promise<PurgeReport> {
  const before = new Date(options.before);
  const dryRun = options.dryRun ?? false;
  const report: PurgeReport = { dryRun, before: options.before, removed: 0, olderKept: 0, partitions: [], legacyRemoved: 0 };
  const client = await ctx.pool.connect().catch((err: unknown) => {
    throw storeError(err, 'cannot purge sessions');
  });
  let broken = false;
  try {
    const names = (await client.query<{ partition: string }>(`SELECT partition FROM ${ctx.chains} ORDER BY created_at, partition`)).rows.map((r) => r.partition);
    for (const partition of names) {
      await client.query('BEGIN');
      try {
        const done = await purgePartition(client, ctx, partition, before, options, dryRun);
        await client.query(dryRun ? 'ROLLBACK' : 'COMMIT');
        if (done.removed > 0) {
          report.partitions.push(done);
          report.removed += done.removed;
        }
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    }
    const legacy = dryRun
      ? await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${ctx.table} WHERE chain_partition IS NULL AND started_at < $1`, [before])
      : await client.query<{ n: string }>(`WITH gone AS (DELETE FROM ${ctx.table} WHERE chain_partition IS NULL AND started_at < $1 RETURNING 1) SELECT count(*) AS n FROM gone`, [before]);
    report.legacyRemoved = Number(legacy.rows[0]!.n);
    report.removed += report.legacyRemoved;
    const older = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${ctx.table} WHERE started_at < $1`, [before]);
    report.olderKept = Number(older.rows[0]!.n) - (dryRun ? report.removed : 0);
  } catch (err) {
    broken = !(err instanceof SessionError);
    throw storeError(err, 'cannot purge sessions');
  } finally {
    client.release(broken);
  }
  return report;
}

async function purgePartition(client: pg.PoolClient, ctx: PgChainContext, partition: string, before: Date, options: PurgeOptions, dryRun: boolean): Promise<PartitionPurge> {
  // Locked against a concurrent purge and the partition's writer (a dry run may be read-only: no lock).
  const locked = await client.query<{ head_seq: string; purged_seq: string | null }>(`SELECT head_seq, purged_seq FROM ${ctx.chains} WHERE partition = $1${dryRun ? '' : ' FOR UPDATE'}`, [partition]);
  const row = locked.rows[0]!;
  const from = Number(row.purged_seq ?? 0);
  const firstKept = await client.query<{ s: string | null }>(`SELECT min(chain_seq) AS s FROM ${ctx.table} WHERE chain_partition = $1 AND chain_seq > $2 AND started_at >= $3`, [partition, from, before]);
  const cut = firstKept.rows[0]!.s === null ? Number(row.head_seq) : Number(firstKept.rows[0]!.s) - 1;
  if (cut <= from) return { partition, removed: 0 };
  const range = await client.query<{ n: string; hash: string | null }>(
    `SELECT count(*) AS n, max(chain_hash) FILTER (WHERE chain_seq = $3) AS hash FROM ${ctx.table} WHERE chain_partition = $1 AND chain_seq > $2 AND chain_seq <= $3`,
    [partition, from, cut],
  );
  const present = Number(range.rows[0]!.n);
  const hash = range.rows[0]!.hash;
  if (present !== cut - from || hash === null) {
    throw new SessionError('ERR_SESSION_STORE_CORRUPT', `partition ${partition} holds ${present} of the ${cut - from} records from seq ${from + 1} to ${cut}: records were removed outside a purge; run sluice sessions verify`, {
      details: { partition, from: from + 1, to: cut, present },
    });
  }
  if (!dryRun) {
    await client.query(`UPDATE ${ctx.chains} SET purged_seq = $2, purged_hash = $3, purged_at = $4, purged_before = $5 WHERE partition = $1`, [partition, cut, hash, new Date(options.now ?? Date.now()), before]);
    await client.query(`DELETE FROM ${ctx.table} WHERE chain_partition = $1 AND chain_seq <= $2`, [partition, cut]);
  }
  return { partition, removed: present, purgedSeq: cut, purgedHash: hash };
}
