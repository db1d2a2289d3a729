import type { CompiledPolicy, CompiledRule } from './compiled.ts';
import { DEFAULT_DENY, PATH_NOT_NORMALIZED, UNKNOWN_TARGET } from './decisions.ts';
import { computeIdentityHeaders } from './identity-headers.ts';
import { matchingSubject } from './match-subject.ts';
import { ruleMatches } from './match-rule.ts';
import { requestPath } from './request-path.ts';
import type { AccessRequest, Decision } from './types.ts';

/**
 * The request-path decision. Default deny; among the rules of policies that apply to the target
 * and whose subjects match, any matching `deny` wins, otherwise the first matching `allow` in load
 * order. Runs once per request, so it allocates nothing except the result when the allowing
 * policy sets identity headers; every other outcome is a prebuilt frozen Decision.
 */
export function evaluateRequest(
  byTarget: ReadonlyMap<string, readonly CompiledPolicy[]>,
  request: AccessRequest,
): Decision {
  const policies = byTarget.get(request.target);
  if (policies === undefined) return UNKNOWN_TARGET;
  const path = requestPath(request.path);
  if (path === null) return PATH_NOT_NORMALIZED;
  // The contract says upper-case already; normalizing anyway keeps `delete` from slipping past
  // a deny written for DELETE.
  const method = request.method.toUpperCase();

  let allowRule: CompiledRule | null = null;
  let allowPolicy: CompiledPolicy | null = null;
  for (let p = 0; p < policies.length; p++) {
    const policy = policies[p]!;
    // Once something allows, only a deny can still change the outcome.
    if (allowRule !== null && !policy.hasDeny) continue;
    if (matchingSubject(policy, request.identity) < 0) continue;
    const rules = policy.rules;
    for (let r = 0; r < rules.length; r++) {
      const rule = rules[r]!;
      switch (rule.effect) {
        case 'deny':
          if (ruleMatches(rule, request, method, path)) return rule.decision;
          break;
        case 'allow':
          if (allowRule === null && ruleMatches(rule, request, method, path)) {
            allowRule = rule;
            allowPolicy = policy;
          }
          break;
      }
    }
  }
  if (allowRule === null || allowPolicy === null) return DEFAULT_DENY;
  if (allowPolicy.identityHeaders.length === 0) return allowRule.decision;
  return {
    effect: 'allow',
    rule: allowRule.id,
    reason: allowRule.decision.reason,
    upstreamHeaders: computeIdentityHeaders(allowPolicy.identityHeaders, request.identity),
  };
}
