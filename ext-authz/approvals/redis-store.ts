import { Redis } from 'ioredis';
import { describeError } from '../../common/errors.ts';
import { createLogger, type Logger } from '../../common/logger.ts';
import { DecisionWaiters } from './decision-waiters.ts';
import { ApprovalError } from './errors.ts';
import { filterApprovals } from './filter-approvals.ts';
import { RedisApprovalKeys } from './redis-keys.ts';
import { COMMIT_VOTE, CREATE_REQUEST, DROP_GRANT, DROP_REQUEST } from './redis-scripts.ts';
import { applyVote, checkNewRequest, withCallerLeft, effectiveStatus, expiredView, grantFor, retainUntil, withEffectiveStatus } from './rules.ts';
import type { ApprovalFilter, ApprovalGrant, ApprovalRequest, ApprovalStore, Approver } from './types.ts';

type RequestKey = Parameters<ApprovalStore['findPending']>[0];

export interface RedisApprovalStoreOptions {
  /** redis:// or rediss:// URL (may carry credentials; it is never logged). */
  url: string;
  /** Prefix of every key and of the pub/sub channel. Default `sluice:`. */
  keyPrefix?: string;
  /** Clock for reads that take no `now` (get, list, create's TTLs) and for expiry timers. */
  now?: () => number;
  logger?: Logger;
  /** A command without a reply after this long fails with ERR_APPROVAL_STORE_UNAVAILABLE. Default 1000. */
  commandTimeoutMs?: number;
  /** How long connecting may take. Default 2000. */
  connectTimeoutMs?: number;
}

/** Conflicting votes are re-applied to the fresh state; beyond this many in a row something is wrong. */
const MAX_VOTE_ATTEMPTS = 20;
/** When a waiter's re-read fails, it is tried again this much later (unless the request expires first). */
const RECHECK_RETRY_MS = 1000;
/** MGET batch size for list() and cleanup(). */
const BATCH = 500;

/**
 * Approvals in Redis, shared by every replica: a vote through one replica releases requests held
 * by all of them (pub/sub), and grants survive restarts. Redis being slow or down never blocks a
 * caller for long: no offline queue, one retry, a per-command timeout, and every failure becomes
 * ERR_APPROVAL_STORE_UNAVAILABLE so the gate can fail closed.
 *
 * `RedisApprovalStore.connect()` is the usual way in: it returns once Redis answers and decisions
 * are subscribed to, or rejects, so a misconfigured deployment fails at boot. `new` alone also
 * works: it connects in the background, every call fails closed until Redis is reachable, and it
 * keeps reconnecting.
 */
export class RedisApprovalStore implements ApprovalStore {
  private readonly keys: RedisApprovalKeys;
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly connectTimeoutMs: number;
  private readonly commandTimeoutMs: number;
  private readonly client: Redis;
  /** Subscribed connections can run no other commands, so decisions arrive on a second one. */
  private readonly subscriber: Redis;
  private readonly waiters: DecisionWaiters;
  /** Settles once the subscriber has subscribed for the first time (connect() waits for it). */
  private readonly firstSubscription: Promise<void>;
  private markSubscribed: () => void = () => undefined;
  private closed = false;
  private healthy = true;

  /** Connects, checks connectivity (PING) and subscribes before returning; rejects with ERR_APPROVAL_STORE_UNAVAILABLE. */
  static async connect(options: RedisApprovalStoreOptions): Promise<RedisApprovalStore> {
    const store = new RedisApprovalStore(options);
    try {
      await store.start();
    } catch (err) {
      await store.close();
      throw unavailable('cannot connect to Redis', err);
    }
    return store;
  }

