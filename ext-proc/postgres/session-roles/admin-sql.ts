import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { TargetConfig } from '../../../common/config.ts';
import { SessionRoleError } from './errors.ts';

/** What per-session roles need of the admin connection: a query in a given database. */
export interface AdminSql {
  /**
   * Runs `text` (with `params`: one statement, extended protocol; without: a simple query, which
   * may hold several statements in one implicit transaction) in `database`. Throws
   * ERR_PG_ROLE_ADMIN_UNAVAILABLE when there is no working connection; a statement the server
   * refuses throws pg's DatabaseError (with its SQLSTATE in `code`).
   */
  query(database: string, text: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

export interface AdminEndpoint {
  host: string;
  port: number;
  user: string;
  /** Read at every connect, so a rotated admin password reaches the next connection. */
  password: () => string | undefined;
  tls: TargetConfig['tls'];
  timeoutMs: number;
  /** The target's postgres.allowCleartextUpstream: without it a server asking for the password in cleartext is refused. */
  allowCleartext: boolean;
}

/**
 * One admin connection per database of a target (role objects are per database, so a session's
 * cleanup runs in its own), opened on first use and again after it breaks. Queries on one
 * connection run in order (pg queues them), so a login waits behind another's CREATE ROLE for a
 * millisecond or two, not for a pool to warm up.
 */
export class PgAdminConnections implements AdminSql {
  private readonly clients = new Map<string, Promise<pg.Client>>();
  private closed = false;

  constructor(private readonly endpoint: AdminEndpoint) {}

  async query(database: string, text: string, params?: unknown[]): Promise<Record<string, unknown>[]> {
    const client = await this.client(database);
    try {
      const result = params === undefined ? await client.query(text) : await client.query(text, params);
      // A multi-statement simple query answers with one result per statement; what callers read is the last.
      const last = Array.isArray(result) ? result[result.length - 1] : result;
      return (last?.rows ?? []) as Record<string, unknown>[];
    } catch (err) {
      if (err instanceof pg.DatabaseError) throw err;
      this.forget(database, client);
      throw new SessionRoleError('ERR_PG_ROLE_ADMIN_UNAVAILABLE', `the admin connection to database "${database}" failed: ${(err as Error).message}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(all.map((p) => p.then((c) => c.end(), () => undefined).catch(() => undefined)));
  }

  private client(database: string): Promise<pg.Client> {
    if (this.closed) return Promise.reject(new SessionRoleError('ERR_PG_ROLE_ADMIN_UNAVAILABLE', 'the gateway is shutting down'));
    let opening = this.clients.get(database);
    if (opening === undefined) {
      opening = this.open(database);
      this.clients.set(database, opening);
      opening.catch(() => this.clients.delete(database));
    }
    return opening;
  }

  private async open(database: string): Promise<pg.Client> {
    const { host, port, user, tls, timeoutMs, allowCleartext } = this.endpoint;
    const secret = this.endpoint.password();
    if (secret === undefined) throw new SessionRoleError('ERR_PG_ROLE_ADMIN_UNAVAILABLE', 'the admin secret is not in any secret store');
    // pg answers every password request alike; the admin password must not cross a network in
    // cleartext any more than the sessions' credential (upstream-login.ts). pg asks this function
    // for the password after the server said how it wants it, so a cleartext request is seen first.
    let cleartextAsked = false;
    const password = async (): Promise<string> => {
      if (cleartextAsked && !allowCleartext) throw new SessionRoleError('ERR_PG_ROLE_ADMIN_UNAVAILABLE', `the server at ${host}:${port} asks for the admin password in cleartext over a network; refused (use scram-sha-256, or TLS to the server, or postgres.allowCleartextUpstream for a local path)`);
      return secret;
    };
    const client = new pg.Client({
      host, port, user, password, database,
      connectionTimeoutMillis: timeoutMs,
      query_timeout: timeoutMs,
      statement_timeout: timeoutMs,
      application_name: 'sluice-session-roles',
      ...(tls ? { ssl: sslOptions(tls) } : {}),
    });
    // A broken connection is replaced on next use; its error must not crash the process.
    client.on('error', () => this.forget(database, client));
    // Runs before pg's own handler of the same message, which then asks `password` above.
    (client as unknown as { connection: NodeJS.EventEmitter }).connection.prependListener('authenticationCleartextPassword', () => {
      cleartextAsked = true;
    });
    try {
      await client.connect();
    } catch (err) {
      client.end().catch(() => undefined);
      if (err instanceof SessionRoleError) throw err;
      const sqlstate = err instanceof pg.DatabaseError ? ` (${err.code})` : '';
      // pg's messages name host and user, never the password.
      throw new SessionRoleError('ERR_PG_ROLE_ADMIN_UNAVAILABLE', `could not open the admin connection as "${user}" to ${host}:${port}/${database}${sqlstate}: ${(err as Error).message}`, { cause: err });
    }
    return client;
  }

  private forget(database: string, client: pg.Client): void {
    const current = this.clients.get(database);
    if (current === undefined) return;
    void current.then((c) => {
      if (c !== client) return;
      this.clients.delete(database);
      c.end().catch(() => undefined);
    }, () => undefined);
  }
}

function sslOptions(tls: NonNullable<TargetConfig['tls']>): pg.ClientConfig['ssl'] {
  return {
    rejectUnauthorized: true,
    ...(tls.sni ? { servername: tls.sni } : {}),
    ...(tls.caFile ? { ca: readFileSync(tls.caFile, 'utf8') } : {}),
    ...(tls.certFile ? { cert: readFileSync(tls.certFile, 'utf8') } : {}),
    ...(tls.keyFile ? { key: readFileSync(tls.keyFile, 'utf8') } : {}),
  };
}
