import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '../../common/errors.ts';
import { createLogger, type Logger } from '../../common/logger.ts';
import { invalidOptions, isSessionError, SessionError } from './errors.ts';
import { checkRecord } from './prepare-record.ts';
import type { SessionRecord, SessionStore } from './types.ts';

export interface RecordingQueueOptions {
  /** Most records held (waiting or being written). Default 10000. */
  maxRecords?: number;
  /** Most bytes held, as estimated from bodies and headers. Default 64 MiB. */
  maxBytes?: number;
  /**
   * When the queue is full: `deny` (default; audit completeness first) stops admitting new
   * exchanges through canAccept(); `drop` keeps admitting and drops records that do not fit,
   * counting them and logging each session id at warn.
   */
  onFull?: 'deny' | 'drop';
  /**
   * Deny mode: canAccept() turns false this fraction below either bound, so exchanges admitted
   * before still find room for their records. Default 0.1.
   */
  admitHeadroom?: number;
  /**
   * Appends in flight at once. The file store group-commits concurrent appends into one fsync, so
   * this bounds its throughput (about concurrency / fsyncIntervalMs); PostgreSQL links and inserts
   * the appends waiting behind an INSERT in flight as the next one, so it bounds its batches. Default 64.
   */
  concurrency?: number;
  /** First retry delay after ERR_SESSION_STORE_UNAVAILABLE; doubles up to retryMaxMs. Default 50. */
  retryInitialMs?: number;
  /** Default 5000. */
  retryMaxMs?: number;
  logger?: Logger;
}

export interface RecordingQueueStats {
  /** Records accepted and not yet written: waiting, or being written. */
  queued: number;
  /** Of those, how many are being written now. */
  inFlight: number;
  /** Estimated bytes held. */
  bytes: number;
  written: number;
  /** Records lost: refused by a full or closed queue, or still queued when close() gave up. */
  dropped: number;
  /** Write attempts that failed and were retried (the store was unavailable). */
  failedWrites: number;
  /** Records the store refused for good (not retried; logged at error). */
  rejected: number;
}

interface Entry {
  seq: number;
  record: SessionRecord;
  bytes: number;
}

/**
 * Decouples the data path from the session store: offer() is synchronous and O(1), and a
 * background writer drains the queue into the store, retrying ERR_SESSION_STORE_UNAVAILABLE with
 * exponential backoff (one write at a time while the store is failing). The queue is bounded by
 * records and bytes, so a slow or dead store costs at most that much memory; what happens when it
 * is full is onFull's choice.
 */
export class RecordingQueue {
  private readonly store: SessionStore;
  private readonly maxRecords: number;
  private readonly maxBytes: number;
  private readonly onFull: 'deny' | 'drop';
  private readonly admitRecords: number;
  private readonly admitBytes: number;
  private readonly concurrency: number;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private readonly logger: Logger;
  /** Waiting entries are waiting[head..]; the array is compacted now and then. */
  private waiting: Entry[] = [];
  private head = 0;
  private readonly inFlight = new Set<Entry>();
  private held = 0;
  private heldBytes = 0;
  private nextSeq = 1;
  private readonly counters = { written: 0, dropped: 0, failedWrites: 0, rejected: 0 };
  private consecutiveFailures = 0;
  private flushWaiters: { upTo: number; resolve: () => void }[] = [];
  /** Aborted when close() gives up: retries stop and what is left is dropped. */
  private readonly giveUp = new AbortController();
  private closing: Promise<void> | undefined;

