import { createHash } from 'node:crypto';
import { hasSqlDetails, loadModule, normalizeSync, parseSync } from 'libpg-query';
import { STATEMENT_CLASSES, type StatementClass, type StatementSummary } from '../../../common/postgres-check.ts';
import type { StatementAnalysis } from '../../check-input.ts';

/*
 * What a PostgreSQL statement text does, read with PostgreSQL's own grammar (libpg_query, as WASM),
 * never with regexes: each statement of the text gets a class, a command name and the tables it
 * names. The policy decides on these; the decision log keeps the normalized text (constants
 * replaced by $n), never the text as sent.
 */

// Loaded once, when the module loads (the WASM module is compiled here, never per request).
await loadModule();

const RANK: Readonly<Record<StatementClass, number>> = Object.fromEntries(STATEMENT_CLASSES.map((c, i) => [c, i])) as Record<StatementClass, number>;

/** The more powerful of two classes. */
function stronger(a: StatementClass, b: StatementClass): StatementClass {
  return RANK[a] >= RANK[b] ? a : b;
}

/**
 * Top-level statements by parse-tree node: class and command. A node not listed falls back by its
 * name (Create/Alter/Drop… → ddl, anything else → admin): a statement Sluice does not know is
 * treated as the most powerful kind, not the least.
 */
const NODES: Readonly<Record<string, readonly [StatementClass, string]>> = {
  // Session state: allowed whenever the login is, unless a deny rule names them.
  VariableShowStmt: ['session', 'SHOW'],
  DiscardStmt: ['session', 'DISCARD'],
  ListenStmt: ['session', 'LISTEN'],
  UnlistenStmt: ['session', 'UNLISTEN'],
  DeallocateStmt: ['session', 'DEALLOCATE'],
  ClosePortalStmt: ['session', 'CLOSE'],
  // EXECUTE runs a statement that PREPARE already had checked (PREPARE takes its query's class), as
  // a protocol-level Execute runs what its Parse had checked.
  ExecuteStmt: ['session', 'EXECUTE'],
  FetchStmt: ['read', 'FETCH'],
  InsertStmt: ['write', 'INSERT'],
  UpdateStmt: ['write', 'UPDATE'],
  DeleteStmt: ['write', 'DELETE'],
  MergeStmt: ['write', 'MERGE'],
  TruncateStmt: ['write', 'TRUNCATE'],
  NotifyStmt: ['write', 'NOTIFY'],
  LockStmt: ['write', 'LOCK'],
  RefreshMatViewStmt: ['write', 'REFRESH MATERIALIZED VIEW'],
  CreateStmt: ['ddl', 'CREATE TABLE'],
  CreateTableAsStmt: ['ddl', 'CREATE TABLE AS'],
  IndexStmt: ['ddl', 'CREATE INDEX'],
  ViewStmt: ['ddl', 'CREATE VIEW'],
  RenameStmt: ['ddl', 'ALTER'],
  CommentStmt: ['ddl', 'COMMENT'],
  DropStmt: ['ddl', 'DROP'],
  CreateSchemaStmt: ['ddl', 'CREATE SCHEMA'],
  CreateSeqStmt: ['ddl', 'CREATE SEQUENCE'],
  CompositeTypeStmt: ['ddl', 'CREATE TYPE'],
  CreateEnumStmt: ['ddl', 'CREATE TYPE'],
  DefineStmt: ['ddl', 'CREATE'],
  GrantStmt: ['admin', 'GRANT'],
  GrantRoleStmt: ['admin', 'GRANT'],
  CreateRoleStmt: ['admin', 'CREATE ROLE'],
  AlterRoleStmt: ['admin', 'ALTER ROLE'],
  AlterRoleSetStmt: ['admin', 'ALTER ROLE'],
  DropRoleStmt: ['admin', 'DROP ROLE'],
  AlterSystemStmt: ['admin', 'ALTER SYSTEM'],
  VacuumStmt: ['admin', 'VACUUM'],
  ClusterStmt: ['admin', 'CLUSTER'],
  ReindexStmt: ['admin', 'REINDEX'],
  CheckPointStmt: ['admin', 'CHECKPOINT'],
  LoadStmt: ['admin', 'LOAD'],
  // Code Sluice cannot see into.
  DoStmt: ['admin', 'DO'],
  CallStmt: ['admin', 'CALL'],
  CreateFunctionStmt: ['admin', 'CREATE FUNCTION'],
  CreateExtensionStmt: ['admin', 'CREATE EXTENSION'],
  CreateTrigStmt: ['admin', 'CREATE TRIGGER'],
  CreateEventTrigStmt: ['admin', 'CREATE EVENT TRIGGER'],
  CreatedbStmt: ['admin', 'CREATE DATABASE'],
  DropdbStmt: ['admin', 'DROP DATABASE'],
  AlterDefaultPrivilegesStmt: ['admin', 'ALTER DEFAULT PRIVILEGES'],
  ReassignOwnedStmt: ['admin', 'REASSIGN OWNED'],
  DropOwnedStmt: ['admin', 'DROP OWNED'],
  AlterOwnerStmt: ['admin', 'ALTER OWNER'],
};

