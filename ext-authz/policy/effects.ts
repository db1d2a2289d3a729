import type { Effect } from './types.ts';

/**
 * Every effect a rule may declare, in the order the schema lists them. A new effect (the planned
 * `approve`) is added here and to `Effect` in types.ts; the compile-time check below fails until
 * both agree, and evaluate.ts is where its precedence against allow/deny is decided.
 */
export const EFFECTS = ['allow', 'deny', 'approve'] as const satisfies readonly Effect[];

type Unlisted = Exclude<Effect, (typeof EFFECTS)[number]>;
const everyEffectListed: [Unlisted] extends [never] ? true : never = true;
void everyEffectListed;
