import type { CompiledPolicySet } from '../ext-authz/policy/index.ts';
import { parseRuleMatch } from '../ext-proc/sessions/decision-keys.ts';
import { ConsoleError } from './errors.ts';

/** The filters of the sessions page, as the form sends them and as ext-proc's sessions API takes them. */
export interface SessionFilters {
  subject: string;
  target: string;
  outcome: string;
  protocol: string;
  masked: string;
  /** `policy/rule` or `policy/*`. */
  rule: string;
  /** `yes`, `no` or '' (either). */
  approval: string;
  refusals: string;
  /** `datetime-local` values, read as UTC. */
  from: string;
  to: string;
  cursor: string;
}

export const OUTCOMES = ['completed', 'failed', 'refused', 'incomplete'] as const;
export const PROTOCOLS = ['http', 'postgres', 'redis'] as const;
export const YES_NO = ['yes', 'no'] as const;
export const PAGE_SIZE = 50;
const LOCAL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/;

export function readFilters(params: URLSearchParams): SessionFilters {
  const get = (name: string) => (params.get(name) ?? '').trim().slice(0, 256);
  const filters: SessionFilters = {
    subject: get('subject'), target: get('target'), outcome: get('outcome'), protocol: get('protocol'), masked: get('masked'),
    rule: get('rule'), approval: get('approval'), refusals: get('refusals'), from: get('from'), to: get('to'), cursor: get('cursor'),
  };
  const problems: string[] = [];
  if (filters.outcome && !(OUTCOMES as readonly string[]).includes(filters.outcome)) problems.push(`status must be one of ${OUTCOMES.join(', ')}`);
  if (filters.protocol && !(PROTOCOLS as readonly string[]).includes(filters.protocol)) problems.push(`protocol must be one of ${PROTOCOLS.join(', ')}`);
  if (filters.rule && parseRuleMatch(filters.rule) === undefined) problems.push('rule must be policy/rule, or policy/* for any rule of the policy');
  if (filters.approval && !(YES_NO as readonly string[]).includes(filters.approval)) problems.push('waited for approval must be yes or no');
  if (filters.refusals && !(YES_NO as readonly string[]).includes(filters.refusals)) problems.push('statements refused must be yes or no');
  for (const field of ['from', 'to'] as const) if (filters[field] && !LOCAL_TIME.test(filters[field])) problems.push(`${field} must be a date and time`);
  if (problems.length) throw new ConsoleError('ERR_CONSOLE_INVALID', problems.join('; '));
  return filters;
}

/** The sessions API query for these filters (times as UTC ISO 8601). */
export function apiQuery(filters: SessionFilters, limit = PAGE_SIZE): URLSearchParams {
  const query = new URLSearchParams({ limit: String(limit) });
  for (const field of ['subject', 'target', 'outcome', 'protocol', 'masked', 'rule', 'approval', 'refusals', 'cursor'] as const) if (filters[field]) query.set(field, filters[field]);
  for (const field of ['from', 'to'] as const) if (filters[field]) query.set(field, `${filters[field].length === 16 ? `${filters[field]}:00` : filters[field]}Z`);
  return query;
}

/** The page URL for these filters (the cursor replaced). */
export function pageUrl(filters: SessionFilters, cursor: string | undefined): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries({ ...filters, cursor: cursor ?? '' })) if (value) query.set(key, value);
  const text = query.toString();
  return text ? `/console/sessions?${text}` : '/console/sessions';
}

/**
 * Suggestions for the rule filter: `policy/*` and the rule ids of the live bundle that can let a
 * session in (not deny rules). Only suggestions: a rule of an earlier bundle can still be typed.
 */
export function ruleChoices(policies: CompiledPolicySet): string[] {
  const choices: string[] = [];
  for (const policy of policies.policies) {
    const rules = policy.rules.filter((rule) => rule.effect !== 'deny').map((rule) => rule.id);
    if (rules.length > 0) choices.push(`${policy.name}/*`, ...rules);
  }
  return choices;
}
