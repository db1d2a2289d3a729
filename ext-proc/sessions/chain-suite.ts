import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { chainKey, genesisHash, linkHash } from './chain.ts';
import type { ChainSource, VerifyReport } from './chain-verify.ts';
import { verifyChains } from './chain-verify.ts';
import type { PurgeOptions, PurgeReport } from './purge.ts';
import { listAll, sessionRecord, T0 } from './store-suite.ts';
import type { SessionRecord, SessionStore } from './types.ts';
import type { SessionRecordV1 } from './upgrade-record.ts';

/** A store that chains: what verify and purge need beside the SessionStore API. */
export interface ChainedStore extends SessionStore {
  chainSource(): ChainSource;
  purge(options: PurgeOptions): Promise<PurgeReport>;
}

/** What a store implementation hands the chain suite, over storage of its own per call of open(). */
export interface ChainStoreHarness {
  /** A new writing store instance over the storage (PostgreSQL: a new partition; file: the directory, once the last writer closed). */
  writer(options?: { chainKey?: Buffer }): Promise<ChainedStore>;
  /** Whether two writers may be open at once (PostgreSQL); the file store's lock allows one. */
  concurrentWriters: boolean;
  /** Whether the store records its writer's head, so a removed tail shows (PostgreSQL). */
  recordsHead: boolean;
  /** Stores records the way the store wrote them before chaining (no link). Writers are closed. */
  writeUnchained(records: readonly SessionRecord[] | readonly SessionRecordV1[]): Promise<void>;
  /** Tampering by someone with write access to the storage, behind the store's back (writers closed). */
  alterSubject(id: string, subject: string): Promise<void>;
  remove(id: string): Promise<void>;
  /** Exchanges the stored order of two records, each keeping its link (file: the lines; PostgreSQL: their seq). */
  swap(a: string, b: string): Promise<void>;
  /** Verifies what is stored now, through a read-only store. */
  verify(options?: { chainKey?: Buffer }): Promise<VerifyReport>;
  close(): Promise<void>;
}

/** Records one second apart from T0, one per second `n`. */
function records(count: number, from = 0): SessionRecord[] {
  return Array.from({ length: count }, (_, i) => sessionRecord({}, from + i));
}

async function appendAll(store: SessionStore, list: readonly SessionRecord[]): Promise<void> {
  for (const record of list) await store.append(record);
}

