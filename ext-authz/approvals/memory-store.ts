import { DecisionWaiters } from './decision-waiters.ts';
import { ApprovalError } from './errors.ts';
import { filterApprovals } from './filter-approvals.ts';
import { applyVote, checkNewRequest, withCallerLeft, effectiveStatus, expiredView, grantFor, retainUntil, withEffectiveStatus } from './rules.ts';
import type { ApprovalFilter, ApprovalGrant, ApprovalRequest, ApprovalStore, Approver } from './types.ts';

type RequestKey = Parameters<ApprovalStore['findPending']>[0];

export interface MemoryApprovalStoreOptions {
  /** Clock for reads that take no `now` (get, list) and for expiry timers. */
  now?: () => number;
}

/**
 * Approvals in this process's memory: for a single replica and for tests. Decisions are not shared
 * with other processes and do not survive a restart; use the Redis store for that. Everything runs
 * synchronously between awaits, so a vote is atomic without locks.
 */
export class MemoryApprovalStore implements ApprovalStore {
  private readonly now: () => number;
  private readonly requests = new Map<string, ApprovalRequest>();
  /** findPending's index: request key → id of the latest pending request for it. */
  private readonly pendingIds = new Map<string, string>();
  private readonly windowGrants = new Map<string, ApprovalGrant>();
  private readonly requestGrants = new Map<string, ApprovalGrant>();
  private readonly waiters: DecisionWaiters;
  private closed = false;

  constructor(options: MemoryApprovalStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    this.waiters = new DecisionWaiters({ now: this.now, onDue: (id) => this.recheck(id, this.now()) });
  }

  async create(request: ApprovalRequest): Promise<void> {
    this.assertOpen();
    checkNewRequest(request);
    if (this.requests.has(request.id)) throw new ApprovalError('ERR_APPROVAL_INVALID', 'an approval with this id already exists', { details: { id: request.id } });
    // A private frozen copy: the caller's object stays theirs, and what we hand out cannot be edited.
    const stored = deepFreeze(structuredClone(request));
    this.requests.set(stored.id, stored);
    this.pendingIds.set(requestKey(stored), stored.id);
  }

  async get(id: string): Promise<ApprovalRequest | undefined> {
    this.assertOpen();
    const request = this.requests.get(id);
    return request && withEffectiveStatus(request, this.now());
  }

  async list(filter: ApprovalFilter): Promise<ApprovalRequest[]> {
    this.assertOpen();
    const now = this.now();
    return filterApprovals([...this.requests.values()].map((request) => withEffectiveStatus(request, now)), filter);
  }

  async findPending(key: RequestKey, now: number): Promise<ApprovalRequest | undefined> {
    this.assertOpen();
    const id = this.pendingIds.get(requestKey(key));
    const request = id === undefined ? undefined : this.requests.get(id);
    return request && effectiveStatus(request, now) === 'pending' ? request : undefined;
  }

  async vote(id: string, approver: Approver, approve: boolean, reason: string, now: number): Promise<ApprovalRequest> {
    this.assertOpen();
    const current = this.requests.get(id);
    if (current === undefined) throw new ApprovalError('ERR_APPROVAL_NOT_FOUND', 'no such approval request', { details: { id } });
    const next = deepFreeze(applyVote(current, approver, approve, reason, now));
    this.requests.set(id, next);
    if (next.status === 'pending') return next;

    const key = requestKey(next);
    if (this.pendingIds.get(key) === id) this.pendingIds.delete(key);
    if (next.status === 'approved') {
      const grant = Object.freeze(grantFor(next));
      (grant.scope === 'window' ? this.windowGrants : this.requestGrants).set(grant.scope === 'window' ? windowKey(grant) : key, grant);
    }
    this.waiters.settle(id, next);
    return next;
  }

  async markCallerLeft(id: string, at: number): Promise<ApprovalRequest | undefined> {
    this.assertOpen();
    const current = this.requests.get(id);
    const next = current && withCallerLeft(current, at);
    if (next === undefined) return undefined;
    const stored = deepFreeze(next);
    this.requests.set(id, stored);
    return stored;
  }

  async takeGrant(key: RequestKey, now: number): Promise<ApprovalGrant | undefined> {
    this.assertOpen();
    // A window grant is checked first: using it leaves any single-use grant for a later request.
    const window = this.windowGrants.get(windowKey(key));
    if (window !== undefined && window.expiresAt > now) return window;
    const single = this.requestGrants.get(requestKey(key));
    if (single === undefined || single.expiresAt <= now) return undefined;
    this.requestGrants.delete(requestKey(key));
    return single;
  }

  async waitForDecision(id: string, signal: AbortSignal): Promise<ApprovalRequest | undefined> {
    this.assertOpen();
    if (signal.aborted) return undefined;
    const request = this.requests.get(id);
    if (request === undefined) throw new ApprovalError('ERR_APPROVAL_NOT_FOUND', 'no such approval request', { details: { id } });
    const now = this.now();
    if (effectiveStatus(request, now) !== 'pending') return withEffectiveStatus(request, now);
    const waiter = this.waiters.add(id, signal);
    this.waiters.watch(id, request);
    return waiter.promise;
  }

  async cleanup(now: number): Promise<number> {
    this.assertOpen();
    let removed = 0;
    for (const [id, request] of this.requests) {
      if (retainUntil(request) > now) continue;
      this.requests.delete(id);
      const key = requestKey(request);
      if (this.pendingIds.get(key) === id) this.pendingIds.delete(key);
      removed += 1;
    }
    for (const grants of [this.windowGrants, this.requestGrants]) {
      for (const [key, grant] of grants) {
        if (grant.expiresAt > now) continue;
        grants.delete(key);
        removed += 1;
      }
    }
    // Cleanup's clock may run ahead of the timers' (tests, or a sweeper on another schedule):
    // whoever is still waiting on something that has now expired is released here too.
    for (const id of this.waiters.ids()) this.recheck(id, now);
    return removed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.waiters.failAll(new ApprovalError('ERR_APPROVAL_STORE_UNAVAILABLE', 'the approval store was closed'));
  }

  private recheck(id: string, now: number): void {
    const request = this.requests.get(id);
    if (request === undefined) {
      const last = this.waiters.snapshot(id);
      if (last !== undefined) this.waiters.settle(id, expiredView(last));
      return;
    }
    if (effectiveStatus(request, now) === 'pending') this.waiters.watch(id, request);
    else this.waiters.settle(id, withEffectiveStatus(request, now));
  }

  private assertOpen(): void {
    if (this.closed) throw new ApprovalError('ERR_APPROVAL_STORE_UNAVAILABLE', 'the approval store is closed');
  }
}

/** Unambiguous whatever the fields contain (JSON quoting), unlike joining with a separator. */
function requestKey(key: RequestKey): string {
  return JSON.stringify([key.issuer, key.subject, key.target, key.rule, key.method, key.path]);
}

function windowKey(key: Omit<RequestKey, 'method' | 'path'>): string {
  return JSON.stringify([key.issuer, key.subject, key.target, key.rule]);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