  constructor(store: SessionStore, options: RecordingQueueOptions = {}) {
    const problems: string[] = [];
    const positive = (name: string, value: number, max = Number.MAX_SAFE_INTEGER) => {
      if (!Number.isSafeInteger(value) || value < 1 || value > max) problems.push(`${name} must be an integer from 1 to ${max}`);
      return value;
    };
    this.maxRecords = positive('maxRecords', options.maxRecords ?? 10_000);
    this.maxBytes = positive('maxBytes', options.maxBytes ?? 64 * 1024 * 1024);
    this.concurrency = positive('concurrency', options.concurrency ?? 64, 1024);
    this.retryInitialMs = positive('retryInitialMs', options.retryInitialMs ?? 50, 60_000);
    this.retryMaxMs = positive('retryMaxMs', options.retryMaxMs ?? 5000, 600_000);
    this.onFull = options.onFull ?? 'deny';
    if (this.onFull !== 'deny' && this.onFull !== 'drop') problems.push('onFull must be deny or drop');
    const headroom = options.admitHeadroom ?? 0.1;
    if (!(typeof headroom === 'number' && headroom >= 0 && headroom < 1)) problems.push('admitHeadroom must be a fraction from 0 to below 1');
    if (problems.length > 0) throw invalidOptions('recording queue', problems);
    this.admitRecords = Math.max(1, Math.floor(this.maxRecords * (1 - headroom)));
    this.admitBytes = Math.max(1, Math.floor(this.maxBytes * (1 - headroom)));
    this.store = store;
    this.logger = options.logger ?? createLogger('sluice-sessions');
  }

  /**
   * Whether the data path may admit a new exchange. Deny mode: false when the queue is near full
   * (see admitHeadroom) or closed, so the caller refuses the request rather than lose its record.
   * Drop mode: always true; records that do not fit are dropped instead.
   */
  canAccept(): boolean {
    if (this.onFull === 'drop') return true;
    return this.closing === undefined && this.held < this.admitRecords && this.heldBytes < this.admitBytes;
  }

  /**
   * Queues a record for writing; false when it was dropped (queue full or closed; counted in
   * `dropped` and logged with the session id). The queue keeps the object until it is written:
   * do not change it afterwards. A malformed record throws ERR_SESSION_INVALID.
   */
  offer(record: SessionRecord): boolean {
    const problems = checkRecord(record);
    if (problems.length > 0) throw new SessionError('ERR_SESSION_INVALID', `invalid session record: ${problems.join('; ')}`, { details: { problems } });
    if (this.closing !== undefined) {
      this.drop(record, 'the recording queue is closed');
      return false;
    }
    const bytes = estimateBytes(record);
    // One record over the byte bound still goes through an empty queue rather than never.
    const fits = this.held < this.maxRecords && (this.heldBytes + bytes <= this.maxBytes || this.held === 0);
    if (!fits) {
      this.drop(record, 'the recording queue is full');
      return false;
    }
    this.waiting.push({ seq: this.nextSeq++, record, bytes });
    this.held += 1;
    this.heldBytes += bytes;
    this.pump();
    return true;
  }

  stats(): RecordingQueueStats {
    return { queued: this.held, inFlight: this.inFlight.size, bytes: this.heldBytes, ...this.counters };
  }

