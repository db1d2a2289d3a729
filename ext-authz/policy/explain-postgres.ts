import type { StatementSummary } from '../../common/postgres-check.ts';
import type { CompiledPolicy, CompiledRule } from './compiled.ts';
import { anyTable, covers, describe, everyTable, type DatabaseDecision, type DatabaseLoginRequest } from './evaluate-postgres.ts';
import { policyStep, type ExplainStep } from './explain.ts';
import { conditionHolds } from './match-rule.ts';
import type { CompiledPolicySet } from './policy-set.ts';
import type { AccessRequest } from './types.ts';

/** A login (statements null) or a statement text, already analysed, to explain. */
export interface DatabaseExplainRequest extends DatabaseLoginRequest {
  statements: readonly StatementSummary[] | null;
}

/**
 * `sluice policy explain` for a PostgreSQL target: the real decision (evaluate-postgres.ts) and a
 * trace that walks the same matchers policy by policy — subjects, the `database:` login grant,
 * then each statement rule against each statement — saying what matched and what did not.
 */
export function explainDatabase(set: CompiledPolicySet, request: DatabaseExplainRequest): { decision: DatabaseDecision; trace: ExplainStep[] } {
  const decision = request.statements === null
    ? set.evaluateDatabaseLogin(request)
    : set.evaluateDatabaseStatements({ ...request, statements: request.statements });
  const trace: ExplainStep[] = [];
  if (!set.targets.has(request.target)) return { decision, trace };
  const access: AccessRequest = { identity: request.identity, target: request.target, method: 'SQL', path: '', headers: {}, sourceAddress: request.sourceAddress };

  for (const policy of set.policies) {
    const applies = policyStep(policy, request.target, request.identity);
    trace.push(applies);
    if (!applies.matched) continue;
    trace.push(loginStep(policy, request));
    if (request.statements === null) continue;
    for (const rule of policy.rules) {
      if (rule.statements === null) {
        trace.push({ policy: policy.name, rule: rule.name, matched: false, why: 'an HTTP rule (methods, paths), not a statement rule' });
        continue;
      }
      request.statements.forEach((statement, i) => {
        const label = request.statements!.length > 1 ? `statement ${i + 1}, ` : '';
        const miss = statementMismatch(rule, statement, access);
        const decides = decision.decision.rule === rule.id ? '; this rule decides' : '';
        trace.push({
          policy: policy.name,
          rule: rule.name,
          matched: miss === null,
          why: `${label}${describe(statement)}${on(statement.tables)}: ${miss ?? `matches (${rule.effect})${decides}`}`,
        });
      });
    }
  }
  return { decision, trace };
}

function loginStep(policy: CompiledPolicy, request: DatabaseLoginRequest): ExplainStep {
  const grant = policy.database;
  const step = (matched: boolean, why: string): ExplainStep => ({ policy: policy.name, rule: 'database', matched, why });
  if (grant === null) return step(false, 'no database: block, so this policy grants no login');
  if (!grant.users.test(request.user)) return step(false, `database user "${request.user}" is not one of [${grant.usersText.join(', ')}]`);
  if (!grant.databases.test(request.database)) return step(false, `database "${request.database}" is not one of [${grant.databasesText.join(', ')}]`);
  return step(true, `login as "${request.user}" to "${request.database}" granted`);
}

/** The first part of a statement rule that does not cover the statement, or null when it does. */
function statementMismatch(rule: CompiledRule, statement: StatementSummary, access: AccessRequest): string | null {
  const match = rule.statements!;
  if (!covers(match, statement)) return `the rule covers [${match.statementsText.join(', ')}], not this statement`;
  const tables = match.tablesText?.join(', ');
  // Allow rules need every table to match; deny and approve rules fire on any one.
  if (rule.effect === 'allow' ? !everyTable(match, statement) : anyTable(match, statement) === undefined) {
    return `${rule.effect === 'allow' ? 'not every table is' : 'no table is'} in [${tables}]`;
  }
  const failed = rule.when.find((condition) => !conditionHolds(condition, access));
  return failed === undefined ? null : `condition does not hold: ${failed.description}`;
}

function on(tables: readonly string[]): string {
  return tables.length === 0 ? '' : ` on ${tables.join(', ')}`;
}
