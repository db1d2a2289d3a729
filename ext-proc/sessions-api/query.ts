import { HttpRefusal } from '../../common/http-refusal.ts';
import { parseRuleMatch, parseYesNo } from '../sessions/decision-keys.ts';
import { SESSION_OUTCOMES, SESSION_PROTOCOLS, type SessionFilter, type SessionOutcome, type SessionProtocol } from '../sessions/types.ts';

export const DEFAULT_SESSIONS_LIMIT = 50;
/** Lower than the stores' own cap: a console page of full records must stay a modest response. */
export const MAX_SESSIONS_LIMIT = 500;

const KNOWN = new Set(['subject', 'target', 'outcome', 'protocol', 'masked', 'rule', 'approval', 'refusals', 'from', 'to', 'limit', 'cursor']);
const MAX_VALUE_CHARS = 256;
/** `2030-01-01`, `2030-01-01T10:00:00Z`, with optional fraction and offset. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/**
 * `GET /sessions` query → store filter. Every problem is reported at once, as one 400
 * ERR_SESSION_INVALID; an unknown or repeated parameter is a problem too, so a typo such as
 * `?subjet=` never silently widens the result.
 */
export function parseSessionQuery(params: URLSearchParams): SessionFilter {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const key of params.keys()) {
    if (!KNOWN.has(key)) problems.push(`unknown parameter "${key.slice(0, 40)}" (use ${[...KNOWN].join(', ')})`);
    else if (seen.has(key)) problems.push(`${key} is given more than once`);
    seen.add(key);
  }
  const filter: SessionFilter = { limit: DEFAULT_SESSIONS_LIMIT };
  for (const field of ['subject', 'target', 'masked', 'cursor'] as const) {
    const value = params.get(field);
    if (value === null) continue;
    if (value === '' || value.length > MAX_VALUE_CHARS) problems.push(`${field} must be 1 to ${MAX_VALUE_CHARS} characters`);
    else filter[field] = value;
  }
  const outcome = params.get('outcome');
  if (outcome !== null) {
    if (!SESSION_OUTCOMES.includes(outcome as SessionOutcome)) problems.push(`outcome must be one of ${SESSION_OUTCOMES.join(', ')}`);
    else filter.outcome = outcome as SessionOutcome;
  }
  const protocol = params.get('protocol');
  if (protocol !== null) {
    if (!SESSION_PROTOCOLS.includes(protocol as SessionProtocol)) problems.push(`protocol must be one of ${SESSION_PROTOCOLS.join(', ')}`);
    else filter.protocol = protocol as SessionProtocol;
  }
  const rule = params.get('rule');
  if (rule !== null) {
    if (rule.length > MAX_VALUE_CHARS || parseRuleMatch(rule) === undefined) problems.push('rule must be policy/rule or policy/* (any rule of the policy)');
    else filter.rule = rule;
  }
  for (const field of ['approval', 'refusals'] as const) {
    const value = params.get(field);
    if (value === null) continue;
    const yes = parseYesNo(value);
    if (yes === undefined) problems.push(`${field} must be yes or no`);
    else filter[field] = yes;
  }
  for (const field of ['from', 'to'] as const) {
    const value = params.get(field);
    if (value === null) continue;
    const time = parseTime(value);
    if (time === undefined) problems.push(`${field} must be milliseconds since the epoch or an ISO 8601 time`);
    else filter[field] = time;
  }
  if (filter.from !== undefined && filter.to !== undefined && filter.from > filter.to) problems.push('from must not be after to');
  const limit = params.get('limit');
  if (limit !== null) {
    const n = Number(limit);
    if (!/^\d{1,4}$/.test(limit) || n < 1 || n > MAX_SESSIONS_LIMIT) problems.push(`limit must be an integer from 1 to ${MAX_SESSIONS_LIMIT}`);
    else filter.limit = n;
  }
  if (problems.length > 0) throw new HttpRefusal(400, 'ERR_SESSION_INVALID', `invalid session query: ${problems.join('; ')}`);
  return filter;
}

function parseTime(value: string): number | undefined {
  if (/^\d{1,16}$/.test(value)) return Number(value);
  if (!ISO_TIME.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}
