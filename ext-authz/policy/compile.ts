import { compilePolicy } from './compile-policy.ts';
import type { CompiledPolicy } from './compiled.ts';
import { compileGuardrail, type CompiledGuardrail } from './guardrails.ts';
import { PolicyError } from './errors.ts';
import type { ParsedPolicyDocument } from './parse.ts';
import type { RawPolicy } from './raw.ts';
import { CompiledPolicySet } from './policy-set.ts';
import type { PolicyIssue } from './types.ts';

export interface PolicySourceFile {
  readonly file: string;
  readonly docs: readonly ParsedPolicyDocument[];
}

/** What a bundle is checked against beyond its own files: what the operator declared in sluice.yaml. */
export interface PolicyContext {
  /**
   * The declared targets (sluice.yaml `targets:`), with each one's protocol and the operator's
   * default masking profile. A policy naming any other target is rejected at load. Undefined: not
   * checked, and every named target is taken as declared (a what-if tool without a config).
   */
  readonly targets?: ReadonlyMap<string, TargetFacts>;
  /**
   * Names of the masking profiles ext-proc has (extProc.masking.profiles). A policy naming any
   * other profile is rejected at load. Undefined: not checked.
   */
  readonly maskingProfiles?: ReadonlySet<string>;
}

/** What a policy bundle needs to know about one declared target. */
export interface TargetFacts {
  readonly protocol: string;
  /** The operator's default masking profile for the target (extProc.masking.targets), or null. */
  readonly masking: string | null;
  /**
   * A postgres target that mints a role per session: the roles a policy may grant
   * (postgres.sessionRoles.grantable); null: it does not mint roles. Absent: not checked.
   */
  readonly grantableRoles?: ReadonlySet<string> | null;
  /** Redis targets: whether ext-proc checks each command (`redis.commands`); `off` refuses rules that need it. */
  readonly redisCommands?: 'auto' | 'on' | 'off';
}

/**
 * Stage two of loading: the parsed documents of all files, in load order, become one immutable
 * bundle. Checks what no single document can: policy and guardrail names unique across files,
 * every target a policy names declared in sluice.yaml, every masking profile named one ext-proc has.
 * Throws a PolicyError carrying every issue.
 */