export function chainStoreSuite(name: string, open: () => Promise<ChainStoreHarness>): void {
  describe(`${name} hash chain`, () => {
    const withHarness = (title: string, run: (h: ChainStoreHarness) => Promise<void>) =>
      test(title, async () => {
        const h = await open();
        try {
          await run(h);
        } finally {
          await h.close();
        }
      });

    withHarness('appended records verify; the head is the last link, computed from the records as chain.ts defines it', async (h) => {
      const list = records(5);
      const store = await h.writer();
      await appendAll(store, list);
      await store.close();
      const report = await h.verify();
      assert.equal(report.ok, true, JSON.stringify(report));
      assert.equal(report.verified, 5);
      assert.equal(report.legacy, 0);
      assert.equal(report.partitions.length, 1);
      const [partition] = report.partitions;
      let hash = genesisHash(partition!.partition);
      const reread = await h.writer();
      for (const record of list) hash = linkHash(hash, (await reread.get(record.id))!);
      await reread.close();
      assert.deepEqual(partition!.head, { seq: 5, hash });
    });

    withHarness('a record whose content was changed is named, at its position, with the hash expected and found', async (h) => {
      const list = records(5);
      const store = await h.writer();
      await appendAll(store, list);
      await store.close();
      await h.alterSubject(list[2]!.id, 'mallory');
      const report = await h.verify();
      assert.equal(report.ok, false);
      const brk = report.partitions[0]!.break!;
      assert.equal(brk.kind, 'altered');
      assert.equal(brk.id, list[2]!.id);
      assert.equal(brk.position, 3);
      assert.match(brk.expected, /^hash [0-9a-f]{64}/);
      assert.notEqual(brk.expected.slice(5, 69), brk.found.slice(5, 69));
      assert.equal(report.partitions[0]!.verified, 2, 'the records before the break hold');
    });

    withHarness('a record removed from the middle is named by its position and the record found there', async (h) => {
      const list = records(5);
      const store = await h.writer();
      await appendAll(store, list);
      await store.close();
      await h.remove(list[2]!.id);
      const brk = (await h.verify()).partitions[0]!.break!;
      assert.equal(brk.kind, 'removed');
      assert.equal(brk.position, 3);
      assert.equal(brk.id, list[3]!.id);
      assert.match(brk.expected, new RegExp(`after ${list[1]!.id}`));
    });

    withHarness('two records that changed places are named as reordered', async (h) => {
      const list = records(5);
      const store = await h.writer();
      await appendAll(store, list);
      await store.close();
      await h.swap(list[1]!.id, list[2]!.id);
      const brk = (await h.verify()).partitions[0]!.break!;
      assert.equal(brk.kind, 'reordered');
      assert.equal(brk.position, 2);
      assert.equal(brk.id, list[2]!.id);
    });

    withHarness('purge removes the old records, records the purge point, and the chain still verifies; appends go on after it', async (h) => {
      const list = records(6);
      const store = await h.writer();
      await appendAll(store, list);
      const dry = await store.purge({ before: T0 + 3000, dryRun: true });
      assert.equal(dry.removed, 3);
      assert.equal((await store.get(list[0]!.id))?.id, list[0]!.id, 'a dry run removes nothing');
      const done = await store.purge({ before: T0 + 3000, now: T0 + 99_000 });
      assert.equal(done.removed, 3);
      assert.equal(done.partitions[0]!.purgedSeq, 3);
      assert.equal(await store.get(list[0]!.id), undefined);
      assert.equal((await store.get(list[3]!.id))?.id, list[3]!.id);
      assert.deepEqual((await listAll(store)).map((r) => r.id), list.slice(3).map((r) => r.id).reverse(), 'list forgets the purged records');
      assert.deepEqual((await listAll(store, { subject: 'alice' })).length, 3);
      await store.close();
      let report = await h.verify();
      assert.equal(report.ok, true, JSON.stringify(report));
      assert.equal(report.verified, 3);
      assert.deepEqual(report.partitions[0]!.purged, { seq: 3, hash: done.partitions[0]!.purgedHash, at: T0 + 99_000, before: T0 + 3000 });
      const again = await h.writer();
      await appendAll(again, records(2, 10));
      await again.close();
      report = await h.verify();
      assert.equal(report.ok, true, JSON.stringify(report));
      assert.equal(report.verified, 5);
    });

    withHarness('a record deleted by hand after a purge is detected, and a purge over a hand-deleted range is refused', async (h) => {
      const list = records(6);
      const store = await h.writer();
      await appendAll(store, list);
      await store.purge({ before: T0 + 2000 });
      await store.close();
      await h.remove(list[2]!.id);
      const brk = (await h.verify()).partitions[0]!.break!;
      assert.equal(brk.kind, 'removed');
      assert.equal(brk.position, 3);
      assert.equal(brk.id, list[3]!.id);
      await h.remove(list[4]!.id);
      const writer = await h.writer();
      try {
        // Only the partition with the hole matters here; PostgreSQL has one (this writer has written nothing).
        await assert.rejects(writer.purge({ before: T0 + 5000 }), { code: 'ERR_SESSION_STORE_CORRUPT' });
      } finally {
        await writer.close();
      }
    });

    withHarness('concurrent appends keep every chain valid', async (h) => {
      const first = await h.writer();
      const second = h.concurrentWriters ? await h.writer() : first;
      const a = records(40);
      const b = records(40, 100);
      await Promise.all(a.flatMap((record, i) => [first.append(record), second.append(b[i]!)]));
      await first.close();
      if (second !== first) await second.close();
      // A later writer (the file store's next process; PostgreSQL's next replica) chains on too.
      const later = await h.writer();
      await appendAll(later, records(3, 200));
      await later.close();
      const report = await h.verify();
      assert.equal(report.ok, true, JSON.stringify(report.partitions.map((p) => p.break)));
      assert.equal(report.verified, 83);
      assert.equal(report.partitions.length, h.concurrentWriters ? 3 : 1);
    });

    withHarness('an append retried after it was stored is no second link', async (h) => {
      const store = await h.writer();
      const list = records(3);
      await appendAll(store, list);
      await Promise.all([store.append(list[1]!), store.append(sessionRecord({}, 9)), store.append(list[1]!)]);
      await store.close();
      const report = await h.verify();
      assert.equal(report.ok, true, JSON.stringify(report));
      assert.equal(report.verified, 4);
    });

    withHarness('records stored before chaining are reported as unchained, not as verified', async (h) => {
      await h.writeUnchained(records(2, 50));
      const store = await h.writer();
      await appendAll(store, records(3));
      await store.close();
      const report = await h.verify();
      assert.equal(report.ok, true, JSON.stringify(report));
      assert.equal(report.legacy, 2);
      assert.equal(report.verified, 3);
    });

    withHarness('a keyed chain needs its key: without it, or with another, it is not verified; with it, it is', async (h) => {
      const key = randomBytes(32);
      const store = await h.writer({ chainKey: key });
      await appendAll(store, records(3));
      await store.close();
      const without = await h.verify();
      assert.equal(without.ok, false);
      assert.equal(without.partitions[0]!.break!.kind, 'key');
      assert.equal(without.partitions[0]!.keyId, chainKey(key).id);
      assert.equal((await h.verify({ chainKey: randomBytes(32) })).partitions[0]!.break!.kind, 'key');
      const keyed = await h.verify({ chainKey: key });
      assert.equal(keyed.ok, true, JSON.stringify(keyed));
      assert.equal(keyed.verified, 3);
    });

    withHarness('records removed from the end are detected where the store records its head', async (h) => {
      const list = records(4);
      const store = await h.writer();
      await appendAll(store, list);
      await store.close();
      await h.remove(list[3]!.id);
      const report = await h.verify();
      if (!h.recordsHead) {
        // Documented: only an anchored head hash catches a removed tail of the file store.
        assert.equal(report.ok, true);
        assert.equal(report.partitions[0]!.head!.seq, 3);
        return;
      }
      const brk = report.partitions[0]!.break!;
      assert.equal(brk.kind, 'truncated');
      assert.equal(brk.position, 4);
    });
  });
}
