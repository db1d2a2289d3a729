import type { Action } from './check-input.ts';
import { pathAmbiguity } from './protocols/http/path-safety.ts';

/**
 * Why an action could mean something else to the upstream than to the policy that decides on it,
 * or null when it means one thing only. HTTP: the path (see path-safety.ts). A database action
 * will bring its own case (e.g. a statement the upstream would split differently).
 */
export function actionAmbiguity(action: Action): string | null {
  switch (action.kind) {
    case 'http':
      return pathAmbiguity(action.path);
    default:
      // The policy phase denies any kind it has no rules for (policy-input.ts).
      return null;
  }
}
