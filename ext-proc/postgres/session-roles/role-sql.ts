/*
 * The SQL of per-session roles, as pure functions: every name is quoted as an identifier and
 * every value as a literal here, in one place, so nothing a policy or a token says is ever pasted
 * into SQL unquoted. Role names are also restricted upstream (sluice.yaml, the policy schema and
 * the check decoder accept only [a-z_][a-z0-9_]*), so quoting is the second fence, not the only.
 */

/** A double-quoted identifier ("a""b"); a NUL cannot be in one. */
export function quoteIdent(name: string): string {
  if (name.length === 0 || name.includes('\u0000')) throw new Error('an identifier must be non-empty and have no NUL');
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * A string literal. Written as E'…' only when it holds a backslash, so the result is the same
 * whatever standard_conforming_strings says.
 */
export function quoteLiteral(value: string): string {
  if (value.includes('\u0000')) throw new Error('a literal cannot hold NUL');
  const doubled = value.replaceAll("'", "''");
  return value.includes('\\') ? `E'${doubled.replaceAll('\\', '\\\\')}'` : `'${doubled}'`;
}

/** What the gateway writes on each role it mints (COMMENT ON ROLE), so a sweep knows its own. */
export interface RoleMarker {
  /** Which ext-proc replica minted it: on start a replica sweeps its own leftovers, live or not. */
  replica: string;
  session: string;
  target: string;
  /** The database the session used: objects the role created there are cleaned up from there. */
  database: string;
  /** VALID UNTIL, epoch ms. */
  validUntil: number;
}

const MARKER_TAG = 'sluice-session-role';

export function encodeMarker(marker: RoleMarker): string {
  return JSON.stringify({ [MARKER_TAG]: 1, ...marker });
}

/** The marker of a role's comment, or null when the comment is not one the gateway wrote. */
export function decodeMarker(comment: string | null): RoleMarker | null {
  if (comment === null) return null;
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(comment) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (value === null || typeof value !== 'object' || value[MARKER_TAG] !== 1) return null;
  const { replica, session, target, database, validUntil } = value;
  if (typeof replica !== 'string' || typeof session !== 'string' || typeof target !== 'string' || typeof database !== 'string') return null;
  if (typeof validUntil !== 'number' || !Number.isFinite(validUntil)) return null;
  return { replica, session, target, database, validUntil };
}

export interface CreateRoleSpec {
  name: string;
  /** The SCRAM-SHA-256 verifier (scram-verifier.ts): the server stores it as is; no cleartext crosses the wire. */
  verifier: string;
  validUntil: number;
  granted: readonly string[];
  /** The admin role: made a member so it can end the role's backends and drop what it owns (PG 15). */
  admin: string;
  marker: RoleMarker;
}

/**
 * One simple-query text (one implicit transaction: all of it or nothing): the role, with no
 * powers of its own and one connection, inheriting the granted roles' privileges (a session reads
 * a table through its grant without SET ROLE), then the marker.
 */
export function createRoleSql(spec: CreateRoleSpec): string {
  const name = quoteIdent(spec.name);
  const inRole = spec.granted.length > 0 ? ` IN ROLE ${spec.granted.map(quoteIdent).join(', ')}` : '';
  return [
    `CREATE ROLE ${name} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT CONNECTION LIMIT 1`
      + ` PASSWORD ${quoteLiteral(spec.verifier)} VALID UNTIL ${quoteLiteral(new Date(spec.validUntil).toISOString())}${inRole} ROLE ${quoteIdent(spec.admin)}`,
    `COMMENT ON ROLE ${name} IS ${quoteLiteral(encodeMarker(spec.marker))}`,
  ].join(';\n');
}

/**
 * The granted roles and every role they reach through membership, with the attributes that would
 * make a session more than its grant: a granted role that is (or leads to) a superuser, a role
 * creator, a replication or RLS-bypassing role, or a predefined role that reaches the server's
 * files or signals is refused. $1: the granted role names (text[]).
 */
export const GRANT_REACH_SQL = `WITH RECURSIVE reach(oid) AS (
  SELECT oid FROM pg_catalog.pg_roles WHERE rolname = ANY($1::text[])
  UNION
  SELECT m.roleid FROM pg_catalog.pg_auth_members m JOIN reach r ON m.member = r.oid
)
SELECT r.rolname, r.rolsuper OR r.rolcreaterole OR r.rolreplication OR r.rolbypassrls AS powerful, r.rolname = ANY($1::text[]) AS granted
FROM pg_catalog.pg_roles r JOIN reach USING (oid)`;

/** Predefined roles a session must never reach: files and programs on the server, other backends. */
export const FORBIDDEN_PREDEFINED = new Set(['pg_execute_server_program', 'pg_read_server_files', 'pg_write_server_files', 'pg_signal_backend', 'pg_create_subscription']);

/**
 * Ends the role's backends (the session's own connection, if it is still open) and waits up to $2
 * ms for each to be gone (PostgreSQL 14+), so the drop does not race a backend still exiting.
 * $1: the role name.
 */
export const TERMINATE_SQL = 'SELECT pg_catalog.pg_terminate_backend(pid, $2::bigint) FROM pg_catalog.pg_stat_activity WHERE usename = $1 AND pid <> pg_catalog.pg_backend_pid()';

export type OnEnd = 'drop' | 'disable';
export type OwnedObjects = { kind: 'drop' } | { kind: 'reassign'; to: string };

/**
 * What ends a role, in the database its session used (REASSIGN/DROP OWNED act on the current
 * database only): what it owns goes first, so the DROP ROLE is not blocked by it.
 * `disable` keeps the role and what it owns, with NOLOGIN and an expired VALID UNTIL.
 */
export function releaseRoleSql(name: string, onEnd: OnEnd, owned: OwnedObjects): string {
  const role = quoteIdent(name);
  if (onEnd === 'disable') return `ALTER ROLE ${role} WITH NOLOGIN VALID UNTIL '-infinity'`;
  const objects = owned.kind === 'reassign' ? `REASSIGN OWNED BY ${role} TO ${quoteIdent(owned.to)};\nDROP OWNED BY ${role}` : `DROP OWNED BY ${role}`;
  return `${objects};\nDROP ROLE ${role}`;
}

/**
 * Roles with the prefix, with their comment and validity, for the sweep. $1: the LIKE pattern
 * (likePrefix), so "_" in a prefix is not a wildcard.
 */
export const LIST_MINTED_SQL = `SELECT rolname, rolcanlogin, pg_catalog.shobj_description(oid, 'pg_authid') AS comment
FROM pg_catalog.pg_roles WHERE rolname LIKE $1 ESCAPE '!'`;

export function likePrefix(prefix: string): string {
  return `${prefix.replace(/[!%_]/g, (c) => `!${c}`)}%`;
}
