-- How a session was let in (decision-keys.ts decisionKeys(), the keys the file store's index
-- holds): the policy of the rule that decided, whether the session waited for a just-in-time
-- approval, and whether the gateway refused one of its database statements. Derived from `rule`
-- and `events` by PostgreSQL itself (generated columns) rather than written by append, so rows
-- already stored get them when this migration runs (a table rewrite, like 002's backfill), and so
-- do rows that a replica still on the previous version inserts during a rolling upgrade: neither
-- can carry a wrong `false`. Version 1 rows have events of another shape (or none): no approval,
-- no refusal, as upgradeRecord() reads them. Keep the expressions in step with decisionKeys();
-- the store suite runs the same cases against both stores.
ALTER TABLE sluice_sessions
  -- policyOf(): the part before the first '/', NULL when there is none.
  ADD COLUMN rule_policy text GENERATED ALWAYS AS (CASE WHEN strpos(rule, '/') > 0 THEN split_part(rule, '/', 1) END) STORED,
  ADD COLUMN approval boolean NOT NULL GENERATED ALWAYS AS (
    COALESCE(jsonb_path_exists(events, '$[*] ? (@.kind == "approval" || (@.kind == "pg.statement" && exists (@.approvalId)))'), false)
  ) STORED,
  ADD COLUMN refusals boolean NOT NULL GENERATED ALWAYS AS (COALESCE(events @> '[{"kind": "pg.statement", "outcome": "refused"}]', false)) STORED;

-- "What did this rule let in", "everything policy prod let in": key first, then the list order.
CREATE INDEX sluice_sessions_rule_idx ON sluice_sessions (rule, started_at DESC, id DESC);
CREATE INDEX sluice_sessions_rule_policy_idx ON sluice_sessions (rule_policy, started_at DESC, id DESC);
-- Partial: auditors ask for the rare side ("which sessions waited for an approval", "which had
-- statements refused"); the other side is most sessions, which sluice_sessions_started_idx
-- serves with a filter that passes nearly every row. list() writes the condition as a literal so
-- the planner can match these predicates.
CREATE INDEX sluice_sessions_approval_idx ON sluice_sessions (started_at DESC, id DESC) WHERE approval;
CREATE INDEX sluice_sessions_refusals_idx ON sluice_sessions (started_at DESC, id DESC) WHERE refusals;
