import type { ColumnDescription } from './wire/backend.ts';

/**
 * What the server's next answers belong to, for masking. A DataRow does not say which columns it
 * carries: a simple Query's rows follow their RowDescription, but an extended-protocol Execute of
 * a prepared statement (pgbench -M prepared, JDBC, psycopg prepared) streams rows whose
 * RowDescription came much earlier, from a Describe of the statement, with the result formats
 * of the Bind. The client flow tells this what it sent; the result flow asks it, message by
 * message, which columns the rows in front of it have. Anything it cannot place is unknown, and
 * the result flow then refuses the rows (fail closed) instead of passing them unmasked.
 */
type Expected =
  | { kind: 'query' }
  | { kind: 'parse' }
  | { kind: 'bind' }
  | { kind: 'describe'; of: 'S' | 'P'; name: string }
  | { kind: 'execute'; portal: string }
  | { kind: 'close' }
  | { kind: 'sync' };

export class ResultContext {
  private readonly expected: Expected[] = [];
  private readonly statementColumns = new Map<string, ColumnDescription[]>();
  private readonly portalColumns = new Map<string, ColumnDescription[]>();
  private readonly portals = new Map<string, { statement: string; formats: number[] }>();

  // ─── what the client sent (in order) ────────────────────────────────────────

  query(): void { this.expected.push({ kind: 'query' }); }
  sync(): void { this.expected.push({ kind: 'sync' }); }
  close(): void { this.expected.push({ kind: 'close' }); }

  parse(statement: string): void {
    this.statementColumns.delete(statement);
    this.expected.push({ kind: 'parse' });
  }

  bind(portal: string, statement: string, resultFormats: number[]): void {
    this.portalColumns.delete(portal);
    this.portals.set(portal, { statement, formats: resultFormats });
    this.expected.push({ kind: 'bind' });
  }

  describe(of: 'S' | 'P', name: string): void {
    this.expected.push({ kind: 'describe', of, name });
  }

  execute(portal: string): void {
    this.expected.push({ kind: 'execute', portal });
  }

  // ─── what the server answers ────────────────────────────────────────────────

  /**
   * A RowDescription. For a Describe it is remembered (and null returned: no rows follow it
   * here); for a Query or an Execute the rows that follow have these columns.
   */
  rowDescription(columns: ColumnDescription[]): ColumnDescription[] | null {
    const head = this.expected[0];
    if (head?.kind === 'describe') {
      this.expected.shift();
      (head.of === 'S' ? this.statementColumns : this.portalColumns).set(head.name, columns);
      return null;
    }
    return columns;
  }

  /** NoData (the answer to a Describe of something that returns no rows). */
  noData(): void {
    if (this.expected[0]?.kind === 'describe') this.expected.shift();
  }

  /** The columns of rows arriving without a RowDescription in front: an Execute's. undefined when unknown. */
  executionColumns(): ColumnDescription[] | undefined {
    const head = this.expected[0];
    if (head?.kind !== 'execute') return undefined;
    const portal = this.portals.get(head.portal);
    const described = this.portalColumns.get(head.portal);
    if (described) return described;
    const columns = portal ? this.statementColumns.get(portal.statement) : undefined;
    if (!columns || !portal) return undefined;
    // A statement's Describe reports text formats; the Bind chose the real ones.
    const f = portal.formats;
    return columns.map((c, i) => ({ ...c, format: (f.length === 0 ? 0 : f.length === 1 ? f[0] : f[i] ?? 0) === 1 ? 1 : 0 }));
  }

  /**
   * Whether every value of the current Execute comes in text format (the Bind asked for no
   * binary results). Rows of an Execute nobody described can then still be masked value by value.
   */
  executionIsText(): boolean {
    const head = this.expected[0];
    if (head?.kind !== 'execute') return false;
    const portal = this.portals.get(head.portal);
    return portal !== undefined && portal.formats.every((f) => f === 0);
  }

  /** ParseComplete, BindComplete, CloseComplete: their request is answered. */
  answered(kind: 'parse' | 'bind' | 'close'): void {
    if (this.expected[0]?.kind === kind) this.expected.shift();
  }

  /** CommandComplete, EmptyQueryResponse, PortalSuspended: an Execute is over (a Query goes on to ReadyForQuery). */
  executionEnded(): void {
    if (this.expected[0]?.kind === 'execute') this.expected.shift();
  }

  /** An error: in a Query, the Query goes on to ReadyForQuery; in the extended protocol the server skips to Sync. */
  error(): void {
    if (this.expected[0]?.kind === 'query') return;
    while (this.expected.length > 0 && this.expected[0]!.kind !== 'sync') this.expected.shift();
  }

  /** ReadyForQuery ends a Query or a Sync. */
  ready(): void {
    while (this.expected.length > 0) {
      const head = this.expected.shift()!;
      if (head.kind === 'query' || head.kind === 'sync') return;
    }
  }
}
