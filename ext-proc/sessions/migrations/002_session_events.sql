-- Session records version 2: an envelope plus protocol-neutral events (see types.ts). What list()
-- filters on gains protocol and outcome; summary is the list line. Version 2 rows keep their
-- events, with headers and bodies inside the http events, in `events`.
--
-- Compatibility, both ways, during a rolling upgrade:
-- * Replicas still on version 1 insert rows with only the 001 columns: version defaults to 1 and
--   the trigger below fills outcome and summary, so the new filters see those rows too.
-- * Version 2 rows fill the scalar 001 columns they can (method, path, status of an http
--   session) and leave timings, request and response NULL; they are now nullable for protocols
--   that have no such thing. A version 1 `sluice sessions` cannot show version 2 rows.
-- The v1 outcome rule (status NULL = incomplete) and summary are the ones upgradeRecord() uses
-- (upgrade-record.ts): keep them in step.
ALTER TABLE sluice_sessions
  ADD COLUMN version integer NOT NULL DEFAULT 1 CHECK (version IN (1, 2)),
  ADD COLUMN protocol text NOT NULL DEFAULT 'http' CHECK (protocol IN ('http', 'postgres', 'redis')),
  ADD COLUMN outcome text CHECK (outcome IN ('completed', 'failed', 'refused', 'incomplete')),
  ADD COLUMN summary text,
  ALTER COLUMN method DROP NOT NULL,
  ALTER COLUMN path DROP NOT NULL,
  ALTER COLUMN timings DROP NOT NULL,
  ALTER COLUMN request DROP NOT NULL,
  ALTER COLUMN response DROP NOT NULL;

CREATE FUNCTION sluice_sessions_v1_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.version = 1 THEN
    NEW.outcome := CASE WHEN NEW.status IS NULL THEN 'incomplete' ELSE 'completed' END;
    NEW.summary := NEW.method || ' ' || NEW.path || ' → ' || COALESCE(NEW.status::text, 'no response');
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER sluice_sessions_v1_fill BEFORE INSERT ON sluice_sessions FOR EACH ROW EXECUTE FUNCTION sluice_sessions_v1_fill();

UPDATE sluice_sessions SET
  outcome = CASE WHEN status IS NULL THEN 'incomplete' ELSE 'completed' END,
  summary = method || ' ' || path || ' → ' || COALESCE(status::text, 'no response');

ALTER TABLE sluice_sessions ALTER COLUMN outcome SET NOT NULL, ALTER COLUMN summary SET NOT NULL;

CREATE INDEX sluice_sessions_protocol_idx ON sluice_sessions (protocol, started_at DESC, id DESC);
CREATE INDEX sluice_sessions_outcome_idx ON sluice_sessions (outcome, started_at DESC, id DESC);
