import { genesisHash, linkHash, type ChainAlg, type ChainKey, type ChainLink } from './chain.ts';
import type { SessionRecord } from './types.ts';

/**
 * Checks the hash chains of a store (chain.ts) through a ChainSource, which each store implements
 * over its own storage. One walk per partition in stored order; the first break ends the walk of
 * that partition (everything after it is unproven) and the rest of the partition is only scanned
 * to tell a removal from a reordering.
 */

/** Where a partition's chain starts after a purge: the last record removed. */
export interface PurgePoint {
  seq: number;
  hash: string;
  /** When the purge ran, and the cutoff it was given (epoch ms). */
  at: number;
  before: number;
}

export interface ChainPartition {
  partition: string;
  alg: ChainAlg;
  /** For hmac-sha256: the id of the key it was written under (chainKeyId()). */
  keyId?: string;
  /** Who wrote it (host, pid), for the operator. */
  writer?: string;
  createdAt?: number;
  purged?: PurgePoint;
  /** The last link the writer recorded, where the store keeps one (PostgreSQL); catches a removed tail. */
  head?: { seq: number; hash: string };
}

/** One stored record of a partition, in stored order. */
export interface ChainEntry {
  id: string;
  /** Absent: a record written before chaining (or stripped of its link). */
  link?: ChainLink;
  /** Undefined: the record is there but cannot be read (fails its checksum, does not parse). */
  record: SessionRecord | undefined;
  /** Where it is, for the report (file and offset, or a row). */
  where: string;
}

export interface ChainSource {
  partitions(): Promise<ChainPartition[]>;
  /** The partition's records in stored order (file order; PostgreSQL: by seq). */
  entries(partition: string): AsyncIterable<ChainEntry>;
  /** Records outside every partition, written before chaining (PostgreSQL rows without a link). */
  legacyCount(): Promise<number>;
  /** Releases what the source holds (PostgreSQL: its snapshot); verifyChains calls it at the end. */
  close?(): Promise<void>;
}

export type ChainBreakKind =
  /** The record's content (or its stored hash or prev) no longer gives its hash. */
  | 'altered'
  /** Records are missing before this one (a gap in seq, or its prev is no stored record's hash). */
  | 'removed'
  /** Records are stored out of their chain order. */
  | 'reordered'
  /** Records after the last one are gone (the recorded head is further on). */
  | 'truncated'
  /** A record cannot be read (damaged). */
  | 'unreadable'
  /** A record without a link among chained ones. */
  | 'unchained'
  /** The partition is keyed and no (or another) key was given: it cannot be checked. */
  | 'key';

export interface ChainBreak {
  kind: ChainBreakKind;
  /** The chain position where the break is (the seq expected there). */
  position: number;
  /** The record found there, when there is one. */
  id?: string;
  where?: string;
  expected: string;
  found: string;
}

export interface PartitionReport {
  partition: string;
  alg: ChainAlg;
  keyId?: string;
  writer?: string;
  /** Records whose link was checked and held. */
  verified: number;
  /** Records found below the purge point (a purge that stopped before deleting them): not checked. */
  belowPurge: number;
  /** Unchained records found before the first chained one (file store). */
  legacy: number;
  first?: number;
  /** The last verified link: anchor this hash elsewhere to catch a rewrite of the whole store. */
  head?: { seq: number; hash: string };
  purged?: PurgePoint;
  break?: ChainBreak;
}

export interface VerifyReport {
  ok: boolean;
  partitions: PartitionReport[];
  /** Records written before chaining: reported, never counted as verified. */
  legacy: number;
  verified: number;
}

export interface VerifyOptions {
  /** Keys of keyed partitions; each partition is checked with the one whose id it records (a rotation leaves older partitions under the old key). */
  keys?: readonly ChainKey[];
  /** Called every `progressEvery` records (default 10000) and at the end of each partition. */
  onProgress?: (partition: string, records: number) => void;
  progressEvery?: number;
}

const LOOKAHEAD_CAP = 1_000_000;

export async function verifyChains(source: ChainSource, options: VerifyOptions = {}): Promise<VerifyReport> {
  const partitions: PartitionReport[] = [];
  let outside: number;
  try {
    for (const partition of await source.partitions()) partitions.push(await verifyPartition(source, partition, options));
    outside = await source.legacyCount();
  } finally {
    await source.close?.();
  }
  const legacy = outside + partitions.reduce((sum, p) => sum + p.legacy, 0);
  return { ok: partitions.every((p) => p.break === undefined), partitions, legacy, verified: partitions.reduce((sum, p) => sum + p.verified, 0) };
}

