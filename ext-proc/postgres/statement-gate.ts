import type { PgAuthorizer, PgStatementRequest, PgVerdict } from './authorizer.ts';

/**
 * Asks ext-authz about each statement, remembering allowed ones for a short while. A session that
 * repeats a statement (a worker's prepared query, node-pg re-parsing the same text) pays for one
 * check per `ttlMs`, not one per execution; a policy change reaches a running session within that
 * time. Only plain allows are remembered: a denial, and anything that went through an approval
 * (its grant may be for one request), is asked again every time.
 */
export class StatementGate {
  private readonly allowed = new Map<string, { verdict: PgVerdict; until: number }>();

  constructor(
    private readonly authorizer: PgAuthorizer,
    private readonly options: { ttlMs: number; maxEntries: number; now?: () => number },
  ) {}

  /** The remembered verdict for this exact text, if still fresh (sync: no check needed). */
  cached(text: string, kind: PgStatementRequest['kind']): PgVerdict | undefined {
    const hit = this.allowed.get(kind + text);
    if (hit === undefined) return undefined;
    if (hit.until < this.now()) {
      this.allowed.delete(kind + text);
      return undefined;
    }
    return hit.verdict;
  }

  async check(request: PgStatementRequest): Promise<PgVerdict> {
    const verdict = await this.authorizer.statement(request);
    if (verdict.allow && verdict.approvalId === null && this.options.ttlMs > 0) {
      if (this.allowed.size >= this.options.maxEntries) this.allowed.delete(this.allowed.keys().next().value!);
      this.allowed.set(request.kind + request.text, { verdict, until: this.now() + this.options.ttlMs });
    }
    return verdict;
  }

  /** Forget everything (a policy re-check failed, or the identity changed). */
  clear(): void {
    this.allowed.clear();
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

/**
 * The statement sent to the server in place of a refused one: it makes the server itself raise
 * the refusal, so the client gets a real ErrorResponse and ReadyForQuery, and the server's
 * transaction state matches what the client saw (an open transaction is aborted, as any failed
 * statement would abort it). It has no parameters and touches nothing.
 */
export function refusalStatement(sqlstate: string, message: string): string {
  const quoted = (text: string) => `'${text.replace(/\$sluice\$/g, '').replace(/'/g, "''").replace(/\0/g, '').replace(/\\/g, '/')}'`;
  if (!/^[0-9A-Z]{5}$/.test(sqlstate)) sqlstate = '42501';
  return `DO $sluice$BEGIN RAISE EXCEPTION USING ERRCODE = '${sqlstate}', MESSAGE = ${quoted(message)}; END$sluice$`;
}
