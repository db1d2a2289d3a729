-- Sessions recorded by ext-proc. What list() filters and sorts on is in columns (with indexes that
-- serve newest-first keyset pages, overall, per subject and per target); the rest is jsonb.
-- request and response are {"headers": [[name, value], ...], "body": {...}}: pairs, because a
-- jsonb object would not keep the headers in their wire order.
CREATE TABLE sluice_sessions (
  id uuid PRIMARY KEY,
  request_id text NOT NULL,
  subject text NOT NULL,
  issuer text NOT NULL,
  target text NOT NULL,
  rule text NOT NULL,
  decision text NOT NULL CHECK (decision IN ('allow', 'deny')),
  method text NOT NULL,
  path text NOT NULL,
  status integer,
  started_at timestamptz NOT NULL,
  ended_at timestamptz NOT NULL,
  timings jsonb NOT NULL,
  request jsonb NOT NULL,
  response jsonb NOT NULL,
  events jsonb
);

CREATE INDEX sluice_sessions_started_idx ON sluice_sessions (started_at DESC, id DESC);
CREATE INDEX sluice_sessions_subject_idx ON sluice_sessions (subject, started_at DESC, id DESC);
CREATE INDEX sluice_sessions_target_idx ON sluice_sessions (target, started_at DESC, id DESC);
