import { matches, newestFirst, type ListPosition, type ListQuery } from './list-query.ts';
import type { AuditKeys } from './audit-fields.ts';
import { policyOf, type DecisionKeys } from './decision-keys.ts';
import type { SessionOutcome, SessionProtocol } from './types.ts';

/** Where one record lives on disk, plus what list() filters on (audit keys included). */
export interface IndexEntry extends AuditKeys, DecisionKeys {
  id: string;
  subject: string;
  target: string;
  startedAt: number;
  protocol: SessionProtocol;
  outcome: SessionOutcome;
  segment: number;
  offset: number;
  length: number;
}

/**
 * The file store's in-memory index: id → place on disk, and the entries in (startedAt, id) order,
 * overall and per subject, per target, per credential secret name, per masked entry name, per rule
 * and per policy, plus the sessions that waited for an approval and those with refused statements
 * (the rare side, which is what an auditor asks for; the other side is most sessions, so the
 * overall list serves it), so list() walks the smallest candidate list (protocol, outcome and
 * version are checked on each candidate: few values per credential, no index of their own) and
 * never reads a record it will not return. About 170 bytes per session, plus one slot per masked
 * entry name and per approval or refusal.
 */
export class SessionIndex {
  private readonly byId = new Map<string, IndexEntry>();
  private readonly all = new SortedEntries();
  private readonly bySubject = new Map<string, SortedEntries>();
  private readonly byTarget = new Map<string, SortedEntries>();
  private readonly byCredential = new Map<string, SortedEntries>();
  private readonly byMasked = new Map<string, SortedEntries>();
  private readonly byRule = new Map<string, SortedEntries>();
  private readonly byPolicy = new Map<string, SortedEntries>();
  private readonly withApproval = new SortedEntries();
  private readonly withRefusals = new SortedEntries();

  get size(): number {
    return this.byId.size;
  }

  get(id: string): IndexEntry | undefined {
    return this.byId.get(id);
  }

  /**
   * Forgets every entry of these segments (a purge removed their files): a filter of the lists in
   * memory, so the writer is held up for milliseconds, not a rescan of what stays.
   */
  removeSegments(segments: ReadonlySet<number>): void {
    const keep = (entry: IndexEntry) => !segments.has(entry.segment);
    for (const [id, entry] of this.byId) if (!keep(entry)) this.byId.delete(id);
    this.all.retain(keep);
    this.withApproval.retain(keep);
    this.withRefusals.retain(keep);
    for (const map of [this.bySubject, this.byTarget, this.byCredential, this.byMasked, this.byRule, this.byPolicy]) {
      for (const [key, sorted] of map) {
        sorted.retain(keep);
        if (sorted.length === 0) map.delete(key);
      }
    }
  }

  /** How many sessions started before `at` (epoch ms). */
  countStartedBefore(at: number): number {
    return this.all.countBefore(at);
  }

  /** Adds an entry; false (and nothing changes) when the id is already indexed. */
  add(entry: IndexEntry): boolean {
    if (this.byId.has(entry.id)) return false;
    this.byId.set(entry.id, entry);
    this.all.insert(entry);
    sortedFor(this.bySubject, entry.subject).insert(entry);
    sortedFor(this.byTarget, entry.target).insert(entry);
    if (entry.credentialName !== null) sortedFor(this.byCredential, entry.credentialName).insert(entry);
    for (const name of entry.masked) sortedFor(this.byMasked, name).insert(entry);
    sortedFor(this.byRule, entry.rule).insert(entry);
    const policy = policyOf(entry.rule);
    if (policy !== null) sortedFor(this.byPolicy, policy).insert(entry);
    if (entry.approval) this.withApproval.insert(entry);
    if (entry.refusals) this.withRefusals.insert(entry);
    return true;
  }

  /** Up to `query.limit` matching entries, newest first, and whether more match. */
  query(query: ListQuery): { entries: IndexEntry[]; more: boolean } {
    let candidates = this.all;
    if (query.subject !== undefined) candidates = this.bySubject.get(query.subject) ?? EMPTY;
    const rule = query.rule === undefined ? undefined : 'rule' in query.rule ? this.byRule.get(query.rule.rule) : this.byPolicy.get(query.rule.policy);
    const narrower: (SortedEntries | undefined)[] = [
      query.target === undefined ? undefined : this.byTarget.get(query.target) ?? EMPTY,
      query.credential === undefined ? undefined : this.byCredential.get(query.credential) ?? EMPTY,
      query.masked === undefined ? undefined : this.byMasked.get(query.masked) ?? EMPTY,
      query.rule === undefined ? undefined : rule ?? EMPTY,
      query.approval === true ? this.withApproval : undefined,
      query.refusals === true ? this.withRefusals : undefined,
    ];
    for (const sorted of narrower) if (sorted !== undefined && sorted.length < candidates.length) candidates = sorted;
    const entries: IndexEntry[] = [];
    for (let i = candidates.startBelow(query); i >= 0; i -= 1) {
      const entry = candidates.at(i);
      if (query.from !== undefined && entry.startedAt < query.from) break;
      if (!matches(query, entry)) continue;
      if (entries.length === query.limit) return { entries, more: true };
      entries.push(entry);
    }
    return { entries, more: false };
  }
}

function sortedFor(map: Map<string, SortedEntries>, key: string): SortedEntries {
  let sorted = map.get(key);
  if (sorted === undefined) {
    sorted = new SortedEntries();
    map.set(key, sorted);
  }
  return sorted;
}

/** Entries oldest first by (startedAt, id). Sessions arrive roughly in time order, so inserts land near the end. */
class SortedEntries {
  private items: IndexEntry[] = [];

  /** Keeps the entries `keep` says yes to, in order. */
  retain(keep: (entry: IndexEntry) => boolean): void {
    this.items = this.items.filter(keep);
  }

  get length(): number {
    return this.items.length;
  }

  at(i: number): IndexEntry {
    return this.items[i]!;
  }

  insert(entry: IndexEntry): void {
    const last = this.items[this.items.length - 1];
    if (last === undefined || newestFirst(last, entry) > 0) {
      this.items.push(entry);
      return;
    }
    this.items.splice(this.firstNotBefore(entry), 0, entry);
  }

  countBefore(at: number): number {
    return this.firstNotBefore({ startedAt: at, id: '' });
  }

  /** Index of the newest entry that is before both `to` and the cursor (-1 if none). */
  startBelow(query: ListQuery): number {
    let end = this.items.length;
    if (query.to !== undefined) end = Math.min(end, this.firstNotBefore({ startedAt: query.to, id: '' }));
    if (query.after !== undefined) end = Math.min(end, this.firstNotBefore(query.after));
    return end - 1;
  }

  /** Index of the first entry that is not older than `position`. */
  private firstNotBefore(position: ListPosition): number {
    let low = 0;
    let high = this.items.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (newestFirst(this.items[mid]!, position) > 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

const EMPTY = new SortedEntries();