  constructor(options: RedisApprovalStoreOptions) {
    const problems = checkOptions(options);
    if (problems.length > 0) throw new ApprovalError('ERR_APPROVAL_INVALID', `invalid Redis approval store options: ${problems.join('; ')}`, { details: { problems } });
    this.keys = new RedisApprovalKeys(options.keyPrefix ?? 'sluice:');
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? createLogger('sluice-approvals');
    this.commandTimeoutMs = options.commandTimeoutMs ?? 1000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 2000;
    this.firstSubscription = new Promise((resolve) => {
      this.markSubscribed = resolve;
    });
    this.client = new Redis(options.url, {
      // Fail fast instead of queueing: a held request is waiting on us, and the gate fails closed.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: this.connectTimeoutMs,
      commandTimeout: this.commandTimeoutMs,
      // Keep reconnecting in the background (capped) so the store heals when Redis comes back;
      // commands in the meantime fail at once because the offline queue is off.
      retryStrategy: (times) => Math.min(times * 100, 2000),
    });
    // We resubscribe ourselves on 'ready' and then re-read every awaited request, so a decision
    // published while the subscriber was disconnected is not lost.
    this.subscriber = this.client.duplicate({ autoResubscribe: false });
    this.waiters = new DecisionWaiters({ now: this.now, onDue: (id) => void this.recheck(id) });
    this.client.on('error', (err: unknown) => this.onConnectionError('commands', err));
    this.subscriber.on('error', (err: unknown) => this.onConnectionError('subscriber', err));
    this.client.on('ready', () => this.onReady('commands'));
    this.subscriber.on('ready', () => {
      this.onReady('subscriber');
      if (!this.closed) void this.subscribe();
    });
    this.subscriber.on('message', (channel: string, id: string) => {
      if (channel === this.keys.decidedChannel && this.waiters.has(id)) void this.recheck(id);
    });
  }

  async create(request: ApprovalRequest): Promise<void> {
    this.assertOpen();
    checkNewRequest(request);
    const ttl = ttlMs(retainUntil(request), this.now());
    const created = await this.redis('create approval', () =>
      this.client.eval(CREATE_REQUEST, 4, this.keys.request(request.id), this.keys.pendingIndex, this.keys.allIndex, this.keys.pendingLookup(request),
        JSON.stringify(request), ttl, request.id, request.expiresAt, retainUntil(request)),
    );
    if (created !== 1) throw new ApprovalError('ERR_APPROVAL_INVALID', 'an approval with this id already exists', { details: { id: request.id } });
  }

  async get(id: string): Promise<ApprovalRequest | undefined> {
    this.assertOpen();
    const request = await this.read(id);
    return request && withEffectiveStatus(request, this.now());
  }

  async list(filter: ApprovalFilter): Promise<ApprovalRequest[]> {
    this.assertOpen();
    const now = this.now();
    // Pending requests have their own index, so the approvers' queue does not scan history.
    const ids = await this.redis('list approvals', () =>
      filter.status === 'pending' ? this.client.zrangebyscore(this.keys.pendingIndex, `(${now}`, '+inf') : this.client.zrangebyscore(this.keys.allIndex, '-inf', '+inf'),
    );
    const requests: ApprovalRequest[] = [];
    for (const { value } of await this.readMany(ids)) {
      if (value !== undefined) requests.push(withEffectiveStatus(value, now));
    }
    return filterApprovals(requests, filter);
  }

  async findPending(key: RequestKey, now: number): Promise<ApprovalRequest | undefined> {
    this.assertOpen();
    const id = await this.redis('find pending approval', () => this.client.get(this.keys.pendingLookup(key)));
    if (id === null) return undefined;
    const request = await this.read(id);
    return request && effectiveStatus(request, now) === 'pending' ? request : undefined;
  }

