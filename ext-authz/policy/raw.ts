import type { Effect } from './types.ts';

/*
 * The shape of a policy document after schema validation: plain data, exactly as written.
 * compile.ts turns it into matchers; nothing on the request path ever sees these types.
 */

export type ClaimScalar = string | number | boolean;

export interface RawDocument {
  policies?: RawPolicy[];
  guardrails?: RawGuardrail[];
}

export interface RawGuardrail {
  name: string;
  description?: string;
  targets: string[];
  in?: ('path' | 'query' | 'headers' | 'body')[];
  pattern: string;
  ignoreCase?: boolean;
}

export interface RawPolicy {
  name: string;
  description?: string;
  targets: string[];
  subjects: RawSubject[];
  identityHeaders?: Record<string, string>;
  /** PostgreSQL targets: the login grant (database user and database globs). */
  database?: RawDatabaseGrant;
  /** Redis targets: the login grant (AUTH <token>), optionally shorter than the token. */
  redis?: { maxSession?: string };
  rules: RawRule[];
}

export interface RawDatabaseGrant {
  users: string[];
  databases: string[];
  /** Roles granted to the per-session role of a target that mints them. */
  grant?: string[];
}

export interface RawSubject {
  issuer?: string;
  users?: string[];
  groups?: string[];
  claims?: Record<string, ClaimScalar | ClaimScalar[]>;
}

export interface RawRule {
  name: string;
  effect: Effect;
  methods?: string[];
  paths?: string[];
  /** PostgreSQL targets: statement classes (read, write, ...) or upper-case commands (TRUNCATE). */
  statements?: string[];
  /** PostgreSQL targets: table globs. */
  tables?: string[];
  /** Redis targets: command names, classes or "*". */
  commands?: string[];
  /** Redis targets: key globs. */
  keys?: string[];
  when?: RawCondition[];
  approval?: RawApproval;
  masking?: string;
}

/** An `approve` rule's approval block, as written (durations like "25s", "15m", "1h"). */
export interface RawApproval {
  approvers: string[];
  quorum?: 'any' | 'every-group' | number;
  grant?: string;
  hold?: string;
  pendingFor?: string;
}

export interface RawCondition {
  claim?: string;
  header?: string;
  sourceAddress?: true;
  equals?: ClaimScalar;
  in?: ClaimScalar[];
  matches?: string;
  present?: boolean;
}
