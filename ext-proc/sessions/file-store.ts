import { mkdir, open, readdir, readFile, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { processAlive } from '../../common/process-alive.ts';
import { canonicalJson, chainAlg, chainKey, genesisHash, nextLink, type ChainKey, type ChainLink } from './chain.ts';
import type { ChainSource } from './chain-verify.ts';
import { FILE_PARTITION, fileChainSource, readChainState, writeChainState, type FileChainState } from './file-chain.ts';
import type { PurgeOptions, PurgeReport } from './purge.ts';
import path from 'node:path';
import { describeError, SluiceError } from '../../common/errors.ts';
import { createLogger, type Logger } from '../../common/logger.ts';
import { invalidOptions, SessionError } from './errors.ts';
import { SessionIndex, type IndexEntry } from './file-index.ts';
import { auditKeys } from './audit-fields.ts';
import { decisionKeys } from './decision-keys.ts';
import { decodeFrameRecord, encodeFrame, MAX_FRAME_BYTES, scanSegment } from './frame.ts';
import { encodeCursor, listQuery } from './list-query.ts';
import { isSessionId, prepareRecord, recordPolicy, type RecordPolicy, type RecordPolicyOptions } from './prepare-record.ts';
import type { AppendProgress, SessionFilter, SessionPage, SessionRecord, SessionStore } from './types.ts';

export interface FileSessionStoreOptions extends RecordPolicyOptions {
  /** Directory of segment files; created if missing (unless read-only). */
  dir: string;
  /**
   * Read without writing anything: no lock, no repair of a torn tail, append refused. For
   * `sluice sessions`, which may read while ext-proc writes.
   */
  readOnly?: boolean;
  /** A segment is closed and a new one started before it would grow past this. Default 64 MiB. */
  maxFileBytes?: number;
  /**
   * When append() resolves: `batch` (default) after an fsync shared by every record written in the
   * same `fsyncIntervalMs` (group commit); `always` after an fsync of its own; `off` once written
   * to the OS (a machine crash may lose the last records, never tear one).
   */
  fsync?: 'batch' | 'always' | 'off';
  /** Group-commit window for `fsync: batch`. Default 10 ms. */
  fsyncIntervalMs?: number;
  /**
   * Key of the hash chain (HMAC-SHA-256, at least 16 bytes): without it, someone who can rewrite
   * the whole directory can recompute the chain. A directory keeps the algorithm and key it was
   * first chained with (its CHAIN file); opening it for writing with another is refused.
   */
  chainKey?: Buffer;
  logger?: Logger;
}

const SEGMENT_NAME = /^sessions-(\d{8})\.log$/;
const LOCK_NAME = 'LOCK';
/** Directories locked by this process: a second writer in the same process is refused too. */
const LOCKED_HERE = new Set<string>();

/** Per segment, for purge: the newest start time in it, how many records, its last chain link. */
interface SegmentInfo {
  maxStartedAt: number;
  records: number;
  /** Records with a link, and the first and last link. */
  chained: number;
  first?: ChainLink;
  last?: ChainLink;
}

interface Active {
  segment: number;
  handle: FileHandle;
  size: number;
}

/**
 * The embedded default store: append-only segment files in one directory, one checksummed line
 * per record (see frame.ts), written with one positional write. A record is whole or absent: a
 * write torn by a crash fails its checksum, is ignored by readers and cut off by the next writer
 * to open the directory. Segments rotate by size. An in-memory index (id → segment and offset,
 * plus subject, target, start time, protocol, outcome, the audit keys and the decision keys) is built by one scan at open, so get() and list() read only
 * the records they return. One writing process per directory (a LOCK file holds the others off).
 */
export class FileSessionStore implements SessionStore {
  private readonly dir: string;
  private readonly readOnly: boolean;
  private readonly maxFileBytes: number;
  private readonly fsync: 'batch' | 'always' | 'off';
  private readonly fsyncIntervalMs: number;
  private readonly policy: RecordPolicy;
  private readonly logger: Logger;
  private readonly index = new SessionIndex();
  private readonly chainKey: ChainKey | undefined;
  /** The last link written (or the purge point, or seq 0 at the genesis hash): the next record links to it. */
  private head: { seq: number; hash: string } = { seq: 0, hash: genesisHash(FILE_PARTITION) };
  private chainState: FileChainState | undefined;
  private readonly segmentInfo = new Map<number, SegmentInfo>();
  private readonly segments: number[] = [];
  private active: Active | undefined;
  /** Writes, rotations and fsyncs run one at a time, in order. */
  private chain: Promise<void> = Promise.resolve();
  /** Appends queued on the chain and not yet written, by id (a second append of an id joins the first). */
  private readonly pending = new Map<string, Promise<void>>();
  private syncWaiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  private syncTimer: NodeJS.Timeout | undefined;
  /** After a failed fsync the kernel may have dropped dirty pages: nothing written since can be trusted. */
  private failure: unknown;
  private lockPath: string | undefined;
  private closed = false;

  /** Opens (or creates) the store, repairs a torn tail, builds the index. */
  static async open(options: FileSessionStoreOptions): Promise<FileSessionStore> {
    const store = new FileSessionStore(options);
    try {
      await store.load();
    } catch (err) {
      await store.close().catch(() => undefined);
      if (err instanceof SluiceError) throw err;
      throw unavailable(`cannot open the session store in ${store.dir}`, err);
    }
    return store;
  }

  private constructor(options: FileSessionStoreOptions) {
    const problems: string[] = [];
    if (typeof options.dir !== 'string' || options.dir === '') problems.push('dir must be a directory path');
    const maxFileBytes = options.maxFileBytes ?? 64 * 1024 * 1024;
    if (!Number.isSafeInteger(maxFileBytes) || maxFileBytes < 1024) problems.push('maxFileBytes must be an integer of at least 1024');
    const fsync = options.fsync ?? 'batch';
    if (!['batch', 'always', 'off'].includes(fsync)) problems.push('fsync must be batch, always or off');
    const fsyncIntervalMs = options.fsyncIntervalMs ?? 10;
    if (!Number.isFinite(fsyncIntervalMs) || fsyncIntervalMs < 0 || fsyncIntervalMs > 10_000) problems.push('fsyncIntervalMs must be from 0 to 10000');
    if (options.chainKey !== undefined && !(Buffer.isBuffer(options.chainKey) && options.chainKey.byteLength >= 16)) problems.push('chainKey must be at least 16 bytes');
    if (problems.length > 0) throw invalidOptions('file session store', problems);
    this.chainKey = options.chainKey === undefined ? undefined : chainKey(options.chainKey);
    this.policy = recordPolicy('file session store', options);
    this.dir = path.resolve(options.dir);
    this.readOnly = options.readOnly ?? false;
    this.maxFileBytes = maxFileBytes;
    this.fsync = fsync;
    this.fsyncIntervalMs = fsyncIntervalMs;
    this.logger = options.logger ?? createLogger('sluice-sessions');
  }

  /** Number of sessions in the store. */
  get size(): number {
    return this.index.size;
  }

  async append(record: SessionRecord, progress?: AppendProgress): Promise<void> {
    this.checkOpen();
    if (this.readOnly) throw unavailable(`the session store in ${this.dir} was opened read-only`);
    const prepared = prepareRecord(record, this.policy);
    const queued = this.pending.get(prepared.id);
    if (queued !== undefined) return queued;
    if (this.index.get(prepared.id) !== undefined) return;
    const written = this.enqueue(() => this.write(prepared));
    // In the OS's hands once written: a crash of this process no longer loses it (fsync follows).
    if (progress?.written) written.then(progress.written, () => undefined);
    const done = written.then(() => (this.fsync === 'batch' ? this.syncSoon() : undefined));
    this.pending.set(prepared.id, done);
    try {
      await done;
    } finally {
      this.pending.delete(prepared.id);
    }
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    this.checkOpen();
    if (!isSessionId(id)) return undefined;
    const entry = this.index.get(id.toLowerCase());
    if (entry === undefined) return undefined;
    const [record] = await this.read([entry]);
    return record;
  }

  async list(filter: SessionFilter = {}): Promise<SessionPage> {
    this.checkOpen();
    const query = listQuery(filter);
    const { entries, more } = this.index.query(query);
    const records = await this.read(entries);
    const last = records[records.length - 1];
    return more && last !== undefined ? { records, nextCursor: encodeCursor(last) } : { records };
  }

  /** Waits for queued writes and their fsync, then releases the directory. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.syncTimer !== undefined) clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    // On the chain, after every queued write; a group-commit step queued later finds nothing open.
    await this.enqueue(async () => {
      // One last fsync for the writes still waiting on the group commit (and any written with fsync off).
      if (this.active !== undefined && this.failure === undefined) await this.syncActive().catch(() => undefined);
      const waiters = this.syncWaiters;
      this.syncWaiters = [];
      for (const waiter of waiters) {
        if (this.failure === undefined) waiter.resolve();
        else waiter.reject(unavailable('cannot fsync the session store', this.failure));
      }
      const active = this.active;
      this.active = undefined;
      if (active !== undefined) await active.handle.close().catch(() => undefined);
    });
    if (this.lockPath !== undefined) {
      LOCKED_HERE.delete(this.dir);
      await unlink(this.lockPath).catch(() => undefined);
      this.lockPath = undefined;
    }
  }

  private checkOpen(): void {
    if (this.closed) throw unavailable('the session store is closed');
  }

  private async load(): Promise<void> {
    if (this.readOnly) {
      const info = await stat(this.dir).catch(() => undefined);
      if (!info?.isDirectory()) throw unavailable(`no session store in ${this.dir}`);
    } else {
      await mkdir(this.dir, { recursive: true });
      await this.lock();
    }
    const names = await readdir(this.dir);
    for (const name of names) {
      const match = SEGMENT_NAME.exec(name);
      if (match) this.segments.push(Number(match[1]));
    }
    this.segments.sort((a, b) => a - b);
    for (const segment of this.segments) await this.loadSegment(segment);
    if (this.readOnly) {
      // For a dry-run purge; the writer checks it against its key in loadChain().
      this.chainState = await readChainState(this.dir);
      return;
    }
    await this.loadChain();
    const last = this.segments[this.segments.length - 1];
    if (last === undefined) {
      await this.startSegment(1);
    } else {
      const handle = await open(this.segmentPath(last), 'r+');
      this.active = { segment: last, handle, size: (await handle.stat()).size };
    }
  }

  /** Indexes one segment; a writer cuts off a torn tail, everyone logs damage. */
  private async loadSegment(segment: number): Promise<void> {
    const file = this.segmentPath(segment);
    const handle = await open(file, this.readOnly ? 'r' : 'r+');
    try {
      const { size } = await handle.stat();
      let duplicates = 0;
      const info: SegmentInfo = { maxStartedAt: Number.NEGATIVE_INFINITY, records: 0, chained: 0 };
      this.segmentInfo.set(segment, info);
      const scan = await scanSegment(handle, size, (meta, offset, length) => {
        info.records += 1;
        info.maxStartedAt = Math.max(info.maxStartedAt, meta.startedAt);
        if (meta.link !== undefined) {
          info.chained += 1;
          info.first ??= meta.link;
          info.last = meta.link;
        }
        const { link: _link, ...keys } = meta;
        if (!this.index.add({ ...keys, id: meta.id.toLowerCase(), segment, offset, length })) duplicates += 1;
      });
      for (const range of scan.corrupt) {
        this.logger.error({ file, offset: range.offset, bytes: range.length }, 'session store: skipping a damaged record (checksum mismatch) between intact ones');
      }
      if (duplicates > 0) this.logger.warn({ file, duplicates }, 'session store: ignoring records whose id is already stored');
      if (scan.goodEnd < size) {
        if (this.readOnly) {
          // Likely a write in progress by the live writer, or a tail it will cut at its next start.
          this.logger.debug({ file, offset: scan.goodEnd, bytes: size - scan.goodEnd }, 'session store: ignoring an incomplete last record');
        } else {
          await handle.truncate(scan.goodEnd);
          await handle.sync();
          this.logger.warn({ file, offset: scan.goodEnd, bytes: size - scan.goodEnd }, 'session store: cut off an incomplete last record (a write torn by a crash)');
        }
      }
    } finally {
      await handle.close();
    }
  }

  /**
   * The writer's side of the chain: the CHAIN file (created on the first open) must name the key
   * this store was given, and the next record links to the last link on disk, or to the purge
   * point when a purge removed every chained record.
   */
  private async loadChain(): Promise<void> {
    const state = await readChainState(this.dir);
    const alg = chainAlg(this.chainKey);
    if (state !== undefined && (state.alg !== alg || state.keyId !== this.chainKey?.id)) {
      throw new SessionError('ERR_SESSION_CHAIN_KEY', `the session store in ${this.dir} is chained with ${state.alg === 'sha256' ? 'no key' : `key ${state.keyId}`}, and this store was given ${this.chainKey === undefined ? 'no key' : `key ${this.chainKey.id}`}`, {
        details: { dir: this.dir, ...(state.keyId === undefined ? {} : { expected: state.keyId }), ...(this.chainKey === undefined ? {} : { given: this.chainKey.id }) },
      });
    }
    let last: ChainLink | undefined;
    for (const segment of this.segments) last = this.segmentInfo.get(segment)?.last ?? last;
    if (state === undefined) {
      if (last !== undefined) this.logger.warn({ dir: this.dir }, 'session store: chained records but no CHAIN file; writing a new one (sluice sessions verify will say whether the chain holds)');
      this.chainState = { format: 'sluice-chain-v1', partition: FILE_PARTITION, alg, ...(this.chainKey === undefined ? {} : { keyId: this.chainKey.id }), createdAt: Date.now() };
      await writeChainState(this.dir, this.chainState);
    } else {
      this.chainState = state;
    }
    const purged = this.chainState.purged;
    if (last !== undefined && (purged === undefined || last.seq > purged.seq)) this.head = { seq: last.seq, hash: last.hash };
    else if (purged !== undefined) this.head = { seq: purged.seq, hash: purged.hash };
  }

  /** What `sluice sessions verify` reads: the directory as it is on disk. */
  chainSource(): ChainSource {
    return fileChainSource(this.dir);
  }

  /**
   * Removes whole segments, oldest first, while every record in them started before `before`
   * (a segment holding one newer record stops the purge there: the chain can only lose a prefix),
   * after recording the purge point (the last chained record removed) in the CHAIN file, so verify
   * starts there. The active segment is sealed first when all of it goes. Needs the writer's lock,
   * but for a dry run.
   */
  async purge(options: PurgeOptions): Promise<PurgeReport> {
    this.checkOpen();
    if (this.readOnly && !options.dryRun) throw unavailable(`the session store in ${this.dir} was opened read-only`);
    let report: PurgeReport | undefined;
    await this.enqueue(async () => {
      report = await this.purgeNow(options);
    });
    return report!;
  }

  private async purgeNow(options: PurgeOptions): Promise<PurgeReport> {
    const doomed: number[] = [];
    let removed = 0;
    let chained = 0;
    let first: ChainLink | undefined;
    let last: ChainLink | undefined;
    for (const segment of this.segments) {
      const info = this.segmentInfo.get(segment);
      if (info === undefined || (info.records === 0 && segment === this.active?.segment) || (info.records > 0 && info.maxStartedAt >= options.before)) break;
      doomed.push(segment);
      removed += info.records;
      chained += info.chained;
      first ??= info.first;
      last = info.last ?? last;
    }
    const from = this.chainState?.purged?.seq ?? 0;
    if (last !== undefined && (first!.seq > from + 1 || chained < last.seq - from)) {
      // Purging now would hide records removed outside a purge.
      throw new SessionError('ERR_SESSION_STORE_CORRUPT', `the segments to purge hold ${chained} chained records where seq ${from + 1} to ${last.seq} make ${last.seq - from}: records were removed outside a purge; run sluice sessions verify`, {
        details: { dir: this.dir, from: from + 1, to: last.seq, present: chained },
      });
    }
    // Older records that stay because they share a segment with a newer one (or come after one).
    const olderKept = Math.max(0, this.index.countStartedBefore(options.before) - removed);
    const partition = { partition: FILE_PARTITION, removed, ...(last === undefined ? {} : { purgedSeq: last.seq, purgedHash: last.hash }) };
    const report: PurgeReport = { dryRun: options.dryRun ?? false, before: options.before, removed, olderKept, partitions: removed === 0 ? [] : [partition] };
    if (options.dryRun || doomed.length === 0) return report;
    if (doomed.includes(this.active?.segment ?? -1)) await this.rotate();
    if (last !== undefined) {
      const state: FileChainState = { ...this.chainState!, purged: { seq: last.seq, hash: last.hash, at: options.now ?? Date.now(), before: options.before } };
      await writeChainState(this.dir, state);
      this.chainState = state;
    }
    for (const segment of doomed) {
      await unlink(this.segmentPath(segment));
      this.segmentInfo.delete(segment);
    }
    await syncDirectory(this.dir);
    this.segments.splice(0, doomed.length);
    this.index.removeSegments(new Set(doomed));
    this.logger.info({ dir: this.dir, removed, segments: doomed.length, before: new Date(options.before).toISOString(), ...(last === undefined ? {} : { purgedSeq: last.seq }) }, 'session store: purged old segments');
    return report;
  }

  private async lock(): Promise<void> {
    if (LOCKED_HERE.has(this.dir)) throw locked(this.dir, process.pid);
    const lockPath = path.join(this.dir, LOCK_NAME);
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        await writeFile(lockPath, `${process.pid}\n`, { flag: 'wx' });
        LOCKED_HERE.add(this.dir);
        this.lockPath = lockPath;
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
      // Our own pid in the file is a lock left by an earlier run (a container restarts as pid 1).
      if (Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && processAlive(holder)) throw locked(this.dir, holder);
      this.logger.warn({ dir: this.dir, pid: Number.isNaN(holder) ? undefined : holder }, 'session store: taking over a lock left by a process that is gone');
      await unlink(lockPath).catch(() => undefined);
    }
    throw locked(this.dir, undefined);
  }

  private segmentPath(segment: number): string {
    return path.join(this.dir, `sessions-${String(segment).padStart(8, '0')}.log`);
  }

  /** Runs `step` after everything queued before it; a failed step does not stop the ones after. */
  private enqueue(step: () => Promise<void>): Promise<void> {
    const run = this.chain.then(step);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async write(record: SessionRecord): Promise<void> {
    if (this.failure !== undefined) throw unavailable('the session store failed to sync to disk; restart to recover', this.failure);
    if (this.index.get(record.id) !== undefined) return;
    // Linked here, on the chain of writes, so records link in the order they land in the file.
    // HTTP records keep their headers' order as stored (the hash ignores it); every other record
    // is stored in its canonical form, made once for the hash and the line alike.
    const canonical = canonicalJson(record);
    const link = nextLink(this.head, record, this.chainKey, canonical);
    const frame = encodeFrame(record, link, record.protocol === 'http' ? undefined : canonical);
    if (frame.byteLength > MAX_FRAME_BYTES) {
      throw new SessionError('ERR_SESSION_INVALID', `session record ${record.id} is ${frame.byteLength} bytes stored, more than ${MAX_FRAME_BYTES}`);
    }
    let active: Active;
    try {
      // No active segment: the last rotation failed half-way; start the next one now.
      active = this.active ?? (await this.startSegment((this.segments[this.segments.length - 1] ?? 0) + 1));
      if (active.size > 0 && active.size + frame.byteLength > this.maxFileBytes) active = await this.rotate();
    } catch (err) {
      throw err instanceof SessionError ? err : unavailable(`cannot start a new segment in ${this.dir}`, err);
    }
    const offset = active.size;
    try {
      let done = 0;
      // One write() per record; the loop only continues a short write, at the right position.
      while (done < frame.byteLength) {
        const { bytesWritten } = await active.handle.write(frame, done, frame.byteLength - done, offset + done);
        if (bytesWritten === 0) throw new Error('write made no progress');
        done += bytesWritten;
      }
    } catch (err) {
      // Leave no partial record for the next one to land after (disk full, I/O error).
      await active.handle.truncate(offset).catch((truncateErr: unknown) => {
        this.failure = truncateErr;
      });
      throw unavailable(`cannot write to ${this.segmentPath(active.segment)}`, err);
    }
    active.size += frame.byteLength;
    this.head = { seq: link.seq, hash: link.hash };
    const info = this.segmentInfo.get(active.segment) ?? { maxStartedAt: Number.NEGATIVE_INFINITY, records: 0, chained: 0 };
    info.records += 1;
    info.chained += 1;
    info.first ??= link;
    info.maxStartedAt = Math.max(info.maxStartedAt, record.startedAt);
    info.last = link;
    this.segmentInfo.set(active.segment, info);
    this.index.add({ id: record.id, subject: record.subject, target: record.target, startedAt: record.startedAt, protocol: record.protocol, outcome: record.outcome, ...auditKeys(record), ...decisionKeys(record), segment: active.segment, offset, length: frame.byteLength });
    if (this.fsync === 'always') await this.syncActive();
  }

  /** Seals the active segment (fsynced) and starts the next one. Runs on the chain. */
  private async rotate(): Promise<Active> {
    const old = this.active!;
    await this.syncActive();
    this.active = undefined;
    await old.handle.close().catch(() => undefined);
    return this.startSegment(old.segment + 1);
  }

  private async startSegment(segment: number): Promise<Active> {
    const handle = await open(this.segmentPath(segment), 'wx+');
    const active: Active = { segment, handle, size: 0 };
    // Taken before the directory sync, so that if the sync fails the next write still has a file.
    this.segments.push(segment);
    this.active = active;
    await syncDirectory(this.dir);
    return active;
  }

  private async syncActive(): Promise<void> {
    try {
      await this.active!.handle.datasync();
    } catch (err) {
      this.failure = err;
      throw unavailable('cannot fsync the session store', err);
    }
  }

  /** Resolves once an fsync that started after this call completes (group commit). */
  private syncSoon(): Promise<void> {
    // Closed: close() synced everything written before it returned.
    if (this.closed && this.active === undefined) return this.failure === undefined ? Promise.resolve() : Promise.reject(unavailable('cannot fsync the session store', this.failure));
    return new Promise((resolve, reject) => {
      this.syncWaiters.push({ resolve, reject });
      this.syncTimer ??= setTimeout(() => {
        this.syncTimer = undefined;
        void this.runSync();
      }, this.fsyncIntervalMs);
    });
  }

  private async runSync(): Promise<void> {
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    try {
      // Queued behind the writes whose waiters are here, so their bytes are in the file.
      await this.enqueue(() => (this.active === undefined ? Promise.resolve() : this.syncActive()));
      for (const waiter of waiters) waiter.resolve();
    } catch (err) {
      for (const waiter of waiters) waiter.reject(err);
    }
  }

  /** Reads records for index entries, in the entries' order; one open per segment. */
  private async read(entries: readonly IndexEntry[]): Promise<SessionRecord[]> {
    const records = new Array<SessionRecord>(entries.length);
    const bySegment = new Map<number, number[]>();
    entries.forEach((entry, i) => {
      const list = bySegment.get(entry.segment) ?? [];
      list.push(i);
      bySegment.set(entry.segment, list);
    });
    for (const [segment, positions] of bySegment) {
      // A handle of its own, even for the active segment, which a rotation may close meanwhile.
      let handle: FileHandle;
      try {
        handle = await open(this.segmentPath(segment), 'r');
      } catch (err) {
        throw unavailable(`cannot read ${this.segmentPath(segment)}`, err);
      }
      try {
        for (const i of positions) records[i] = await this.readOne(handle, entries[i]!);
      } finally {
        await handle.close().catch(() => undefined);
      }
    }
    return records;
  }

  private async readOne(handle: FileHandle, entry: IndexEntry): Promise<SessionRecord> {
    const line = Buffer.allocUnsafe(entry.length);
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(line, 0, entry.length, entry.offset));
    } catch (err) {
      throw unavailable(`cannot read ${this.segmentPath(entry.segment)}`, err);
    }
    const record = bytesRead === entry.length ? decodeFrameRecord(line) : undefined;
    if (record === undefined || record.id !== entry.id) {
      throw new SessionError('ERR_SESSION_STORE_CORRUPT', `session ${entry.id} in ${this.segmentPath(entry.segment)} at ${entry.offset} fails its checksum`, {
        details: { file: this.segmentPath(entry.segment), offset: entry.offset },
      });
    }
    return record;
  }
}

function unavailable(message: string, cause?: unknown): SessionError {
  const detail = cause === undefined ? '' : `: ${describeError(cause).message}`;
  return new SessionError('ERR_SESSION_STORE_UNAVAILABLE', `${message}${detail}`, cause === undefined ? {} : { cause });
}

function locked(dir: string, pid: number | undefined): SessionError {
  return new SessionError('ERR_SESSION_STORE_LOCKED', `the session store in ${dir} is in use by ${pid === process.pid ? 'this process' : `process ${pid ?? 'unknown'}`}`, {
    details: { dir, pid },
  });
}

/** Makes a new file's directory entry durable. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
