import { decodeJwt } from 'jose';
import type { TargetConfig } from '../common/config/types.ts';
import type { Identity } from '../ext-authz/identity/types.ts';
import { explain, type Explanation } from '../ext-authz/policy/explain.ts';
import type { CompiledPolicySet } from '../ext-authz/policy/index.ts';
import { explainPostgresStatement, type PostgresExplanation } from '../ext-authz/protocols/postgres/explain-statement.ts';
import type { ConsoleUser } from './browser-sessions.ts';
import { ConsoleError } from './errors.ts';

/** What the console knows of a declared target: the explain form asks per protocol. */
export type ConsoleTarget = Pick<TargetConfig, 'name' | 'protocol'>;

/**
 * The explain form as typed. Both field sets are always there (the page works without script);
 * the chosen target's protocol decides which one is read.
 */
export interface ExplainForm {
  target: string;
  method: string;
  path: string;
  /** PostgreSQL: the database user and database of the login, and the statement text ('' = the login alone). */
  user: string;
  database: string;
  sql: string;
  subject: string;
  issuer: string;
  groups: string;
}

export type ExplainResult =
  | { protocol: 'http'; subject: string; explanation: Explanation }
  | { protocol: 'postgres'; subject: string; explanation: PostgresExplanation; login: boolean };

export function emptyExplainForm(user: ConsoleUser, targets: readonly ConsoleTarget[]): ExplainForm {
  const { identity } = user;
  return { target: targets[0]?.name ?? '', method: 'GET', path: '/', user: '', database: '', sql: '', subject: identity.subject, issuer: identity.issuerName, groups: identity.groups.join(', ') };
}

/**
 * Reads the posted form and answers it with the same cores as `sluice policy explain`
 * (policy/explain.ts, protocols/postgres/explain-statement.ts). A pasted token is decoded for its
 * claims and forgotten: the form that comes back carries the claims' subject and groups, never it.
 */
export function answerExplain(posted: Record<string, string>, targets: readonly ConsoleTarget[], policies: CompiledPolicySet, defaultIssuer: string): { form: ExplainForm; result: ExplainResult } {
  const input: ExplainForm = {
    target: posted.target ?? '',
    method: (posted.method ?? 'GET').toUpperCase(),
    path: (posted.path ?? '/').split('?')[0] || '/',
    user: (posted.user ?? '').trim(),
    database: (posted.database ?? '').trim(),
    sql: posted.sql ?? '',
    subject: (posted.subject ?? '').trim(),
    issuer: (posted.issuer ?? '').trim(),
    groups: posted.groups ?? '',
  };
  const target = targets.find((t) => t.name === input.target);
  if (target === undefined) throw new ConsoleError('ERR_CONSOLE_INVALID', 'choose one of the declared targets');
  const identity = posted.token ? identityFromToken(posted.token, input.issuer || defaultIssuer) : identityFromForm(input);
  const form = { ...input, subject: identity.subject, groups: identity.groups.join(', ') };
  switch (target.protocol) {
    case 'http': {
      const explanation = explain(policies, { identity, target: target.name, method: input.method, path: input.path, headers: {} });
      return { form, result: { protocol: 'http', subject: identity.subject, explanation } };
    }
    case 'postgres': {
      if (input.user === '' || input.database === '') throw new ConsoleError('ERR_CONSOLE_INVALID', `give the database user and the database: ${target.name} is a PostgreSQL target`);
      const sql = input.sql.trim() === '' ? null : input.sql;
      const explanation = explainPostgresStatement(policies, { identity, target: target.name, user: input.user, database: input.database, sql });
      return { form, result: { protocol: 'postgres', subject: identity.subject, explanation, login: sql === null } };
    }
    default:
      // A protocol this form has no fields for is refused, not explained as if it were HTTP.
      throw new ConsoleError('ERR_CONSOLE_INVALID', `the explain form does not know ${String((target as ConsoleTarget).protocol)} targets`);
  }
}

function identityFromForm(form: ExplainForm): Identity {
  if (form.subject === '') throw new ConsoleError('ERR_CONSOLE_INVALID', 'give a subject, or paste a token');
  const groups = form.groups.split(',').map((g) => g.trim()).filter(Boolean);
  return { issuerName: form.issuer, issuer: form.issuer, subject: form.subject, groups, claims: { sub: form.subject, groups }, expiresAt: Infinity };
}

function identityFromToken(token: string, issuerName: string): Identity {
  let claims: ReturnType<typeof decodeJwt>;
  try {
    claims = decodeJwt(token.trim());
  } catch {
    throw new ConsoleError('ERR_CONSOLE_INVALID', 'the pasted token is not a JWT');
  }
  const groups = Array.isArray(claims.groups) ? claims.groups.filter((g): g is string => typeof g === 'string') : [];
  return { issuerName, issuer: claims.iss ?? '', subject: claims.sub ?? '', groups, claims, expiresAt: claims.exp ?? 0 };
}
