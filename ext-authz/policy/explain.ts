import type { Identity } from '../identity/types.ts';
import type { CompiledPolicy, CompiledRule, CompiledSubject } from './compiled.ts';
import { claimMatches, groupsMatch, issuerMatches, matchingSubject, userMatches } from './match-subject.ts';
import { conditionHolds, methodMatches, pathMatches } from './match-rule.ts';
import type { CompiledPolicySet } from './policy-set.ts';
import { requestPath } from './request-path.ts';
import type { AccessRequest, Decision } from './types.ts';

export interface ExplainStep {
  policy: string;
  /** Absent for a step about the policy as a whole (target, subjects). */
  rule?: string;
  matched: boolean;
  why: string;
}

export interface Explanation {
  decision: Decision;
  trace: ExplainStep[];
}

/**
 * Answers "would this request be allowed, and by which rule?" for `sluice policy explain`. The
 * decision is the real evaluate() result; the trace walks the same compiled matchers step by step
 * to say why each policy and rule did or did not match. Slow and allocating on purpose, which is
 * why it lives apart from evaluate.ts.
 */
export function explain(set: CompiledPolicySet, request: AccessRequest): Explanation {
  const decision = set.evaluate(request);
  const trace: ExplainStep[] = [];
  if (!set.targets.has(request.target)) return { decision, trace };
  const path = requestPath(request.path);
  if (path === null) return { decision, trace };
  const method = request.method.toUpperCase();

  for (const policy of set.policies) {
    const applies = policyStep(policy, request.target, request.identity);
    trace.push(applies);
    if (!applies.matched) continue;
    for (const rule of policy.rules) {
      const miss = ruleMismatch(rule, request, method, path);
      trace.push({
        policy: policy.name,
        rule: rule.name,
        matched: miss === null,
        why: miss ?? outcome(rule, decision),
      });
    }
  }
  return { decision, trace };
}

/**
 * The step about a policy as a whole: it applies to the target and one of its subject entries
 * matches the identity (matched), or why not. Shared with explain-postgres.ts.
 */
export function policyStep(policy: CompiledPolicy, target: string, identity: Identity): ExplainStep {
  if (!policy.targets.includes(target)) return { policy: policy.name, matched: false, why: `applies to ${policy.targets.join(', ')}, not ${target}` };
  const subject = matchingSubject(policy, identity);
  if (subject < 0) {
    const misses = policy.subjects.map((s) => `#${s.index + 1}: ${subjectMismatch(s, identity)}`);
    return { policy: policy.name, matched: false, why: `no subject entry matches (${misses.join('; ')})` };
  }
  return { policy: policy.name, matched: true, why: `subject entry #${subject + 1} matches` };
}

function outcome(rule: CompiledRule, decision: Decision): string {
  if (decision.rule === rule.id) return `matches; this rule decides (${rule.effect})`;
  if (decision.effect === 'deny') return `matches (${rule.effect}), but ${decision.rule ?? 'the default'} denies`;
  return `matches (${rule.effect}), but ${decision.rule ?? 'another rule'} decided first`;
}

/** Why a subject entry does not match the identity ('matches' when it does). */
function subjectMismatch(subject: CompiledSubject, identity: Identity): string {
  if (!issuerMatches(subject, identity)) return `issuer is not ${subject.issuer}`;
  if (!userMatches(subject, identity)) return `subject is not one of users [${[...subject.users!].join(', ')}]`;
  if (!groupsMatch(subject, identity)) return `no group in [${[...subject.groups!].join(', ')}]`;
  const claim = subject.claims.find((match) => !claimMatches(match, identity));
  if (claim !== undefined) return `claim ${claim.path.text} is not ${[...claim.values].map((v) => JSON.stringify(v)).join(' or ')}`;
  return 'matches';
}

function ruleMismatch(rule: CompiledRule, request: AccessRequest, method: string, path: string): string | null {
  if (rule.statements !== null) return `a database statement rule (statements: ${rule.statements.statementsText.join(', ')}), not an HTTP one`;
  if (!methodMatches(rule, method)) return `method ${method} is not one of ${rule.methodsText!.join(', ')}`;
  if (!pathMatches(rule, path)) return `path ${path} matches none of ${rule.pathsText!.join(', ')}`;
  const failed = rule.when.find((condition) => !conditionHolds(condition, request));
  return failed === undefined ? null : `condition does not hold: ${failed.description}`;
}
