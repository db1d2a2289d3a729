import type { PgAuthorizer, PgStatementRequest, PgVerdict } from './authorizer.ts';
import { loadStatementShapes, shapeOf } from './statement-shape.ts';

/**
 * Asks ext-authz about each statement, remembering allowed ones for a short while. A session that
 * repeats a statement (a worker's prepared query, node-pg re-parsing the same text) pays for one
 * check per `ttlMs`, not one per execution; a policy change reaches a running session within that
 * time. Only plain allows are remembered: a denial, and anything that went through an approval
 * (its grant may be for one request), is asked again every time.
 *
 * When ext-authz says a verdict rests on the statement's shape alone (`reuse: 'shape'`: no
 * guardrail reads the text, no approval), it is also remembered by shape, so `SELECT … WHERE id =
 * 1`, `= 2`, `= 3` cost one check between them; the shape is libpg_query's fingerprint, which
 * keeps every table, function and statement kind and drops only constants.
 */
export class StatementGate {
  private readonly allowed = new Map<string, { verdict: PgVerdict; until: number }>();
  private readonly shapes = new Map<string, { verdict: PgVerdict; until: number }>();
  private lastShape: { text: string; shape: string | null } | undefined;

  constructor(
    private readonly authorizer: PgAuthorizer,
    private readonly options: { ttlMs: number; maxEntries: number; now?: () => number },
  ) {
    if (options.ttlMs > 0) loadStatementShapes();
  }

  /** The remembered verdict for this text (exact, else by shape), if still fresh (sync: no check needed). */
  cached(text: string, kind: PgStatementRequest['kind']): PgVerdict | undefined {
    const exact = this.fresh(this.allowed, kind + text);
    if (exact !== undefined || this.shapes.size === 0) return exact;
    const shape = this.shapeOf(text);
    return shape === null ? undefined : this.fresh(this.shapes, kind + shape);
  }

  async check(request: PgStatementRequest): Promise<PgVerdict> {
    const verdict = await this.authorizer.statement(request);
    if (verdict.allowed && verdict.approvalId === null && this.options.ttlMs > 0) {
      this.remember(this.allowed, request.kind + request.text, verdict);
      const shape = verdict.reuse === 'shape' ? this.shapeOf(request.text) : null;
      if (shape !== null) this.remember(this.shapes, request.kind + shape, verdict);
    }
    return verdict;
  }

  /** Forget everything (a policy re-check failed, or the identity changed). */
  clear(): void {
    this.allowed.clear();
    this.shapes.clear();
  }

  /** A miss fingerprints its text in cached() and again in check(): the second time is this one. */
  private shapeOf(text: string): string | null {
    if (this.lastShape?.text !== text) this.lastShape = { text, shape: shapeOf(text) };
    return this.lastShape.shape;
  }

  private fresh(map: Map<string, { verdict: PgVerdict; until: number }>, key: string): PgVerdict | undefined {
    const hit = map.get(key);
    if (hit === undefined) return undefined;
    if (hit.until < this.now()) {
      map.delete(key);
      return undefined;
    }
    return hit.verdict;
  }

  private remember(map: Map<string, { verdict: PgVerdict; until: number }>, key: string, verdict: PgVerdict): void {
    if (map.size >= this.options.maxEntries) map.delete(map.keys().next().value!);
    map.set(key, { verdict, until: this.now() + this.options.ttlMs });
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
