import type { PgStatementEvent } from '../sessions/types.ts';
import type { PgLoginRequest, PgStatementRequest, PgVerdict } from './authorizer.ts';
import { ChunkOutput } from './output.ts';
import type { ResultContext } from './result-context.ts';
import type { RowMaskerSource } from './result-flow.ts';
import { refusalStatement, type StatementGate } from './statement-gate.ts';
import type { StatementLog } from './statement-log.ts';
import type { Frame } from './wire/framer.ts';
import { F, decodeBind, decodeExecute, decodeParse, decodeQuery, decodeTarget, encodeBind, encodeParse, encodeQuery } from './wire/frontend.ts';

export interface ClientFlowOptions {
  gate: StatementGate;
  /** With a masking profile: told what each message asks of the server (see result-context.ts). */
  context: ResultContext | null;
  log: StatementLog;
  maskers: RowMaskerSource | null;
  /** The session's part of every statement check. */
  request(): PgLoginRequest & { holdBudgetMs: number };
  /** Statement text kept per recorded event, bytes. */
  maxStatementBytes: number;
  onApproval(approvalId: string, waitMs: number): void;
  now?: () => number;
}

/** A statement the client prepared (named, or the unnamed one), as the gateway decided on it. */
interface Prepared {
  text: string;
  verdict: PgVerdict;
}

/** A portal: a prepared statement bound to parameters. */
interface Portal {
  prepared: Prepared;
  params: string[];
}

/**
 * What the client sends, on its way to the server. Every statement is checked before a byte of
 * it goes on: a simple Query as a whole, an extended-protocol Parse by its text. A refused
 * statement is replaced by one that makes the server raise the refusal (see refusalStatement), so
 * the client gets a real ErrorResponse and ReadyForQuery and the transaction state stays honest;
 * Binds and Executes that refer to a refused statement follow it there. Other messages (Sync,
 * Describe, CopyData, Terminate…) pass as they came.
 */
export class ClientFlow {
  private readonly out = new ChunkOutput();
  private readonly statements = new Map<string, Prepared>();
  private readonly portals = new Map<string, Portal>();
  private readonly now: () => number;

