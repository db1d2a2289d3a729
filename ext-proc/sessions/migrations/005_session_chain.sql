-- The hash chain over session records (chain.ts). Every writing store instance appends to a
-- partition of its own (a row of sluice_session_chains), so two replicas never wait on one chain
-- head: each keeps its head in memory and links a whole batch of records in one INSERT, which
-- also moves the head recorded in its partition row, in the same statement. The unique index on
-- (chain_partition, chain_seq) turns a second writer on the same partition into an error instead
-- of a fork. Rows stored before this migration, and rows a not-yet-upgraded replica inserts,
-- have no link: `sluice sessions verify` reports them as unchained, never as verified.
ALTER TABLE sluice_sessions
  ADD COLUMN chain_partition text,
  ADD COLUMN chain_seq bigint,
  ADD COLUMN chain_prev text,
  ADD COLUMN chain_hash text,
  ADD CONSTRAINT sluice_sessions_chain_whole CHECK (
    (chain_partition IS NULL) = (chain_seq IS NULL) AND (chain_seq IS NULL) = (chain_prev IS NULL) AND (chain_prev IS NULL) = (chain_hash IS NULL)
  );

CREATE UNIQUE INDEX sluice_sessions_chain_idx ON sluice_sessions (chain_partition, chain_seq);

-- One row per partition: how it is hashed, who wrote it, the head its writer last linked (so a
-- removed tail shows), and the purge point (the last link a purge removed: verify starts after it).
CREATE TABLE sluice_session_chains (
  partition text PRIMARY KEY,
  alg text NOT NULL CHECK (alg IN ('sha256', 'hmac-sha256')),
  key_id text,
  writer text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  head_seq bigint NOT NULL DEFAULT 0,
  head_hash text,
  purged_seq bigint,
  purged_hash text,
  purged_at timestamptz,
  purged_before timestamptz,
  CHECK ((alg = 'hmac-sha256') = (key_id IS NOT NULL))
);
