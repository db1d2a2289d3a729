import type { ApprovalRequest } from './types.ts';

/** setTimeout cannot wait longer than this (about 24.8 days); a longer wait is re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Waiter {
  resolve: (request: ApprovalRequest | undefined) => void;
  reject: (err: unknown) => void;
  signal: AbortSignal;
  onAbort: () => void;
}

interface Entry {
  waiters: Set<Waiter>;
  /** The last copy of the request a check saw, kept so a vanished record can still be answered. */
  snapshot: ApprovalRequest | undefined;
  timer: NodeJS.Timeout | undefined;
  dueAt: number;
}

export interface DecisionWaitersOptions {
  now: () => number;
  /** Called when an id's timer is due (its request may have expired): re-read, then settle() or watch() again. */
  onDue: (id: string) => void;
}

/**
 * Callers holding a live request until an approval is decided, grouped by approval id. Used by
 * both stores. Waiting costs nothing while idle: a waiter is a promise in a set, released by a
 * decision the store sees (its own vote, or a Redis message from another replica). Expiry needs
 * a clock, and there is at most one timer per approval id, however many callers wait on it — a
 * thousand held requests are a thousand promises and one timer, not a thousand intervals.
 */
export class DecisionWaiters {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: DecisionWaitersOptions) {}

  /**
   * Registers a waiter for `id`. The store must register before it reads the request, so a
   * decision landing between the read and the registration cannot be missed.
   */
  add(id: string, signal: AbortSignal): { promise: Promise<ApprovalRequest | undefined>; cancel: () => void } {
    let entry = this.entries.get(id);
    if (entry === undefined) {
      entry = { waiters: new Set(), snapshot: undefined, timer: undefined, dueAt: Infinity };
      this.entries.set(id, entry);
    }
    const owner = entry;
    let waiter!: Waiter;
    const promise = new Promise<ApprovalRequest | undefined>((resolve, reject) => {
      waiter = { resolve, reject, signal, onAbort: () => this.remove(id, owner, waiter) };
    });
    // A store may fail all waiters (close) while one is still doing its first read and has not
    // returned this promise to anyone yet; that rejection is then nobody's to handle. Whoever does
    // await the promise still sees it.
    promise.catch(() => undefined);
    owner.waiters.add(waiter);
    signal.addEventListener('abort', waiter.onAbort, { once: true });
    return { promise, cancel: () => this.remove(id, owner, waiter) };
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  ids(): string[] {
    return [...this.entries.keys()];
  }

  snapshot(id: string): ApprovalRequest | undefined {
    return this.entries.get(id)?.snapshot;
  }

  /**
   * Records the still-pending request and makes sure a timer fires by `dueAt` (its expiry by
   * default; earlier when a failed read should be retried). An earlier timer already armed is kept.
   */
  watch(id: string, request: ApprovalRequest, dueAt: number = request.expiresAt): void {
    const entry = this.entries.get(id);
    if (entry === undefined) return;
    entry.snapshot = request;
    if (entry.timer !== undefined && entry.dueAt <= dueAt) return;
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, dueAt - this.options.now()));
    entry.dueAt = dueAt;
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      entry.dueAt = Infinity;
      this.options.onDue(id);
    }, delay);
    // Deliberately not unref()'d: someone is awaiting this promise, and letting the process exit
    // under them would drop the answer. close() clears every timer.
  }

  /** Releases every waiter of `id` with the decided (or expired) request. */
  settle(id: string, request: ApprovalRequest): void {
    const entry = this.entries.get(id);
    if (entry === undefined) return;
    this.drop(id, entry);
    for (const waiter of entry.waiters) {
      waiter.signal.removeEventListener('abort', waiter.onAbort);
      waiter.resolve(request);
    }
  }

  /** Rejects every waiter (the store is closing: callers must fail closed, not hang). */
  failAll(err: unknown): void {
    for (const [id, entry] of this.entries) {
      this.drop(id, entry);
      for (const waiter of entry.waiters) {
        waiter.signal.removeEventListener('abort', waiter.onAbort);
        waiter.reject(err);
      }
    }
  }

  /** An aborted or cancelled waiter leaves quietly (undefined); the last one out stops the timer. */
  private remove(id: string, entry: Entry, waiter: Waiter): void {
    if (!entry.waiters.delete(waiter)) return;
    waiter.signal.removeEventListener('abort', waiter.onAbort);
    waiter.resolve(undefined);
    if (entry.waiters.size === 0 && this.entries.get(id) === entry) this.drop(id, entry);
  }

  private drop(id: string, entry: Entry): void {
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    entry.timer = undefined;
    this.entries.delete(id);
  }
}