  constructor(private readonly options: ClientFlowOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Each handler also tells the result context (when there is one) what the server will answer
   * the message with, before any await, so the context sees the messages in the order sent.
   */
  async frame(frame: Frame): Promise<void> {
    const context = this.options.context;
    switch (frame.type) {
      case F.Query:
        return this.query(frame);
      case F.Parse:
        return this.parse(frame);
      case F.Bind:
        return this.bind(frame);
      case F.Execute:
        return this.execute(frame);
      case F.Close:
        this.close(frame);
        return this.out.keep(frame.bytes);
      case F.Describe:
        if (context) {
          const target = decodeTarget(frame, 'Describe');
          context.describe(target.of, target.name);
        }
        return this.out.keep(frame.bytes);
      case F.Sync:
        context?.sync();
        return this.out.keep(frame.bytes);
      case F.FunctionCall:
        // The fast-path function call names a function by oid: nothing a policy can read. Refused
        // (sent on as a Query that raises the refusal).
        context?.query();
        return this.refuseWithQuery(frame, '42501', 'function calls by oid (fast path) are not allowed through the gateway', 'ERR_STATEMENT_DENIED');
      default:
        return this.out.keep(frame.bytes);
    }
  }

  /** Everything to send the server for the frames handled since the last take(). */
  take(): Buffer {
    return this.out.take();
  }

  /** The login was re-checked and refused: nothing allowed earlier is trusted any more. */
  forgetAllowed(): void {
    this.options.gate.clear();
  }

  private async query(frame: Frame): Promise<void> {
    this.options.context?.query();
    const text = decodeQuery(frame);
    const at = this.now();
    const verdict = await this.decide(text, 'simple');
    const event = this.event(at, 'simple', text, verdict);
    this.options.log.sent(event, 'ready', copyFormatOf(text));
    if (verdict.allowed) return this.out.keep(frame.bytes);
    this.out.replace(encodeQuery(refusalStatement(verdict.sqlstate, verdict.message)));
  }

  private async parse(frame: Frame): Promise<void> {
    const message = decodeParse(frame);
    this.options.context?.parse(message.statement);
    const verdict = await this.decide(message.query, 'parse');
    this.statements.set(message.statement, { text: message.query, verdict });
    if (verdict.allowed) return this.out.keep(frame.bytes);
    this.out.replace(encodeParse({ statement: message.statement, query: refusalStatement(verdict.sqlstate, verdict.message), paramTypes: [] }));
  }

  private bind(frame: Frame): void {
    const message = decodeBind(frame);
    const prepared = this.statements.get(message.statement);
    // A refused statement's Bind goes on with no result formats.
    this.options.context?.bind(message.portal, message.statement, prepared && !prepared.verdict.allowed ? [] : message.resultFormats);
    if (prepared === undefined) {
      // The server will answer "prepared statement does not exist": nothing runs.
      return this.out.keep(frame.bytes);
    }
    this.portals.set(message.portal, { prepared, params: message.params.map((p, i) => this.param(p, formatOf(message.paramFormats, i))) });
    if (prepared.verdict.allowed) return this.out.keep(frame.bytes);
    // The refusal statement takes no parameters: bind none, so the server reaches the refusal itself.
    this.out.replace(encodeBind({ ...message, paramFormats: [], params: [], resultFormats: [] }));
  }

  private execute(frame: Frame): void {
    const { portal: name } = decodeExecute(frame);
    this.options.context?.execute(name);
    const portal = this.portals.get(name);
    if (portal !== undefined) {
      const event = this.event(this.now(), 'extended', portal.prepared.text, portal.prepared.verdict);
      if (portal.params.length > 0) event.params = portal.params;
      this.options.log.sent(event, 'complete', copyFormatOf(portal.prepared.text));
    }
    this.out.keep(frame.bytes);
  }

  private close(frame: Frame): void {
    this.options.context?.close();
    const target = decodeTarget(frame, 'Close');
    if (target.of === 'S') this.statements.delete(target.name);
    else this.portals.delete(target.name);
  }

  private refuseWithQuery(frame: Frame, sqlstate: string, message: string, code: string): void {
    const event: PgStatementEvent = { at: this.now(), kind: 'pg.statement', protocol: 'simple', text: `<function call, ${frame.payload.length} bytes>`, outcome: 'refused', durationMs: 0, code };
    this.options.log.sent(event, 'ready');
    this.out.replace(encodeQuery(refusalStatement(sqlstate, message)));
  }

  /** The verdict for a statement: remembered, else asked (and a failed ask is a refusal). */
  private async decide(text: string, kind: PgStatementRequest['kind']): Promise<PgVerdict> {
    const cached = this.options.gate.cached(text, kind);
    if (cached !== undefined) return cached;
    let verdict: PgVerdict;
    try {
      verdict = await this.options.gate.check({ ...this.options.request(), text, kind });
    } catch {
      verdict = { allowed: false, code: 'ERR_PG_CHECK_FAILED', sqlstate: '58000', message: 'the gateway could not check this statement; it was not run' };
    }
    if (verdict.allowed && verdict.approvalId !== null) this.options.onApproval(verdict.approvalId, verdict.approvalWaitMs ?? 0);
    return verdict;
  }

  private event(at: number, protocol: 'simple' | 'extended', text: string, verdict: PgVerdict): PgStatementEvent {
    const kept = this.recordedText(text);
    const event: PgStatementEvent = { at, kind: 'pg.statement', protocol, text: kept.text, outcome: verdict.allowed ? 'ok' : 'refused', durationMs: 0 };
    if (kept.truncated) event.truncated = true;
    if (verdict.allowed) {
      if (verdict.statement) event.statements = verdict.statement.map((s) => ({ class: s.class, command: s.command, tables: [...s.tables] }));
      if (verdict.approvalId) event.approvalId = verdict.approvalId;
    } else {
      event.code = verdict.code;
      if (verdict.approvalId) event.approvalId = verdict.approvalId;
    }
    return event;
  }

  private recordedText(text: string): { text: string; truncated: boolean } {
    const max = this.options.maxStatementBytes;
    const truncated = Buffer.byteLength(text) > max;
    const kept = truncated ? Buffer.from(text).subarray(0, max).toString('utf8').replace(/\uFFFD$/, '') : text;
    return { text: this.options.maskers ? this.options.maskers.text(kept) : kept, truncated };
  }

  /** A bound parameter as the record shows it: text masked by the profile, binary by its size only. */
  private param(value: Buffer | null, format: number): string {
    if (value === null) return 'NULL';
    if (format === 1) return `<binary ${value.length} bytes>`;
    const text = value.length > 1024 ? `${value.subarray(0, 1024).toString('utf8')}…` : value.toString('utf8');
    return this.options.maskers ? this.options.maskers.text(text) : text;
  }
}

/** Bind's parameter format codes: none = all text, one = all that, else one per parameter. */
function formatOf(formats: readonly number[], index: number): number {
  if (formats.length === 0) return 0;
  if (formats.length === 1) return formats[0]!;
  return formats[index] ?? 0;
}

/**
 * Which COPY text parser the result masker uses. It only chooses how CopyData lines are split
 * into fields (CSV quotes or text escapes); recognizers run over every field either way, so a
 * wrong guess can garble a masked line's quoting but never lets a value through unmasked.
 */
function copyFormatOf(text: string): 'text' | 'csv' {
  return /\bcsv\b/i.test(text) ? 'csv' : 'text';
}
