import type { CallerErrorCode } from '../common/error-codes.ts';
import type { Action } from './check-input.ts';
import { pathAmbiguity } from './protocols/http/path-safety.ts';

/** Why the shape phase refuses an action: the caller's code, message and extra fields. */
export interface ShapeRefusal {
  code: CallerErrorCode;
  message: string;
  extra?: Readonly<Record<string, unknown>>;
}

/**
 * Why an action cannot be decided as sent, or null when it means one thing only. HTTP: a path the
 * upstream could read differently from the policy (see path-safety.ts). PostgreSQL: a check the
 * processor sent without a field the decision needs (phase, database user, database).
 */
export function actionRefusal(action: Action): ShapeRefusal | null {
  switch (action.kind) {
    case 'http': {
      const ambiguity = pathAmbiguity(action.path);
      return ambiguity === null ? null : { code: 'ERR_PATH_AMBIGUOUS', message: `the request path is ambiguous (${ambiguity})`, extra: { reason: ambiguity } };
    }
    case 'postgres':
      return action.malformed === null ? null : { code: 'ERR_DB_CHECK_INVALID', message: `the database check is malformed: ${action.malformed}` };
    case 'redis':
      return null;
  }
}
