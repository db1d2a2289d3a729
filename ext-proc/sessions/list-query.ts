import { SessionError } from './errors.ts';
import { isSessionId } from './prepare-record.ts';
import type { AuditKeys } from './audit-fields.ts';
import { parseRuleMatch, policyOf, type DecisionKeys, type RuleMatch } from './decision-keys.ts';
import { SESSION_OUTCOMES, SESSION_PROTOCOLS, type SessionFilter, type SessionOutcome, type SessionProtocol } from './types.ts';

export const DEFAULT_LIST_LIMIT = 50;
export const MAX_LIST_LIMIT = 1000;
/** The last time a Date can hold. */
const MAX_TIME = 8.64e15;

/** Where a page starts: strictly older than this (startedAt, id) pair. */
export interface ListPosition {
  startedAt: number;
  id: string;
}

/** A checked SessionFilter, the same for every store. */
export interface ListQuery {
  subject?: string;
  target?: string;
  protocol?: SessionProtocol;
  outcome?: SessionOutcome;
  credential?: string;
  version?: string;
  masked?: string;
  rule?: RuleMatch;
  approval?: boolean;
  refusals?: boolean;
  from?: number;
  to?: number;
  limit: number;
  after?: ListPosition;
}

/** Checks a filter (ERR_SESSION_INVALID names the field). */
export function listQuery(filter: SessionFilter = {}): ListQuery {
  const problems: string[] = [];
  const query: ListQuery = { limit: filter.limit ?? DEFAULT_LIST_LIMIT };
  for (const field of ['subject', 'target', 'credential', 'version', 'masked'] as const) {
    const value = filter[field];
    if (value === undefined) continue;
    if (typeof value !== 'string') problems.push(`${field} must be a string`);
    else query[field] = value;
  }
  if (filter.rule !== undefined) {
    const rule = typeof filter.rule === 'string' ? parseRuleMatch(filter.rule) : undefined;
    if (rule === undefined) problems.push('rule must be policy/rule or policy/*');
    else query.rule = rule;
  }
  for (const field of ['approval', 'refusals'] as const) {
    const value = filter[field];
    if (value === undefined) continue;
    if (typeof value !== 'boolean') problems.push(`${field} must be true or false`);
    else query[field] = value;
  }
  if (filter.protocol !== undefined) {
    if (!SESSION_PROTOCOLS.includes(filter.protocol)) problems.push(`protocol must be one of ${SESSION_PROTOCOLS.join(', ')}`);
    else query.protocol = filter.protocol;
  }
  if (filter.outcome !== undefined) {
    if (!SESSION_OUTCOMES.includes(filter.outcome)) problems.push(`outcome must be one of ${SESSION_OUTCOMES.join(', ')}`);
    else query.outcome = filter.outcome;
  }
  for (const field of ['from', 'to'] as const) {
    const value = filter[field];
    if (value === undefined) continue;
    // Whole milliseconds, as stored: startedAt >= 1.5 is startedAt >= 2, and startedAt < 1.5 is < 2.
    if (!Number.isFinite(value) || Math.abs(value) > MAX_TIME) problems.push(`${field} must be a time in milliseconds since the epoch`);
    else query[field] = Math.ceil(value);
  }
  if (!Number.isSafeInteger(query.limit) || query.limit < 1 || query.limit > MAX_LIST_LIMIT) problems.push(`limit must be an integer from 1 to ${MAX_LIST_LIMIT}`);
  if (filter.cursor !== undefined) {
    const after = decodeCursor(filter.cursor);
    if (after === undefined) problems.push('cursor is not one this store handed out');
    else query.after = after;
  }
  if (problems.length > 0) throw new SessionError('ERR_SESSION_INVALID', `invalid session query: ${problems.join('; ')}`, { details: { problems } });
  return query;
}

/** Opaque to callers; both stores page by (startedAt, id), so a cursor from one works on the other. */
export function encodeCursor(position: ListPosition): string {
  return Buffer.from(`${position.startedAt}/${position.id}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: unknown): ListPosition | undefined {
  if (typeof cursor !== 'string' || cursor.length > 200) return undefined;
  const match = /^(\d{1,16})\/(.+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) return undefined;
  const startedAt = Number(match[1]);
  const id = match[2]!;
  return Number.isSafeInteger(startedAt) && isSessionId(id) ? { startedAt, id: id.toLowerCase() } : undefined;
}

/** Newest first: later startedAt first, then the larger id (as PostgreSQL orders uuids). */
export function newestFirst(a: ListPosition, b: ListPosition): number {
  if (a.startedAt !== b.startedAt) return b.startedAt - a.startedAt;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** Whether a session at `position` passes the query (filters and cursor). */
export function matches(query: ListQuery, entry: ListPosition & AuditKeys & DecisionKeys & { subject: string; target: string; protocol: SessionProtocol; outcome: SessionOutcome }): boolean {
  if (query.subject !== undefined && entry.subject !== query.subject) return false;
  if (query.credential !== undefined && entry.credentialName !== query.credential) return false;
  if (query.version !== undefined && entry.credentialVersion !== query.version) return false;
  if (query.masked !== undefined && !entry.masked.includes(query.masked)) return false;
  if (query.target !== undefined && entry.target !== query.target) return false;
  if (query.rule !== undefined && !('rule' in query.rule ? entry.rule === query.rule.rule : policyOf(entry.rule) === query.rule.policy)) return false;
  if (query.approval !== undefined && entry.approval !== query.approval) return false;
  if (query.refusals !== undefined && entry.refusals !== query.refusals) return false;
  if (query.protocol !== undefined && entry.protocol !== query.protocol) return false;
  if (query.outcome !== undefined && entry.outcome !== query.outcome) return false;
  if (query.from !== undefined && entry.startedAt < query.from) return false;
  if (query.to !== undefined && entry.startedAt >= query.to) return false;
  if (query.after !== undefined && newestFirst(query.after, entry) >= 0) return false;
  return true;
}