const TRANSACTION_COMMANDS: Readonly<Record<string, string>> = {
  TRANS_STMT_BEGIN: 'BEGIN', TRANS_STMT_START: 'START TRANSACTION', TRANS_STMT_COMMIT: 'COMMIT', TRANS_STMT_ROLLBACK: 'ROLLBACK',
  TRANS_STMT_SAVEPOINT: 'SAVEPOINT', TRANS_STMT_RELEASE: 'RELEASE', TRANS_STMT_ROLLBACK_TO: 'ROLLBACK TO SAVEPOINT',
  TRANS_STMT_PREPARE: 'PREPARE TRANSACTION', TRANS_STMT_COMMIT_PREPARED: 'COMMIT PREPARED', TRANS_STMT_ROLLBACK_PREPARED: 'ROLLBACK PREPARED',
};

/** Settings that change whose privileges the session runs with: admin, not session. */
const PRIVILEGE_SETTINGS = new Set(['role', 'session_authorization']);

/**
 * Functions that reach outside the database or other sessions (files, programs, large objects,
 * other backends, configuration). A statement calling one is admin whatever its command: a SELECT
 * that reads a server file is not a read.
 */
const ADMIN_FUNCTIONS = new Set([
  'pg_read_file', 'pg_read_binary_file', 'pg_ls_dir', 'pg_stat_file', 'pg_ls_logdir', 'pg_ls_waldir', 'pg_ls_tmpdir',
  'lo_import', 'lo_export', 'lo_from_bytea', 'lo_put', 'lo_unlink',
  'pg_terminate_backend', 'pg_cancel_backend', 'pg_reload_conf', 'pg_rotate_logfile', 'set_config',
  'pg_promote', 'pg_switch_wal', 'pg_create_restore_point', 'pg_backup_start', 'pg_backup_stop',
  'dblink', 'dblink_exec', 'dblink_connect', 'pg_file_write', 'pg_file_unlink', 'pg_file_rename',
]);

/** Data-modifying statements wherever they sit (a CTE, a rule action) make the statement a write. */
const WRITE_NODES = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);

/** DROP of these names relations (tables, views, ...): their names are the tables. */
const RELATION_OBJECTS = new Set(['OBJECT_TABLE', 'OBJECT_VIEW', 'OBJECT_MATVIEW', 'OBJECT_INDEX', 'OBJECT_SEQUENCE', 'OBJECT_FOREIGN_TABLE']);

type Node = Record<string, unknown>;

