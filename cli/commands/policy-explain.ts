import { UsageError } from './usage-error.ts';
import { decodeJwt } from 'jose';
import { explain, loadPolicyDir, type CompiledPolicySet, type ExplainStep } from '../../ext-authz/policy/index.ts';
import type { Identity } from '../../ext-authz/identity/types.ts';
import type { Command } from './types.ts';
import { parse, REPO_POLICIES } from './common.ts';

/**
 * "Would this identity be allowed to do this, and by which rule?" — answered from the policy files
 * alone, without sending traffic. The identity comes from flags, or from a token whose claims are
 * read WITHOUT verifying it (explain is a what-if tool, not an authentication step). With --user,
 * --database or --sql it explains a PostgreSQL login or statement text instead of an HTTP request.
 */
export const policyExplainCommand: Command = {
  async run(args) {
    const { values } = parse(args, {
      dir: { type: 'string', default: REPO_POLICIES },
      target: { type: 'string' },
      method: { type: 'string', default: 'GET' },
      path: { type: 'string', default: '/' },
      sub: { type: 'string' },
      issuer: { type: 'string', default: 'dev' },
      groups: { type: 'string', default: '' },
      claim: { type: 'string', multiple: true, default: [] },
      header: { type: 'string', multiple: true, default: [] },
      token: { type: 'string' },
      user: { type: 'string' },
      database: { type: 'string' },
      sql: { type: 'string' },
      json: { type: 'boolean', default: false },
    });
    if (!values.target) throw new UsageError('--target is required');
    const identity = values.token ? identityFromToken(values.token, values.issuer) : identityFromFlags(values);
    const set = await loadPolicyDir(values.dir);
    if (values.user !== undefined || values.database !== undefined || values.sql !== undefined) {
      return explainPostgres(set, identity, { target: values.target, user: values.user, database: values.database, sql: values.sql, json: values.json });
    }
    const result = explain(set, {
      identity,
      target: values.target,
      method: values.method.toUpperCase(),
      path: values.path.split('?')[0] ?? '/',
      headers: Object.fromEntries(values.header.map((h) => splitPair(h, ':')).map(([k, v]) => [k.toLowerCase(), v.trim()])),
    });
    if (values.json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } else {
      const d = result.decision;
      process.stdout.write(`${d.effect.toUpperCase()}  ${identity.subject} ${values.method.toUpperCase()} ${values.path} on ${values.target}\n`);
      process.stdout.write(`  rule:   ${d.rule ?? '(none — default deny)'}\n  reason: ${d.reason}\n`);
      for (const [k, v] of Object.entries(d.upstreamHeaders)) process.stdout.write(`  header: ${k}: ${v}\n`);
      process.stdout.write('  trace:\n');
      writeTrace(result.trace);
    }
    return result.decision.effect === 'allow' ? 0 : 3;
  },
};

interface PostgresExplainOptions {
  target: string;
  user: string | undefined;
  database: string | undefined;
  sql: string | undefined;
  json: boolean;
}

/**
 * A login (no --sql) or a statement text, decided by the same core the console uses
 * (ext-authz/protocols/postgres/explain-statement.ts); this only prints it.
 */
async function explainPostgres(set: CompiledPolicySet, identity: Identity, options: PostgresExplainOptions): Promise<number> {
  if (!options.user || !options.database) throw new UsageError('--user and --database are required to explain a PostgreSQL login or statement');
  // Loaded only here: the parser's WASM module is compiled when it loads.
  const { explainPostgresStatement } = await import('../../ext-authz/protocols/postgres/explain-statement.ts');
  const result = explainPostgresStatement(set, { identity, target: options.target, user: options.user, database: options.database, sql: options.sql ?? null });
  const { decision: summary, statements, normalized, trace } = result;
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ decision: summary, statements, normalized, trace }, null, 2)}\n`);
  } else {
    const what = options.sql === undefined ? 'login' : 'statement';
    process.stdout.write(`${summary.effect.toUpperCase()}  ${identity.subject} ${what} as "${options.user}" to "${options.database}" on ${options.target}\n`);
    for (const [i, s] of (statements ?? []).entries()) {
      process.stdout.write(`  statement ${i + 1}: ${s.class} (${s.command})${s.tables.length > 0 ? ` on ${s.tables.join(', ')}` : ''}\n`);
    }
    process.stdout.write(`  rule:   ${summary.rule ?? '(none)'}\n  ${summary.code === null ? 'reason' : 'denied'}: ${summary.code === null ? '' : `${summary.code} `}${summary.message}\n`);
    if (trace.length > 0) writeTrace(trace);
  }
  return summary.effect === 'allow' ? 0 : 3;
}

function writeTrace(trace: readonly ExplainStep[]): void {
  process.stdout.write('  trace:\n');
  for (const step of trace) {
    process.stdout.write(`    ${step.matched ? '+' : '-'} ${step.policy}${step.rule ? `/${step.rule}` : ''}: ${step.why}\n`);
  }
}

function identityFromFlags(values: { sub?: string; issuer: string; groups: string; claim: string[] }): Identity {
  if (!values.sub) throw new UsageError('--sub (or --token) is required');
  const claims: Record<string, unknown> = { sub: values.sub };
  for (const pair of values.claim) {
    const [key, value] = splitPair(pair, '=');
    claims[key] = value === 'true' ? true : value === 'false' ? false : value;
  }
  const groups = values.groups.split(',').map((g) => g.trim()).filter(Boolean);
  return { issuerName: values.issuer, issuer: values.issuer, subject: values.sub, groups, claims: { ...claims, groups }, expiresAt: Infinity };
}

function identityFromToken(token: string, issuerName: string): Identity {
  const claims = decodeJwt(token);
  const groups = Array.isArray(claims.groups) ? claims.groups.filter((g): g is string => typeof g === 'string') : [];
  return { issuerName, issuer: claims.iss ?? '', subject: claims.sub ?? '', groups, claims, expiresAt: claims.exp ?? 0 };
}

function splitPair(pair: string, separator: string): [string, string] {
  const at = pair.indexOf(separator);
  if (at <= 0) throw new Error(`expected key${separator}value, got "${pair}"`);
  return [pair.slice(0, at), pair.slice(at + 1)];
}
