/** What `purge` is asked and what it answers, for both stores. */

export interface PurgeOptions {
  /** Records that started before this time (epoch ms) go, as far as the chain allows (a prefix of each partition). */
  before: number;
  /** Count only: nothing is removed or recorded. */
  dryRun?: boolean;
  /** The time recorded with the purge point; default Date.now(). */
  now?: number;
}

export interface PartitionPurge {
  partition: string;
  removed: number;
  /** The new purge point: verify starts after this link. Absent when no chained record went. */
  purgedSeq?: number;
  purgedHash?: string;
}

export interface PurgeReport {
  dryRun: boolean;
  before: number;
  /** Records removed (or, dry run, that would be), chained and not. */
  removed: number;
  /** Records older than `before` that stay, because a newer record comes before them in their chain (or file segment). */
  olderKept: number;
  partitions: PartitionPurge[];
  /** PostgreSQL: rows written before chaining that went (they are in no partition). */
  legacyRemoved?: number;
}
