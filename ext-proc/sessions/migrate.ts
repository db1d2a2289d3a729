import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Pool } from 'pg';
import type { Logger } from '../../common/logger.ts';

export interface Migration {
  /** The file name without `.sql`, e.g. `001_sessions`; applied in this order. */
  version: string;
  sql: string;
  checksum: string;
}

/** The `NNN_name.sql` files of a directory, in order. */
export async function loadMigrations(dir: URL): Promise<Migration[]> {
  const names = (await readdir(dir)).filter((name) => /^\d{3}_[a-z0-9_]+\.sql$/.test(name)).sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(fileURLToPath(new URL(name, dir)), 'utf8');
      return { version: name.slice(0, -'.sql'.length), sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

/** A double-quoted identifier; callers pass names they have checked against SQL_NAME. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export const SQL_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Applies the component's migrations that `sluice_schema_migrations` does not list yet, each with
 * its row, in one transaction under an advisory lock (per database and schema): replicas starting
 * together apply each migration once, and the others wait and then find nothing to do. Returns
 * the versions applied. The schema is created if it does not exist.
 */
export async function migrate(pool: Pool, options: { schema: string; component: string; migrations: readonly Migration[]; logger: Logger }): Promise<string[]> {
  const { schema, component, migrations, logger } = options;
  if (!SQL_NAME.test(schema)) throw new Error(`bad schema name "${schema}"`);
  const client = await pool.connect();
  let failed = false;
  try {
    await client.query('BEGIN');
    await client.query("SELECT pg_advisory_xact_lock(hashtext('sluice_schema_migrations'), hashtext($1))", [schema]);
    // Checked first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when the schema exists.
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
    await client.query(`SET LOCAL search_path TO ${quoteIdent(schema)}`);
    await client.query(`CREATE TABLE IF NOT EXISTS sluice_schema_migrations (
      component text NOT NULL,
      version text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (component, version)
    )`);
    const applied = new Map<string, string>();
    const rows = await client.query<{ version: string; checksum: string }>('SELECT version, checksum FROM sluice_schema_migrations WHERE component = $1', [component]);
    for (const row of rows.rows) applied.set(row.version, row.checksum);
    const done: string[] = [];
    for (const migration of migrations) {
      const checksum = applied.get(migration.version);
      if (checksum !== undefined) {
        if (checksum !== migration.checksum) logger.warn({ schema, component, version: migration.version }, 'migration changed after it was applied; it is not re-run');
        continue;
      }
      await client.query(migration.sql);
      await client.query('INSERT INTO sluice_schema_migrations (component, version, checksum) VALUES ($1, $2, $3)', [component, migration.version, migration.checksum]);
      done.push(migration.version);
    }
    await client.query('COMMIT');
    if (done.length > 0) logger.info({ schema, component, versions: done }, 'applied database migrations');
    return done;
  } catch (err) {
    failed = true;
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    // A connection that failed mid-transaction is not handed back to the pool.
    client.release(failed);
  }
}