  /**
   * Resolves once every record offered before the call is written (or dropped, or rejected).
   * While the store is down that can take as long as the outage: pass a signal to stop waiting.
   */
  flush(signal?: AbortSignal): Promise<void> {
    const upTo = this.nextSeq - 1;
    if (this.lowestUnfinished() > upTo) return Promise.resolve();
    signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      const waiter = { upTo, resolve };
      this.flushWaiters.push(waiter);
      signal?.addEventListener('abort', () => {
        this.flushWaiters = this.flushWaiters.filter((w) => w !== waiter);
        reject(signal.reason);
      }, { once: true });
    });
  }

  /**
   * Stops accepting, drains into the store and closes it. If `signal` aborts first, retries stop
   * and the records still queued are dropped (counted, and each session id logged).
   */
  close(signal?: AbortSignal): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.flush(signal);
      } catch {
        this.giveUp.abort();
        while (this.head < this.waiting.length) {
          const entry = this.waiting[this.head++]!;
          this.finish(entry);
          this.drop(entry.record, 'the recording queue closed before the store took it');
        }
        this.settle();
        await this.flush();
      }
      await this.store.close();
    })();
    return this.closing;
  }

  private pump(): void {
    // While the store fails, one write probes it; the rest wait in the queue.
    const limit = this.consecutiveFailures > 0 ? 1 : this.concurrency;
    while (this.inFlight.size < limit && this.head < this.waiting.length && !this.giveUp.signal.aborted) {
      const entry = this.waiting[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.waiting.length) {
        this.waiting = this.waiting.slice(this.head);
        this.head = 0;
      }
      this.inFlight.add(entry);
      void this.write(entry);
    }
  }

  private async write(entry: Entry): Promise<void> {
    for (;;) {
      try {
        await this.store.append(entry.record);
        this.counters.written += 1;
        if (this.consecutiveFailures > 0) {
          this.logger.info({ failedWrites: this.consecutiveFailures }, 'session store available again; draining the recording queue');
          this.consecutiveFailures = 0;
        }
        break;
      } catch (err) {
        if (!isSessionError(err, 'ERR_SESSION_STORE_UNAVAILABLE')) {
          this.counters.rejected += 1;
          this.logger.error({ sessionId: entry.record.id, err: describeError(err) }, 'session store refused a record; it is not retried');
          break;
        }
        this.counters.failedWrites += 1;
        this.consecutiveFailures += 1;
        if (this.consecutiveFailures === 1) this.logger.warn({ err: describeError(err) }, 'session store unavailable; holding records and retrying');
        const delay = Math.min(this.retryMaxMs, this.retryInitialMs * 2 ** Math.min(this.consecutiveFailures - 1, 20));
        try {
          // Jitter, so replicas that lost the same database do not all come back at once.
          await sleep(delay / 2 + Math.random() * (delay / 2), undefined, { signal: this.giveUp.signal });
        } catch {
          this.drop(entry.record, 'the recording queue closed before the store took it');
          break;
        }
      }
    }
    this.inFlight.delete(entry);
    this.finish(entry);
    this.settle();
    this.pump();
  }

  private finish(entry: Entry): void {
    this.held -= 1;
    this.heldBytes -= entry.bytes;
  }

  private drop(record: SessionRecord, reason: string): void {
    this.counters.dropped += 1;
    const fields = { sessionId: record.id, requestId: record.requestId, target: record.target, reason };
    // Deny mode drops only what an admitted exchange could not fit: an audit gap worth an error.
    if (this.onFull === 'deny') this.logger.error(fields, 'session record dropped');
    else this.logger.warn(fields, 'session record dropped');
  }

  private lowestUnfinished(): number {
    let lowest = this.waiting[this.head]?.seq ?? Number.POSITIVE_INFINITY;
    for (const entry of this.inFlight) lowest = Math.min(lowest, entry.seq);
    return lowest;
  }

  private settle(): void {
    if (this.flushWaiters.length === 0) return;
    const lowest = this.lowestUnfinished();
    const ready = this.flushWaiters.filter((w) => w.upTo < lowest);
    if (ready.length === 0) return;
    this.flushWaiters = this.flushWaiters.filter((w) => w.upTo >= lowest);
    for (const waiter of ready) waiter.resolve();
  }
}

/** Rough memory held by a record: what grows with traffic (bodies, headers, path, events). */
function estimateBytes(record: SessionRecord): number {
  let bytes = 512 + record.subject.length + record.summary.length + record.events.length * 64;
  for (const event of record.events) {
    if (event.kind !== 'http.request' && event.kind !== 'http.response') continue;
    if (event.kind === 'http.request') bytes += event.path.length;
    for (const [name, value] of Object.entries(event.headers)) bytes += name.length + value.length + 16;
    bytes += 'text' in event.body ? event.body.text.length : event.body.base64.length;
  }
  return bytes;
}