/** The analysis of a statement text (one Query message may carry several statements). Never throws. */
export function analyzeStatement(text: string): StatementAnalysis {
  if (text.replace(/[\s;]/g, '') === '') {
    // An empty query: PostgreSQL answers EmptyQueryResponse. Nothing runs.
    return { ok: true, statements: [{ class: 'session', command: 'EMPTY', tables: [] }], normalized: '' };
  }
  let tree: { stmts?: { stmt?: Node }[] };
  try {
    tree = parseSync(text) as typeof tree;
  } catch (err) {
    if (hasSqlDetails(err) && err.sqlDetails) {
      const at = err.sqlDetails.cursorPosition;
      return { ok: false, code: 'ERR_STATEMENT_UNPARSABLE', message: `${err.sqlDetails.message}${at > 0 ? ` (at character ${at})` : ''}` };
    }
    return { ok: false, code: 'ERR_STATEMENT_UNPARSABLE', message: err instanceof Error ? err.message : 'the statement does not parse' };
  }
  const stmts = tree.stmts ?? [];
  if (stmts.length === 0) return { ok: true, statements: [{ class: 'session', command: 'EMPTY', tables: [] }], normalized: '' };
  return { ok: true, statements: stmts.map((s) => summarize(s.stmt ?? {})), normalized: normalized(text) };
}

/** The text with every constant replaced by $n: what the decision log and approvers see. */
function normalized(text: string): string {
  try {
    return normalizeSync(text);
  } catch {
    // Never fall back to the text as sent: it may hold data.
    return '<not normalizable>';
  }
}

/** A stable key for "this statement" (approvals): the sha256 of its normalized text. */
export function statementKey(normalizedText: string): string {
  return `sql:${createHash('sha256').update(normalizedText).digest('hex')}`;
}

function summarize(wrapper: Node): StatementSummary {
  const [type, body] = Object.entries(wrapper)[0] ?? ['', {}];
  const node = (body ?? {}) as Node;
  const facts = { tables: new Set<string>(), writes: false, locks: false, adminCall: false };
  walk(node, new Set(), facts);
  if (type === 'DropStmt' && RELATION_OBJECTS.has(String(node.removeType))) {
    for (const object of (node.objects as Node[] | undefined) ?? []) {
      const name = dottedName(object);
      if (name) facts.tables.add(name);
    }
  }
  const [base, command] = classify(type, node);
  let cls = base;
  // What the statement does inside: a write in a CTE, row locks, a function that reaches outside.
  if (type !== 'ExplainStmt' || explainAnalyzes(node)) {
    if (facts.writes || facts.locks) cls = stronger(cls, 'write');
    if (facts.adminCall) cls = stronger(cls, 'admin');
  }
  return { class: cls, command, tables: [...facts.tables] };
}

function classify(type: string, node: Node): [StatementClass, string] {
  switch (type) {
    case 'SelectStmt':
      // SELECT INTO creates and fills a table.
      return [node.intoClause ? 'write' : 'read', node.valuesLists ? 'VALUES' : 'SELECT'];
    case 'VariableSetStmt': {
      const command = node.kind === 'VAR_RESET' || node.kind === 'VAR_RESET_ALL' ? 'RESET' : 'SET';
      return [PRIVILEGE_SETTINGS.has(String(node.name ?? '').toLowerCase()) ? 'admin' : 'session', command];
    }
    case 'TransactionStmt':
      return ['session', TRANSACTION_COMMANDS[String(node.kind)] ?? 'TRANSACTION'];
    case 'CopyStmt':
      // A server file or program is admin whatever the direction; STDIN is a write, STDOUT a read.
      if (node.filename || node.is_program) return ['admin', 'COPY'];
      return [node.is_from ? 'write' : 'read', 'COPY'];
    case 'ExplainStmt': {
      // EXPLAIN plans without running; EXPLAIN ANALYZE runs the statement, so it has its class.
      const inner = innerStatement(node.query);
      if (!explainAnalyzes(node) || inner === null) return ['read', 'EXPLAIN'];
      return [summarize(inner).class, 'EXPLAIN'];
    }
    case 'PrepareStmt':
    case 'DeclareCursorStmt': {
      const inner = innerStatement(node.query);
      return [inner === null ? 'admin' : stronger('read', summarize(inner).class), type === 'PrepareStmt' ? 'PREPARE' : 'DECLARE CURSOR'];
    }
    case 'GrantStmt':
      return ['admin', node.is_grant ? 'GRANT' : 'REVOKE'];
    case 'GrantRoleStmt':
      return ['admin', node.is_grant ? 'GRANT' : 'REVOKE'];
    case 'VacuumStmt':
      return ['admin', node.is_vacuumcmd ? 'VACUUM' : 'ANALYZE'];
    case 'AlterTableStmt':
      return ['ddl', node.objtype === 'OBJECT_INDEX' ? 'ALTER INDEX' : node.objtype === 'OBJECT_VIEW' ? 'ALTER VIEW' : 'ALTER TABLE'];
    case 'DropStmt':
      return ['ddl', `DROP ${objectWord(node.removeType)}`.trim()];
  }
  const known = NODES[type];
  if (known) return [known[0], known[1]];
  const words = commandWords(type);
  return [/^(CREATE|ALTER|DROP) /.test(`${words} `) ? 'ddl' : 'admin', words || 'UNKNOWN'];
}

