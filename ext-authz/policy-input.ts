import type { CheckInput } from './check-input.ts';
import type { Identity } from './identity/types.ts';
import { NO_RULES_FOR_ACTION } from './policy/decisions.ts';
import type { ContentCheck, Decision, PolicySet } from './policy/types.ts';

/*
 * What the policy phase reads from a neutral check. Policy files have rules for HTTP requests
 * only, so only an HTTP action reaches them; any other action is denied (fail closed) until the
 * policy language learns it. A database action will bring its own case to each function here.
 */

/** The policy decision on the action: evaluated for HTTP, a deny for any kind the rules do not cover. */
export function decideAction(policies: PolicySet, identity: Identity, target: string, input: CheckInput): Decision {
  const action = input.action;
  switch (action.kind) {
    case 'http':
      return policies.evaluate({
        identity,
        target,
        method: action.method,
        path: action.path,
        headers: action.headers,
        sourceAddress: input.sourceAddress,
      });
    default:
      return NO_RULES_FOR_ACTION;
  }
}

/**
 * The content guardrails look at, or null when the action has none they can read (the policy
 * decision then denies it anyway). A database action will give its statement as the body.
 */
export function contentOf(target: string, input: CheckInput): ContentCheck | null {
  const action = input.action;
  switch (action.kind) {
    case 'http':
      return { target, path: action.path, query: action.query, headers: action.headers, body: action.body };
    default:
      return null;
  }
}