  async vote(id: string, approver: Approver, approve: boolean, reason: string, now: number): Promise<ApprovalRequest> {
    this.assertOpen();
    for (let attempt = 0; attempt < MAX_VOTE_ATTEMPTS; attempt += 1) {
      const raw = await this.redis('read approval', () => this.client.get(this.keys.request(id)));
      if (raw === null) throw new ApprovalError('ERR_APPROVAL_NOT_FOUND', 'no such approval request', { details: { id } });
      const next = applyVote(parseRecord<ApprovalRequest>(raw, 'approval'), approver, approve, reason, now);
      const decided = next.status !== 'pending';
      const grant = next.status === 'approved' ? grantFor(next) : undefined;
      const grantKey = grant === undefined ? this.keys.request(id) : grant.scope === 'window' ? this.keys.windowGrant(grant) : this.keys.requestGrant(grant);
      const committed = await this.redis('record vote', () =>
        this.client.eval(COMMIT_VOTE, 6, this.keys.request(id), this.keys.pendingIndex, this.keys.allIndex, this.keys.pendingLookup(next), grantKey, this.keys.grantIndex,
          raw, JSON.stringify(next), ttlMs(retainUntil(next), now), id, decided ? '1' : '0', retainUntil(next),
          grant === undefined ? '' : JSON.stringify(grant), grant === undefined ? 1 : ttlMs(grant.expiresAt, now), grant?.expiresAt ?? 0, this.keys.decidedChannel),
      );
      if (committed === 1) {
        // Waiters on this replica need not wait for our own message to come back round.
        if (decided) this.waiters.settle(id, next);
        return next;
      }
      // Another vote landed between our read and our write: apply the rules again to the new state
      // (which may now say duplicate, or already decided).
    }
    throw new ApprovalError('ERR_APPROVAL_STORE_UNAVAILABLE', 'the vote kept conflicting with concurrent votes; try again', { details: { id } });
  }

  async markCallerLeft(id: string, at: number): Promise<ApprovalRequest | undefined> {
    this.assertOpen();
    for (let attempt = 0; attempt < MAX_VOTE_ATTEMPTS; attempt += 1) {
      const raw = await this.redis('read approval', () => this.client.get(this.keys.request(id)));
      if (raw === null) return undefined;
      const next = withCallerLeft(parseRecord<ApprovalRequest>(raw, 'approval'), at);
      if (next === undefined) return undefined;
      // The vote's compare-and-set, undecided: only the record changes (no index, grant or publish),
      // and a vote that lands in between makes us re-read (and then find it decided).
      const committed = await this.redis('record caller left', () =>
        this.client.eval(COMMIT_VOTE, 6, this.keys.request(id), this.keys.pendingIndex, this.keys.allIndex, this.keys.pendingLookup(next), this.keys.request(id), this.keys.grantIndex,
          raw, JSON.stringify(next), ttlMs(retainUntil(next), at), id, '0', retainUntil(next), '', 1, 0, this.keys.decidedChannel),
      );
      if (committed === 1) return next;
    }
    throw new ApprovalError('ERR_APPROVAL_STORE_UNAVAILABLE', 'recording that the caller left kept conflicting with concurrent writes', { details: { id } });
  }

  async takeGrant(key: RequestKey, now: number): Promise<ApprovalGrant | undefined> {
    this.assertOpen();
    // A window grant is checked first: using it leaves any single-use grant for a later request.
    const window = await this.redis('read window grant', () => this.client.get(this.keys.windowGrant(key)));
    if (window !== null) {
      const grant = parseRecord<ApprovalGrant>(window, 'grant');
      if (grant.expiresAt > now) return grant;
    }
    // GETDEL takes a single-use grant atomically: of two replicas asking at once, one gets it.
    const single = await this.redis('take request grant', () => this.client.getdel(this.keys.requestGrant(key)));
    if (single === null) return undefined;
    const grant = parseRecord<ApprovalGrant>(single, 'grant');
    return grant.expiresAt > now ? grant : undefined;
  }

  async waitForDecision(id: string, signal: AbortSignal): Promise<ApprovalRequest | undefined> {
    this.assertOpen();
    if (signal.aborted) return undefined;
    // Register first, read second: a decision published while we read is then either seen by the
    // read or delivered to the registered waiter — never lost in between.
    const waiter = this.waiters.add(id, signal);
    let request: ApprovalRequest | undefined;
    try {
      request = await this.read(id);
    } catch (err) {
      waiter.cancel();
      throw err;
    }
    if (request === undefined) {
      waiter.cancel();
      throw new ApprovalError('ERR_APPROVAL_NOT_FOUND', 'no such approval request', { details: { id } });
    }
    const now = this.now();
    if (effectiveStatus(request, now) === 'pending') this.waiters.watch(id, request);
    else this.waiters.settle(id, withEffectiveStatus(request, now));
    return waiter.promise;
  }