function innerStatement(query: unknown): Node | null {
  return query !== null && typeof query === 'object' ? (query as Node) : null;
}

function explainAnalyzes(node: Node): boolean {
  return ((node.options as Node[] | undefined) ?? []).some((o) => {
    const def = o.DefElem as Node | undefined;
    if (def?.defname !== 'analyze') return false;
    // EXPLAIN (ANALYZE false) does not run it.
    const arg = def.arg as Node | undefined;
    const value = (arg?.Boolean as Node | undefined)?.boolval ?? (arg?.String as Node | undefined)?.sval ?? true;
    return value !== false && value !== 'false' && value !== 'off' && value !== '0';
  });
}

/** 'CreateForeignServerStmt' → 'CREATE FOREIGN SERVER'. */
function commandWords(type: string): string {
  return type.replace(/Stmt$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();
}

/** OBJECT_MATVIEW → MATERIALIZED VIEW, OBJECT_FOREIGN_TABLE → FOREIGN TABLE. */
function objectWord(removeType: unknown): string {
  const word = String(removeType ?? '').replace(/^OBJECT_/, '');
  return word === 'MATVIEW' ? 'MATERIALIZED VIEW' : word.replaceAll('_', ' ');
}

/** `public.users` from a DROP's name list ([String public, String users]). */
function dottedName(object: Node): string | null {
  const items = ((object.List as Node | undefined)?.items as Node[] | undefined) ?? [];
  const parts = items.map((item) => (item.String as Node | undefined)?.sval).filter((s): s is string => typeof s === 'string');
  return parts.length > 0 ? parts.join('.') : null;
}

/**
 * Walks the whole parse tree: every RangeVar is a table (bare, as INSERT's `relation`, or wrapped,
 * as FROM items), except a name a WITH clause in scope defines; any data-modifying statement,
 * row-locking clause or outside-reaching function call is noted.
 */
function walk(value: unknown, ctes: ReadonlySet<string>, facts: { tables: Set<string>; writes: boolean; locks: boolean; adminCall: boolean }): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const item of value) walk(item, ctes, facts);
    return;
  }
  const node = value as Node;
  let scope = ctes;
  const withClause = node.withClause as Node | undefined;
  if (withClause) {
    // Names a WITH defines are in scope for the whole statement carrying it (its CTEs included).
    const names = ((withClause.ctes as Node[] | undefined) ?? []).map((c) => (c.CommonTableExpr as Node | undefined)?.ctename).filter((n): n is string => typeof n === 'string');
    if (names.length > 0) scope = new Set([...ctes, ...names]);
  }
  if (typeof node.relname === 'string') {
    const schema = typeof node.schemaname === 'string' ? node.schemaname : undefined;
    const catalog = typeof node.catalogname === 'string' ? node.catalogname : undefined;
    if (schema !== undefined || !scope.has(node.relname)) facts.tables.add([catalog, schema, node.relname].filter(Boolean).join('.'));
  }
  if (node.lockingClause) facts.locks = true;
  const call = node.FuncCall as Node | undefined;
  if (call) {
    const names = ((call.funcname as Node[] | undefined) ?? []).map((n) => (n.String as Node | undefined)?.sval);
    const name = names[names.length - 1];
    if (typeof name === 'string' && ADMIN_FUNCTIONS.has(name.toLowerCase())) facts.adminCall = true;
  }
  for (const [key, child] of Object.entries(node)) {
    if (WRITE_NODES.has(key)) facts.writes = true;
    walk(child, scope, facts);
  }
}
