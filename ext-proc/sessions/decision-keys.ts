import type { SessionRecord } from './types.ts';

/**
 * How a session was let in, reduced to the keys list() filters on (`rule`, `approval`,
 * `refusals`): one definition for the file store's index, and the one PostgreSQL's generated
 * columns repeat in SQL (migration 004; refusals as 006 has it: keep the two in step; the store
 * suite checks they agree). Since Redis commands count as refusals, the file store's lines say
 * which derivation wrote them (frame.ts).
 */
export interface DecisionKeys {
  /** `policy/rule` that decided, as recorded ('' for a session no rule let in, such as a refused database login). */
  rule: string;
  /** The session waited for a just-in-time approval: an `approval` event, or a database statement that carries an `approvalId`. */
  approval: boolean;
  /** The gateway refused at least one of the session's database statements or Redis commands (`pg.statement` or `redis.command` outcome `refused`). */
  refusals: boolean;
}

export function decisionKeys(record: Pick<SessionRecord, 'rule' | 'events'>): DecisionKeys {
  let approval = false;
  let refusals = false;
  for (const event of record.events) {
    if (event.kind === 'approval') approval = true;
    else if (event.kind === 'pg.statement') {
      if (event.approvalId !== undefined) approval = true;
      if (event.outcome === 'refused') refusals = true;
    } else if (event.kind === 'redis.command' && event.outcome === 'refused') refusals = true;
  }
  return { rule: record.rule, approval, refusals };
}

/**
 * The policy part of a rule id (`prod` of `prod/allow-orders`), or null when the id has no `/`.
 * Policy names cannot contain `/` (ext-authz/policy/schema.ts), so the first one separates.
 */
export function policyOf(rule: string): string | null {
  const slash = rule.indexOf('/');
  return slash < 0 ? null : rule.slice(0, slash);
}

/** A `rule` filter: one rule (`prod/allow-orders`) or every rule of a policy (`prod/*`). */
export type RuleMatch = { rule: string } | { policy: string };

/**
 * Reads a `rule` filter value, or undefined when it is neither `policy/rule` nor `policy/*`. A
 * `*` anywhere else is refused rather than matched literally: no rule id contains one, so it can
 * only be a mistaken pattern (`prod/allow-*`) that would silently match nothing.
 */
export function parseRuleMatch(value: string): RuleMatch | undefined {
  const match = /^([^/*]+)\/(\*|[^*]+)$/.exec(value);
  if (!match) return undefined;
  return match[2] === '*' ? { policy: match[1]! } : { rule: value };
}

/** `yes` / `no` of the approval and refusals filters, or undefined for anything else. */
export function parseYesNo(value: string): boolean | undefined {
  return value === 'yes' ? true : value === 'no' ? false : undefined;
}