  async cleanup(now: number): Promise<number> {
    this.assertOpen();
    let removed = 0;
    const ids = await this.redis('list expired approvals', () => this.client.zrangebyscore(this.keys.allIndex, '-inf', now));
    for (const { id, value } of await this.readMany(ids)) {
      if (value === undefined) {
        // Redis already expired the record (its TTL); only the index entries are left.
        await this.redis('drop index entries', () => this.client.multi().zrem(this.keys.allIndex, id).zrem(this.keys.pendingIndex, id).exec());
        continue;
      }
      const dropped = await this.redis('drop approval', () =>
        this.client.eval(DROP_REQUEST, 4, this.keys.request(id), this.keys.allIndex, this.keys.pendingIndex, this.keys.pendingLookup(value), id, now),
      );
      removed += dropped === 1 ? 1 : 0;
    }
    // Past-due pending entries (their records stay readable as expired until dropped above).
    await this.redis('trim pending index', () => this.client.zremrangebyscore(this.keys.pendingIndex, '-inf', now));
    const grantKeys = await this.redis('list expired grants', () => this.client.zrangebyscore(this.keys.grantIndex, '-inf', now));
    for (const grantKey of grantKeys) {
      const dropped = await this.redis('drop grant', () => this.client.eval(DROP_GRANT, 2, grantKey, this.keys.grantIndex, now));
      removed += dropped === 1 ? 1 : 0;
    }
    // Cleanup's clock may run ahead of the timers' (tests, or a sweeper on another schedule):
    // whoever waits here on something that has now expired is released too.
    for (const id of this.waiters.ids()) void this.recheck(id, now);
    return removed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.waiters.failAll(new ApprovalError('ERR_APPROVAL_STORE_UNAVAILABLE', 'the approval store was closed'));
    await Promise.all([shutdown(this.client), shutdown(this.subscriber)]);
  }

  private async start(): Promise<void> {
    const ready = async () => {
      await Promise.all([whenReady(this.client), whenReady(this.subscriber)]);
      await this.client.ping();
      await this.firstSubscription;
    };
    await withDeadline(ready(), this.connectTimeoutMs + this.commandTimeoutMs, 'connecting to Redis');
  }

  /**
   * On every (re)connect of the subscriber: subscribe, then catch up on anything decided while it
   * was away, since pub/sub does not replay missed messages.
   */
  private async subscribe(): Promise<void> {
    try {
      await this.subscriber.subscribe(this.keys.decidedChannel);
    } catch (err) {
      // The subscriber reconnects and we get another 'ready'; meanwhile waiters still have their timers.
      this.logger.warn({ err: describeError(err) }, 'approval store: subscribing to decisions failed');
      return;
    }
    this.markSubscribed();
    for (const id of this.waiters.ids()) void this.recheck(id);
  }

  /** Re-reads an awaited request and releases its waiters if it is decided or expired. Never throws. */
  private async recheck(id: string, now?: number): Promise<void> {
    if (!this.waiters.has(id) || this.closed) return;
    let request: ApprovalRequest | undefined;
    try {
      request = await this.read(id);
    } catch (err) {
      const last = this.waiters.snapshot(id);
      if (last === undefined) return;
      const at = now ?? this.now();
      // Expiry needs no Redis: past expiresAt the request can no longer be approved anyway.
      if (at >= last.expiresAt) this.waiters.settle(id, expiredView(last));
      else this.waiters.watch(id, last, Math.min(last.expiresAt, at + RECHECK_RETRY_MS));
      this.logger.debug({ err: describeError(err), approval_id: id }, 'approval store: re-reading an awaited approval failed; will retry');
      return;
    }
    const at = now ?? this.now();
    if (request === undefined) {
      // TTL or cleanup removed it: it was not decided in time.
      const last = this.waiters.snapshot(id);
      if (last !== undefined) this.waiters.settle(id, expiredView(last));
      return;
    }
    if (effectiveStatus(request, at) === 'pending') this.waiters.watch(id, request);
    else this.waiters.settle(id, withEffectiveStatus(request, at));
  }

