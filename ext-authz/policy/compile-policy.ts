import { compileTableGlobs } from './table-glob.ts';
import { compileClaimPath } from './claim-path.ts';
import { compileCondition } from './compile-condition.ts';
import type { CompiledIdentityHeader, CompiledPolicy, CompiledRule, CompiledSubject } from './compiled.ts';
import { frozenDecision } from './decisions.ts';
import { compilePathGlobs } from './path-glob.ts';
import type { RawPolicy, RawRule, RawSubject } from './raw.ts';
import type { Effect } from './types.ts';
import { compileApproval, durationMs } from './compile-approval.ts';
import { compileValueGlobs } from './value-glob.ts';
import { STATEMENT_CLASSES, type StatementClass } from '../../common/postgres-check.ts';
import type { CompiledDatabaseGrant, CompiledStatementMatch } from './compiled.ts';
import type { RawDatabaseGrant } from './raw.ts';

// A Record over Effect, so adding an effect fails to compile until it has a verb here.
const VERB: Record<Effect, string> = { allow: 'allowed', deny: 'denied', approve: 'needs approval under' };

/**
 * Compiles one schema-checked policy: sets for users, groups and methods, one RegExp per rule for
 * its paths, and the rule's frozen Decision. Cross-policy checks are compile.ts's. Problems that
 * only show up while compiling (a glob picomatch rejects) go to `report` with a JSON pointer
 * relative to the policy.
 */
export function compilePolicy(
  raw: RawPolicy,
  file: string,
  report: (pointer: string, message: string) => void,
): CompiledPolicy {
  const rules = raw.rules.map((rule, r) => compileRule(raw.name, rule, (pointer, message) => report(`/rules/${r}${pointer}`, message)));
  return Object.freeze({
    name: raw.name,
    description: raw.description ?? '',
    file,
    targets: Object.freeze([...new Set(raw.targets)]),
    subjects: Object.freeze(raw.subjects.map(compileSubject)),
    rules: Object.freeze(rules),
    canOverrideAllow: rules.some((rule) => rule.effect !== 'allow'),
    identityHeaders: Object.freeze(Object.entries(raw.identityHeaders ?? {}).map(compileIdentityHeader)),
    database: raw.database === undefined ? null : compileDatabaseGrant(raw.name, raw.database),
    redis: raw.redis === undefined ? null : Object.freeze({
      maxSessionMs: raw.redis.maxSession === undefined ? null : durationMs(raw.redis.maxSession),
      decision: frozenDecision('allow', `${raw.name}/redis`, `login allowed by ${raw.name}/redis`),
    }),
  });
}

/** The login grant's rule is named `<policy>/database` wherever a decision names a rule. */
function compileDatabaseGrant(policyName: string, raw: RawDatabaseGrant): CompiledDatabaseGrant {
  const id = `${policyName}/database`;
  return Object.freeze({
    users: compileValueGlobs(raw.users),
    databases: compileValueGlobs(raw.databases),
    usersText: Object.freeze([...raw.users]),
    databasesText: Object.freeze([...raw.databases]),
    decision: raw.grant === undefined
      ? frozenDecision('allow', id, `login allowed by ${id}`)
      : Object.freeze({ ...frozenDecision('allow', id, `login allowed by ${id}`), databaseRoles: Object.freeze([...raw.grant]) }),
  });
}

function compileStatementMatch(raw: RawRule): CompiledStatementMatch | null {
  if (raw.statements === undefined) return null;
  const isClass = (entry: string): entry is StatementClass => (STATEMENT_CLASSES as readonly string[]).includes(entry);
  return Object.freeze({
    classes: new Set(raw.statements.filter(isClass)),
    commands: Object.freeze(raw.statements.filter((entry) => !isClass(entry))),
    tablePattern: raw.tables === undefined ? null : compileTableGlobs(raw.tables),
    statementsText: Object.freeze([...raw.statements]),
    tablesText: raw.tables === undefined ? null : Object.freeze([...raw.tables]),
  });
}

function compileSubject(raw: RawSubject, index: number): CompiledSubject {
  return Object.freeze({
    issuer: raw.issuer ?? null,
    anyUser: raw.users?.includes('*') ?? false,
    users: raw.users === undefined ? null : new Set(raw.users),
    groups: raw.groups === undefined ? null : new Set(raw.groups),
    claims: Object.freeze(
      Object.entries(raw.claims ?? {}).map(([path, expected]) =>
        Object.freeze({ path: compileClaimPath(path), values: new Set(Array.isArray(expected) ? expected : [expected]) }),
      ),
    ),
    index,
  });
}

function compileRule(policyName: string, raw: RawRule, report: (pointer: string, message: string) => void): CompiledRule {
  const id = `${policyName}/${raw.name}`;
  const methods = raw.methods?.map((method) => method.toUpperCase()) ?? null;
  let pathPattern: RegExp | null = null;
  if (raw.paths !== undefined) {
    try {
      pathPattern = compilePathGlobs(raw.paths);
    } catch (err) {
      report('/paths', `invalid path glob: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const when = (raw.when ?? []).map((condition, c) => {
    try {
      return compileCondition(condition);
    } catch (err) {
      report(`/when/${c}`, `invalid condition: ${err instanceof Error ? err.message : String(err)}`);
      return null;
    }
  });
  return Object.freeze({
    name: raw.name,
    id,
    effect: raw.effect,
    anyMethod: methods === null || methods.includes('*'),
    methods: new Set(methods ?? []),
    pathPattern,
    when: Object.freeze(when.filter((c) => c !== null)),
    decision: frozenDecision(raw.effect, id, `${VERB[raw.effect]} ${raw.effect === 'approve' ? '' : 'by '}${id}`,
      raw.approval === undefined ? null : compileApproval(raw.approval, (pointer, message) => report(`/approval${pointer}`, message)),
      raw.masking ?? null),
    methodsText: methods === null ? null : Object.freeze(methods),
    pathsText: raw.paths === undefined ? null : Object.freeze([...raw.paths]),
    statements: compileStatementMatch(raw),
    commands: raw.commands === undefined ? null : Object.freeze({
      commands: Object.freeze([...new Set(raw.commands)]),
      keys: raw.keys === undefined ? null : Object.freeze([...raw.keys]),
    }),
  });
}

function compileIdentityHeader([name, value]: [string, string]): CompiledIdentityHeader {
  const special = value === '$subject' ? 'subject' : value === '$issuer' ? 'issuer' : value === '$groups' ? 'groups' : null;
  return Object.freeze({
    name: name.toLowerCase(),
    kind: special ?? 'claim',
    claim: special === null ? compileClaimPath(value) : null,
  });
}
