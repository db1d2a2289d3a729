import type { StatementSummary } from '../../common/postgres-check.ts';
import type { Identity } from '../identity/types.ts';
import type { CompiledPolicy, CompiledRule, CompiledStatementMatch } from './compiled.ts';
import { frozenDecision, UNKNOWN_TARGET } from './decisions.ts';
import { conditionHolds } from './match-rule.ts';
import { matchingSubject } from './match-subject.ts';
import type { AccessRequest, Decision } from './types.ts';

/** A PostgreSQL login: who, to which target, as which database user, to which database. */
export interface DatabaseLoginRequest {
  identity: Identity;
  target: string;
  user: string;
  database: string;
  sourceAddress?: string | undefined;
}

/** One statement text of a logged-in session: each of its statements, analysed. */
export interface DatabaseStatementRequest extends DatabaseLoginRequest {
  statements: readonly StatementSummary[];
}

/** The decision, and for a deny the caller's code and a message that says what was refused. */
export interface DatabaseDecision {
  decision: Decision;
  denial: { code: 'ERR_DB_LOGIN_DENIED' | 'ERR_STATEMENT_DENIED'; message: string } | null;
}

const LOGIN_DENIED = frozenDecision('deny', null, 'no database grant allows this login');
const STATEMENT_DENIED = frozenDecision('deny', null, 'no rule allows this statement');

/**
 * A login is allowed by the first policy (load order) of the target whose subjects match and whose
 * `database:` block lists both the database user and the database; its rule is `<policy>/database`.
 */
export function evaluateDatabaseLogin(byTarget: ReadonlyMap<string, readonly CompiledPolicy[]>, request: DatabaseLoginRequest): DatabaseDecision {
  const policies = byTarget.get(request.target);
  if (policies === undefined) return { decision: UNKNOWN_TARGET, denial: null };
  for (const policy of policies) {
    const grant = policy.database;
    if (grant === null || matchingSubject(policy, request.identity) < 0) continue;
    if (grant.users.test(request.user) && grant.databases.test(request.database)) return { decision: grant.decision, denial: null };
  }
  return {
    decision: LOGIN_DENIED,
    denial: {
      code: 'ERR_DB_LOGIN_DENIED',
      message: `identity ${who(request.identity)} may not log in as database user "${request.user}" to database "${request.database}"`,
    },
  };
}

type StatementOutcome =
  | { effect: 'deny'; result: DatabaseDecision }
  | { effect: 'approve'; decision: Decision }
  | { effect: 'allow'; decision: Decision | null };

/**
 * A statement text. The login must still be allowed (a policy edit may have withdrawn it). Then
 * each statement is decided on its own — any matching deny rule, else the first matching approve,
 * else the first matching allow, else `session` statements pass with the login and everything
 * else is denied — and the strictest result wins: deny over approve over allow.
 */
export function evaluateDatabaseStatements(byTarget: ReadonlyMap<string, readonly CompiledPolicy[]>, request: DatabaseStatementRequest): DatabaseDecision {
  const login = evaluateDatabaseLogin(byTarget, request);
  if (login.decision.effect !== 'allow') return login;
  const policies = (byTarget.get(request.target) ?? []).filter((policy) => matchingSubject(policy, request.identity) >= 0);
  // `when:` conditions read claims and the source address; a statement has no headers.
  const access: AccessRequest = { identity: request.identity, target: request.target, method: 'SQL', path: '', headers: {}, sourceAddress: request.sourceAddress };

  let approve: Decision | null = null;
  let allow: Decision | null = null;
  for (const statement of request.statements) {
    const outcome = decideStatement(policies, access, statement, request.identity);
    if (outcome.effect === 'deny') return outcome.result;
    if (outcome.effect === 'approve') approve ??= outcome.decision;
    else allow ??= outcome.decision;
  }
  if (approve !== null) return { decision: approve, denial: null };
  return { decision: allow ?? login.decision, denial: null };
}

function decideStatement(policies: readonly CompiledPolicy[], access: AccessRequest, statement: StatementSummary, identity: Identity): StatementOutcome {
  let approveRule: CompiledRule | null = null;
  let allowRule: CompiledRule | null = null;
  for (const policy of policies) {
    for (const rule of policy.rules) {
      const match = rule.statements;
      if (match === null || !covers(match, statement) || !rule.when.every((c) => conditionHolds(c, access))) continue;
      switch (rule.effect) {
        case 'deny': {
          const table = anyTable(match, statement);
          if (table === undefined) break;
          const on = table === null ? '' : ` on ${table}`;
          return { effect: 'deny', result: { decision: rule.decision, denial: { code: 'ERR_STATEMENT_DENIED', message: `statement class ${describe(statement)}${on} is denied by policy rule ${rule.id}` } } };
        }
        case 'approve':
          if (approveRule === null && anyTable(match, statement) !== undefined) approveRule = rule;
          break;
        case 'allow':
          if (allowRule === null && everyTable(match, statement)) allowRule = rule;
          break;
      }
    }
  }
  if (approveRule !== null) return { effect: 'approve', decision: approveRule.decision };
  if (allowRule !== null) return { effect: 'allow', decision: allowRule.decision };
  // So that clients' SET, BEGIN, SHOW and the like work wherever the login is allowed.
  if (statement.class === 'session') return { effect: 'allow', decision: null };
  const on = statement.tables.length === 0 ? '' : ` on ${statement.tables.join(', ')}`;
  return {
    effect: 'deny',
    result: { decision: STATEMENT_DENIED, denial: { code: 'ERR_STATEMENT_DENIED', message: `statement class ${describe(statement)}${on} is not allowed for ${who(identity)} by policy` } },
  };
}

// covers, everyTable, anyTable and describe are exported for explain-postgres.ts, which reports
// the part of a rule that did not match.

/** Whether the rule names the statement's class, or its command (a command also covers longer ones it starts). */
export function covers(match: CompiledStatementMatch, statement: StatementSummary): boolean {
  if (match.classes.has(statement.class)) return true;
  return match.commands.some((command) => statement.command === command || statement.command.startsWith(`${command} `));
}

/** Allow rules: every table of the statement must match (a statement without tables does). */
export function everyTable(match: CompiledStatementMatch, statement: StatementSummary): boolean {
  const pattern = match.tablePattern;
  return pattern === null || statement.tables.every((table) => pattern.test(table));
}

/**
 * Deny and approve rules: any table matching triggers them. The first such table; null when the
 * rule has no tables (any statement it covers); undefined when it does not apply.
 */
export function anyTable(match: CompiledStatementMatch, statement: StatementSummary): string | null | undefined {
  const pattern = match.tablePattern;
  if (pattern === null) return null;
  return statement.tables.find((table) => pattern.test(table));
}

export function describe(statement: StatementSummary): string {
  return `${statement.class} (${statement.command})`;
}

/** How a refusal names the caller: subject and issuer name, never a claim. */
function who(identity: Identity): string {
  return `"${identity.subject}" (issuer ${identity.issuerName})`;
}
