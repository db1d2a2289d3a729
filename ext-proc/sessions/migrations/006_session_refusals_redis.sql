-- A Redis command the gateway refused is a refusal too, as a refused database statement is
-- (decision-keys.ts decisionKeys()): `sluice sessions list --refusals yes` finds Redis sessions
-- with refused commands. Still a generated column, for 004's reasons (rows already stored get it
-- when this migration runs, a table rewrite; rows a replica still on the previous version inserts
-- get it too). Dropping the column drops its partial index, which is made again.
ALTER TABLE sluice_sessions DROP COLUMN refusals;
ALTER TABLE sluice_sessions
  ADD COLUMN refusals boolean NOT NULL GENERATED ALWAYS AS (
    COALESCE(events @> '[{"kind": "pg.statement", "outcome": "refused"}]' OR events @> '[{"kind": "redis.command", "outcome": "refused"}]', false)
  ) STORED;
CREATE INDEX sluice_sessions_refusals_idx ON sluice_sessions (started_at DESC, id DESC) WHERE refusals;
