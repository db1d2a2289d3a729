import { resolveClaim } from './claim-path.ts';
import type { CompiledCondition, CompiledRule } from './compiled.ts';
import { valueIn, valueMatches } from './match-value.ts';
import type { AccessRequest } from './types.ts';

/*
 * Whether a rule covers a request: method, path and every `when:` condition. The parts are
 * exported for explain.ts, which reports the first part that failed; evaluate.ts calls
 * `ruleMatches`. `path` is the output of requestPath(), computed once per request.
 */

export function ruleMatches(rule: CompiledRule, request: AccessRequest, method: string, path: string): boolean {
  if (!methodMatches(rule, method) || !pathMatches(rule, path)) return false;
  const when = rule.when;
  for (let i = 0; i < when.length; i++) if (!conditionHolds(when[i]!, request)) return false;
  return true;
}

export function methodMatches(rule: CompiledRule, method: string): boolean {
  return rule.anyMethod || rule.methods.has(method);
}

export function pathMatches(rule: CompiledRule, path: string): boolean {
  return rule.pathPattern === null || rule.pathPattern.test(path);
}

export function conditionHolds(condition: CompiledCondition, request: AccessRequest): boolean {
  let value: unknown;
  switch (condition.source) {
    case 'claim':
      value = resolveClaim(request.identity.claims, condition.claim!);
      break;
    case 'header':
      // Own properties only: a header named `constructor` must not find Object.prototype's.
      value = Object.hasOwn(request.headers, condition.header) ? request.headers[condition.header] : undefined;
      break;
    case 'sourceAddress':
      value = request.sourceAddress;
      break;
  }
  switch (condition.operator) {
    case 'present':
      return (value !== undefined && value !== null) === condition.present;
    case 'equals':
    case 'in':
      return valueIn(value, condition.values!);
    case 'matches':
      return valueMatches(value, condition.pattern!);
  }
}