export function compilePolicies(files: readonly PolicySourceFile[], context: PolicyContext = {}): CompiledPolicySet {
  const issues: PolicyIssue[] = [];
  const report = (doc: ParsedPolicyDocument, pointer: string, message: string, atKey = false) => {
    issues.push({ file: doc.file, ...doc.position(pointer, atKey), path: pointer, message });
  };
  const where = (doc: ParsedPolicyDocument, pointer: string) => {
    const { line, column } = doc.position(pointer);
    return `${doc.file}:${line}:${column}`;
  };

  const checkProfile = (doc: ParsedPolicyDocument, pointer: string, name: string | undefined) => {
    if (name === undefined || context.maskingProfiles === undefined || context.maskingProfiles.has(name)) return;
    const known = [...context.maskingProfiles].sort().join(', ') || 'none configured';
    report(doc, pointer, `unknown masking profile "${name}" (extProc.masking.profiles has: ${known})`);
  };

  // A target exists when the operator declared it; without a config, whatever policies name.
  const declared = context.targets;
  const knownTarget = (name: string) => declared === undefined || declared.has(name);
  const unknownTarget = (name: string) => {
    const known = [...(declared?.keys() ?? [])].sort().join(', ') || 'none declared';
    return `unknown target "${name}" (sluice.yaml targets: ${known})`;
  };
  const targets = new Set<string>(declared?.keys() ?? []);
  // What a policy says must fit the protocol of every target it names: database grants and
  // statement rules are for postgres targets, methods and paths for the others. Without a config
  // the protocols are unknown and this is not checked.
  const checkProtocols = (raw: RawPolicy, problem: (pointer: string, message: string) => void) => {
    if (declared === undefined) return;
    const named = raw.targets.flatMap((name) => { const facts = declared.get(name); return facts === undefined ? [] : [{ name, protocol: facts.protocol }]; });
    const other = named.find((t) => t.protocol !== 'postgres');
    const postgres = named.find((t) => t.protocol === 'postgres');
    const notRedis = named.find((t) => t.protocol !== 'redis');
    const redis = named.find((t) => t.protocol === 'redis');
    if (raw.database !== undefined && other !== undefined) problem('/database', `database applies to postgres targets; "${other.name}" is an ${other.protocol} target`);
    if (raw.database !== undefined) checkGrant(raw.database.grant, raw.targets, problem);
    if (raw.redis !== undefined && notRedis !== undefined) problem('/redis', `redis applies to redis targets; "${notRedis.name}" is an ${notRedis.protocol} target`);
    raw.rules.forEach((rule, r) => {
      if (rule.statements !== undefined && other !== undefined) {
        problem(`/rules/${r}/statements`, `statements apply to postgres targets; "${other.name}" is an ${other.protocol} target`);
      }
      if (rule.statements === undefined && postgres !== undefined) {
        const what = rule.methods !== undefined ? '/methods' : rule.paths !== undefined ? '/paths' : '';
        problem(`/rules/${r}${what}`, `"${postgres.name}" is a postgres target: its rules say which statements (statements: [read, write, ...]), not methods or paths`);
      }
      if ((rule.commands !== undefined || rule.keys !== undefined) && notRedis !== undefined) {
        problem(`/rules/${r}/${rule.commands !== undefined ? 'commands' : 'keys'}`, `commands and keys apply to redis targets; "${notRedis.name}" is an ${notRedis.protocol} target`);
      }
      if (redis !== undefined && rule.commands === undefined) {
        const what = rule.methods !== undefined ? '/methods' : rule.paths !== undefined ? '/paths' : rule.statements !== undefined ? '/statements' : '';
        problem(`/rules/${r}${what}`, `"${redis.name}" is a redis target: its rules say which commands (commands: [GET, read, "*", ...]) and keys, not methods, paths or statements`);
      }
      const off = named.find((t) => declared.get(t.name)?.redisCommands === 'off');
      if (off !== undefined && rule.commands !== undefined && needsCommandChecks(rule)) {
        problem(`/rules/${r}/commands`, `redis target "${off.name}" runs without command checks (redis.commands: off in sluice.yaml), so this rule could not be enforced; use commands: ["*"] without keys, or turn command checks on`);
      }
    });
  };

  // A grant must fit every target it names: only roles the target lets policies grant, and a
  // target that mints roles gets told which (a login with no grant there would be refused anyway).
  const checkGrant = (grant: readonly string[] | undefined, named: readonly string[], problem: (pointer: string, message: string) => void) => {
    if (declared === undefined) return;
    for (const name of named) {
      const allowed = declared.get(name)?.grantableRoles;
      if (allowed === undefined || declared.get(name)?.protocol !== 'postgres') continue;
      if (allowed === null) {
        if (grant !== undefined) problem('/database/grant', `target "${name}" does not mint a role per session (postgres.sessionRoles): grant has nothing to apply to`);
        continue;
      }
      if (grant === undefined) {
        problem('/database', `target "${name}" mints a role per session: say which roles it gets (database.grant, from: ${[...allowed].sort().join(', ')})`);
        continue;
      }
      grant.forEach((role, i) => {
        if (!allowed.has(role)) problem(`/database/grant/${i}`, `role "${role}" is not grantable on target "${name}" (postgres.sessionRoles.grantable: ${[...allowed].sort().join(', ')})`);
      });
    }
  };

  const policies: CompiledPolicy[] = [];
  const policyNames = new Map<string, string>();
  for (const { docs } of files) {
    for (const doc of docs) {
      (doc.value.policies ?? []).forEach((raw, p) => {
        const base = `/policies/${p}`;
        const first = policyNames.get(raw.name);
        if (first !== undefined) report(doc, `${base}/name`, `duplicate policy "${raw.name}" (first declared at ${first})`);
        else policyNames.set(raw.name, where(doc, `${base}/name`));
        raw.targets.forEach((target, t) => {
          if (!knownTarget(target)) report(doc, `${base}/targets/${t}`, unknownTarget(target));
          else targets.add(target);
        });
        raw.rules.forEach((rule, r) => checkProfile(doc, `${base}/rules/${r}/masking`, rule.masking));
        checkProtocols(raw, (pointer, message) => report(doc, `${base}${pointer}`, message, true));
        policies.push(compilePolicy(raw, doc.file, (pointer, message) => report(doc, `${base}${pointer}`, message)));
      });
    }
  }

  const guardrailsByTarget = new Map<string, CompiledGuardrail[]>();
  const guardrailNames = new Map<string, string>();
  for (const { docs } of files) {
    for (const doc of docs) {
      (doc.value.guardrails ?? []).forEach((raw, g) => {
        const base = `/guardrails/${g}`;
        const first = guardrailNames.get(raw.name);
        if (first !== undefined) report(doc, `${base}/name`, `duplicate guardrail "${raw.name}" (first declared at ${first})`);
        else guardrailNames.set(raw.name, where(doc, `${base}/name`));
        raw.targets.forEach((target, t) => {
          if (!knownTarget(target)) report(doc, `${base}/targets/${t}`, unknownTarget(target));
          else targets.add(target);
        });
        const compiled = compileGuardrail(raw, (pointer, message) => report(doc, `${base}${pointer}`, message));
        if (compiled === null) return;
        for (const target of compiled.targets) {
          const list = guardrailsByTarget.get(target) ?? [];
          list.push(compiled);
          guardrailsByTarget.set(target, list);
        }
      });
    }
  }

  if (issues.length > 0) throw new PolicyError(sortIssues(issues, files));

  const byTarget = new Map<string, CompiledPolicy[]>();
  for (const name of targets) byTarget.set(name, []);
  for (const policy of policies) for (const target of policy.targets) byTarget.get(target)!.push(policy);
  for (const list of byTarget.values()) Object.freeze(list);

  return new CompiledPolicySet({
    targets,
    sources: files.map((f) => f.file),
    policies,
    byTarget,
    guardrailsByTarget,
    maskingByTarget: new Map([...(declared ?? [])].flatMap(([name, facts]) => (facts.masking === null ? [] : [[name, facts.masking] as const]))),
  });
}

/**
 * Whether a redis rule can only be enforced by looking at each command: anything but an allow of
 * every command on every key is (redis_proxy alone only knows who logged in).
 */
export function needsCommandChecks(rule: { effect: string; commands?: readonly string[]; keys?: readonly string[] }): boolean {
  return !(rule.effect === 'allow' && rule.keys === undefined && rule.commands?.length === 1 && rule.commands[0] === '*');
}

/** In load order of the files, then by position, whichever check found the issue. */
function sortIssues(issues: PolicyIssue[], files: readonly PolicySourceFile[]): PolicyIssue[] {
  const order = new Map(files.map((f, i) => [f.file, i]));
  return issues.sort(
    (a, b) => (order.get(a.file) ?? 0) - (order.get(b.file) ?? 0) || a.line - b.line || a.column - b.column,
  );
}
