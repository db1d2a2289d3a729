import type { CompiledPolicy, CompiledRule } from './compiled.ts';
import { DEFAULT_DENY, PATH_NOT_NORMALIZED, UNKNOWN_TARGET } from './decisions.ts';
import { computeIdentityHeaders } from './identity-headers.ts';
import { matchingSubject } from './match-subject.ts';
import { ruleMatches } from './match-rule.ts';
import { requestPath } from './request-path.ts';
import type { AccessRequest, Decision } from './types.ts';

/**
 * The request-path decision. Default deny; among the rules of policies that apply to the target
 * and whose subjects match, any matching `deny` wins, then the first matching `approve` (a risky
 * action needs a human even where a broader rule allows it), otherwise the first matching `allow`
 * in load order. Runs once per request, so it allocates nothing except the result when the allowing
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
  let approveRule: CompiledRule | null = null;
  let approvePolicy: CompiledPolicy | null = null;
  for (let p = 0; p < policies.length; p++) {
    const policy = policies[p]!;
    // Once something allows, only a deny or an approve can still change the outcome.
    if (allowRule !== null && !policy.canOverrideAllow) continue;
    if (matchingSubject(policy, request.identity) < 0) continue;
    const rules = policy.rules;
    for (let r = 0; r < rules.length; r++) {
      const rule = rules[r]!;
      // A database statement rule says nothing about HTTP requests (it has no methods or paths).
      if (rule.statements !== null) continue;
      switch (rule.effect) {
        case 'deny':
          if (ruleMatches(rule, request, method, path)) return rule.decision;
          break;
        case 'approve':
          if (approveRule === null && ruleMatches(rule, request, method, path)) {
            approveRule = rule;
            approvePolicy = policy;
          }
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
  if (approveRule !== null && approvePolicy !== null) return withIdentityHeaders(approveRule, approvePolicy, request);
  if (allowRule === null || allowPolicy === null) return DEFAULT_DENY;
  return withIdentityHeaders(allowRule, allowPolicy, request);
}

/**
 * Decisions carrying identity headers, per identity object and rule. The verifier hands out the
 * same Identity for every request with a cached token, so a caller's headers are computed once
 * per rule, not per request; entries go when the identity does (token cache eviction).
 */
const personalized = new WeakMap<AccessRequest['identity'], Map<CompiledRule, Decision>>();

/** The rule's shared decision, or a frozen copy carrying the policy's identity headers for this caller. */
function withIdentityHeaders(rule: CompiledRule, policy: CompiledPolicy, request: AccessRequest): Decision {
  if (policy.identityHeaders.length === 0) return rule.decision;
  let byRule = personalized.get(request.identity);
  const cached = byRule?.get(rule);
  if (cached !== undefined) return cached;
  const decision: Decision = Object.freeze({
    effect: rule.decision.effect,
    rule: rule.id,
    reason: rule.decision.reason,
    upstreamHeaders: Object.freeze(computeIdentityHeaders(policy.identityHeaders, request.identity)),
    approval: rule.decision.approval,
    masking: rule.decision.masking,
  });
  if (byRule === undefined) personalized.set(request.identity, (byRule = new Map()));
  byRule.set(rule, decision);
  return decision;
}
