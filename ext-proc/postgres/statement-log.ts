import type { PgStatementEvent } from '../sessions/types.ts';

/** A statement on its way: sent to the server, its answer not complete yet. */
interface Open {
  event: PgStatementEvent;
  startedMs: number;
  /** Simple queries end at ReadyForQuery; extended executions at their command's completion. */
  endsAt: 'ready' | 'complete';
  failed: boolean;
  /** For COPY … TO STDOUT: the format the statement asked for (the wire says only "textual"). */
  copyFormat: 'text' | 'csv';
}

/**
 * The session's statements in order, matched with the server's answers as they stream past. A
 * simple Query may hold several statements (rows add up, it ends at ReadyForQuery); an extended
 * Execute ends at its CommandComplete (or error, or suspension). After an error the server skips
 * the rest of the pipeline up to Sync, so what is still open at ReadyForQuery was skipped.
 */
export class StatementLog {
  private readonly open: Open[] = [];
  private readonly done: PgStatementEvent[] = [];
  private dropped = 0;

  constructor(private readonly options: { maxEvents: number; now?: () => number }) {}

  /** A statement went to the server (possibly as its refusal: outcome decided by the server's answer). */
  sent(event: PgStatementEvent, endsAt: 'ready' | 'complete', copyFormat: 'text' | 'csv' = 'text'): void {
    this.open.push({ event, startedMs: performance.now(), endsAt, failed: false, copyFormat });
  }

  /** CommandComplete: rows from the tag ("SELECT 5", "INSERT 0 3", "UPDATE 2", "COPY 10"). */
  complete(tag: string): void {
    const head = this.open[0];
    if (head === undefined) return;
    const rows = rowsOf(tag);
    if (rows !== undefined) head.event.rows = (head.event.rows ?? 0) + rows;
    head.event.tag = head.event.tag === undefined ? tag : `${head.event.tag}; ${tag}`;
    if (head.endsAt === 'complete') this.finish('ok');
  }

  /** Result values the masking profile changed for the statement being answered. */
  masked(values: number): void {
    const head = this.open[0];
    if (head !== undefined) head.event.masked = (head.event.masked ?? 0) + values;
  }

  /** The statement being answered (its text as sent; the record's copy may be masked). */
  get current(): { event: PgStatementEvent; copyFormat: 'text' | 'csv' } | undefined {
    const head = this.open[0];
    return head === undefined ? undefined : { event: head.event, copyFormat: head.copyFormat };
  }

  /** EmptyQueryResponse or PortalSuspended end an extended execution the same way. */
  executionEnded(): void {
    if (this.open[0]?.endsAt === 'complete') this.finish('ok');
  }

  /** ErrorResponse. The message is as the record keeps it (masked by the session's profile). */
  error(sqlstate: string, message: string): void {
    const head = this.open[0];
    if (head === undefined) return;
    // A refused statement was sent as one that makes the server raise the refusal: this error is
    // that refusal, what the client got (an auditor needs its SQLSTATE), and the outcome stays refused.
    head.event.error = { sqlstate, message };
    if (head.event.outcome !== 'refused') head.event.outcome = 'error';
    head.failed = true;
    if (head.endsAt === 'complete') this.finish(head.event.outcome === 'refused' ? 'refused' : 'error');
    // Everything else up to Sync is skipped by the server.
    for (const rest of this.open) if (rest.endsAt === 'complete') rest.failed = true;
  }

  ready(): void {
    while (this.open.length > 0) {
      const head = this.open[0]!;
      if (head.endsAt === 'ready') {
        this.finish(head.event.outcome === 'refused' ? 'refused' : head.failed ? 'error' : 'ok');
        return;
      }
      this.finish(head.failed ? 'skipped' : 'ok');
    }
  }

  /** A refusal the client got without the server (nothing was sent upstream). */
  refusedHere(event: PgStatementEvent): void {
    this.push(event);
  }

  /** The session ended: anything still open was cut. */
  cut(): void {
    while (this.open.length > 0) this.finish('cut');
  }

  /** Events so far, in the order the client sent the statements. */
  events(): { events: PgStatementEvent[]; dropped: number } {
    return { events: this.done.slice().sort((a, b) => a.at - b.at), dropped: this.dropped };
  }

  get count(): number {
    return this.done.length + this.dropped;
  }

  private finish(outcome: PgStatementEvent['outcome']): void {
    const head = this.open.shift()!;
    if (head.event.outcome !== 'refused' || outcome === 'cut') head.event.outcome = outcome;
    head.event.durationMs = Math.round((performance.now() - head.startedMs) * 1000) / 1000;
    this.push(head.event);
  }

  private push(event: PgStatementEvent): void {
    if (this.done.length < this.options.maxEvents) this.done.push(event);
    else this.dropped++;
  }
}

function rowsOf(tag: string): number | undefined {
  const last = tag.slice(tag.lastIndexOf(' ') + 1);
  if (!/^[0-9]+$/.test(last)) return undefined;
  return Number(last);
}