  private async read(id: string): Promise<ApprovalRequest | undefined> {
    const raw = await this.redis('read approval', () => this.client.get(this.keys.request(id)));
    return raw === null ? undefined : parseRecord<ApprovalRequest>(raw, 'approval');
  }

  private async readMany(ids: readonly string[]): Promise<{ id: string; value: ApprovalRequest | undefined }[]> {
    const out: { id: string; value: ApprovalRequest | undefined }[] = [];
    for (let start = 0; start < ids.length; start += BATCH) {
      const batch = ids.slice(start, start + BATCH);
      const values = await this.redis('read approvals', () => this.client.mget(batch.map((id) => this.keys.request(id))));
      batch.forEach((id, i) => {
        const raw = values[i];
        out.push({ id, value: raw == null ? undefined : parseRecord<ApprovalRequest>(raw, 'approval') });
      });
    }
    return out;
  }

  /** Runs Redis commands; whatever goes wrong below us surfaces as ERR_APPROVAL_STORE_UNAVAILABLE. */
  private async redis<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw unavailable(`Redis failed to ${what}`, err);
    }
  }

  private onConnectionError(connection: string, err: unknown): void {
    // One warning per outage: ioredis reports every failed reconnect attempt.
    if (!this.healthy || this.closed) return;
    this.healthy = false;
    this.logger.warn({ err: describeError(err), connection }, 'approval store: lost Redis; approvals fail closed until it is back');
  }

  private onReady(connection: string): void {
    if (this.healthy) return;
    this.healthy = true;
    this.logger.info({ connection }, 'approval store: Redis is reachable again');
  }

  private assertOpen(): void {
    if (this.closed) throw new ApprovalError('ERR_APPROVAL_STORE_UNAVAILABLE', 'the approval store is closed');
  }
}

function unavailable(message: string, cause: unknown): ApprovalError {
  if (cause instanceof ApprovalError) return cause;
  return new ApprovalError('ERR_APPROVAL_STORE_UNAVAILABLE', message, { cause });
}

/** Records are ours, but a corrupt one must fail closed rather than be half-trusted. */
function parseRecord<T extends object>(raw: string, kind: string): T {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw new ApprovalError('ERR_APPROVAL_STORE_UNAVAILABLE', `a stored ${kind} is not valid JSON`, { cause: err });
  }
  if (value === null || typeof value !== 'object' || typeof (value as { expiresAt?: unknown }).expiresAt !== 'number') {
    throw new ApprovalError('ERR_APPROVAL_STORE_UNAVAILABLE', `a stored ${kind} has an unexpected shape`);
  }
  return value as T;
}

/** Redis rejects PX 0 and negatives; something already due still gets a moment to be read. */
function ttlMs(until: number, now: number): number {
  return Math.max(1, Math.ceil(until - now));
}

function checkOptions(options: RedisApprovalStoreOptions): string[] {
  const problems: string[] = [];
  if (typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url)) problems.push('url must be a redis:// or rediss:// URL');
  if (options.keyPrefix !== undefined && (typeof options.keyPrefix !== 'string' || options.keyPrefix === '')) problems.push('keyPrefix must be a non-empty string');
  for (const name of ['commandTimeoutMs', 'connectTimeoutMs'] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isInteger(value) && value > 0)) problems.push(`${name} must be a positive integer`);
  }
  return problems;
}

/** Resolves when the connection is ready; rejects on its first error rather than waiting out its retries. */
function whenReady(connection: Redis): Promise<void> {
  if (connection.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onReady = () => {
      connection.off('error', onError);
      resolve();
    };
    const onError = (err: unknown) => {
      connection.off('ready', onReady);
      reject(err);
    };
    connection.once('ready', onReady);
    connection.once('error', onError);
  });
}

async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  // If the deadline wins, the work may still fail later; that failure has already been answered.
  work.catch(() => undefined);
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function shutdown(connection: Redis): Promise<void> {
  if (connection.status === 'ready') {
    try {
      await connection.quit();
      return;
    } catch {
      // Fall through: drop the socket.
    }
  }
  connection.disconnect();
}