async function verifyPartition(source: ChainSource, info: ChainPartition, options: VerifyOptions): Promise<PartitionReport> {
  const report: PartitionReport = { partition: info.partition, alg: info.alg, verified: 0, belowPurge: 0, legacy: 0 };
  if (info.keyId !== undefined) report.keyId = info.keyId;
  if (info.writer !== undefined) report.writer = info.writer;
  if (info.purged !== undefined) report.purged = info.purged;
  let key: ChainKey | undefined;
  if (info.alg === 'hmac-sha256') {
    const given = options.keys ?? [];
    key = given.find((k) => k.id === info.keyId);
    if (key === undefined) {
      report.break = { kind: 'key', position: (info.purged?.seq ?? 0) + 1, expected: `the chain key ${info.keyId ?? '(unnamed)'}`, found: given.length === 0 ? 'no key given' : `keys ${given.map((k) => k.id).join(', ')}` };
      return report;
    }
  }
  const purgedSeq = info.purged?.seq ?? 0;
  let expectedSeq = purgedSeq + 1;
  let expectedPrev = info.purged?.hash ?? genesisHash(info.partition);
  let prevId: string | undefined;
  let chained = false;
  const every = options.progressEvery ?? 10_000;
  let seen = 0;
  /** After a break: what the rest of the partition holds, to name the kind. */
  let pending: { brk: ChainBreak; missingFrom: number; missingTo: number; prev?: string } | undefined;
  const laterSeqs = new Set<number>();
  const laterHashes = new Set<string>();

  for await (const entry of source.entries(info.partition)) {
    seen += 1;
    if (options.onProgress !== undefined && seen % every === 0) options.onProgress(info.partition, seen);
    if (report.break !== undefined) {
      // Only to name the kind of the break; bounded (about 100 MB at the cap), past it a move reads as a removal.
      if (entry.link !== undefined && laterSeqs.size < LOOKAHEAD_CAP) {
        laterSeqs.add(entry.link.seq);
        laterHashes.add(entry.link.hash);
      }
      continue;
    }
    const position = expectedSeq;
    const fail = (brk: Omit<ChainBreak, 'position' | 'id' | 'where'>) => {
      report.break = { ...brk, position, id: entry.id, where: entry.where };
    };
    if (entry.link === undefined) {
      if (!chained && entry.record !== undefined) {
        report.legacy += 1;
        continue;
      }
      fail(entry.record === undefined ? { kind: 'unreadable', expected: `the record at seq ${position}`, found: 'a damaged record' } : { kind: 'unchained', expected: `a record linked at seq ${position}`, found: 'a record without a chain link' });
      continue;
    }
    const link = entry.link;
    if (link.seq <= purgedSeq) {
      report.belowPurge += 1;
      continue;
    }
    chained = true;
    if (entry.record === undefined) {
      fail({ kind: 'unreadable', expected: `the record at seq ${position}`, found: 'a damaged record' });
      continue;
    }
    const recomputed = linkHash(link.prev, entry.record, key);
    if (recomputed !== link.hash) {
      fail({ kind: 'altered', expected: `hash ${recomputed} (of the content as stored)`, found: `hash ${link.hash} (recorded when it was written)` });
      continue;
    }
    if (link.seq !== expectedSeq) {
      fail({ kind: link.seq < expectedSeq ? 'reordered' : 'removed', expected: `seq ${expectedSeq}${prevId === undefined ? '' : ` (after ${prevId})`}`, found: `seq ${link.seq}` });
      if (link.seq > expectedSeq) pending = { brk: report.break!, missingFrom: expectedSeq, missingTo: link.seq - 1 };
      continue;
    }
    if (link.prev !== expectedPrev) {
      fail({ kind: 'removed', expected: `prev ${expectedPrev}${prevId === undefined ? '' : ` (the hash of ${prevId})`}`, found: `prev ${link.prev}` });
      pending = { brk: report.break!, missingFrom: expectedSeq, missingTo: expectedSeq - 1, prev: link.prev };
      continue;
    }
    report.verified += 1;
    report.first ??= link.seq;
    report.head = { seq: link.seq, hash: link.hash };
    expectedSeq = link.seq + 1;
    expectedPrev = link.hash;
    prevId = entry.id;
  }
  if (pending !== undefined) {
    // What went missing here is stored further on: the records were moved, not removed.
    let moved = pending.prev !== undefined && laterHashes.has(pending.prev);
    for (let seq = pending.missingFrom; !moved && seq <= pending.missingTo; seq += 1) moved = laterSeqs.has(seq);
    if (moved) pending.brk.kind = 'reordered';
  }
  if (report.break === undefined && info.head !== undefined) {
    const last = report.head ?? (info.purged === undefined ? undefined : { seq: info.purged.seq, hash: info.purged.hash });
    const lastSeq = last?.seq ?? 0;
    if (info.head.seq > lastSeq) {
      report.break = { kind: 'truncated', position: lastSeq + 1, expected: `records up to seq ${info.head.seq} (head ${info.head.hash})`, found: lastSeq === 0 ? 'no records' : `the last record at seq ${lastSeq}${prevId === undefined ? '' : ` (${prevId})`}` };
    } else if (info.head.seq === lastSeq && last !== undefined && info.head.hash !== last.hash) {
      report.break = { kind: 'altered', position: lastSeq, ...(prevId === undefined ? {} : { id: prevId }), expected: `head hash ${info.head.hash} (recorded by the writer)`, found: `hash ${last.hash}` };
    }
  }
  options.onProgress?.(info.partition, seen);
  return report;
}
