-- Audit fields of version 2 records (types.ts `credential`, `masking`): kept whole in jsonb, and
-- reduced to the keys list() filters on (audit-fields.ts auditKeys(), the same keys the file
-- store's index holds): the secret name and version of the credential, and the recognizer or
-- pattern names that masked at least one value. Filled by append; rows written before this
-- migration (or by a replica that predates it) have NULL / '{}' and match no audit filter, as
-- their records name no credential.
ALTER TABLE sluice_sessions
  ADD COLUMN credential jsonb,
  ADD COLUMN masking jsonb,
  ADD COLUMN credential_name text,
  ADD COLUMN credential_version text,
  ADD COLUMN masked text[] NOT NULL DEFAULT '{}';

-- "Who used this key last week": name (and version) first, then the list order.
CREATE INDEX sluice_sessions_credential_idx ON sluice_sessions (credential_name, credential_version, started_at DESC, id DESC);
CREATE INDEX sluice_sessions_credential_version_idx ON sluice_sessions (credential_version, started_at DESC, id DESC);
-- "Which sessions carried card numbers": masked @> ARRAY['card'].
CREATE INDEX sluice_sessions_masked_idx ON sluice_sessions USING GIN (masked);
