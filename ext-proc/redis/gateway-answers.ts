import { describeError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { encodeError } from '../../common/redis/resp.ts';
import type { Outbox } from '../postgres/outbox.ts';
import type { RedisCommandEvent } from '../sessions/types.ts';
import type { CommandBatch } from './command-reader.ts';
import type { ForwardBytes } from './forward-bytes.ts';
import type { ReplyPath } from './reply-path.ts';
import { ReplyScanner } from './reply-scanner.ts';

/** What answers the next reply the client gets: a command sent upstream, or the gateway's own answer. */
type Slot =
  | { kind: 'upstream'; event: RedisCommandEvent | null; started: number; replace: Buffer | null }
  | { kind: 'local'; bytes: Buffer };

const DISCARD = Buffer.from('*1\r\n$7\r\nDISCARD\r\n');
const OK = Buffer.from('+OK\r\n');
const EXECABORT = encodeError('EXECABORT Transaction discarded because a command was refused by the gateway');

/**
 * `recording: commands+replies`: the listener sends ext-proc every reply too, so the gateway
 * writes its own answers: every command gets a slot (upstream or local), and a local answer goes
 * out when every reply before it has. Each reply is sized and timed for the record as it passes
 * (ReplyScanner: boundaries only, bulk payloads are never held). A spoiled MULTI's EXEC goes
 * upstream as DISCARD and the client gets EXECABORT, as Redis answers a transaction it could not
 * queue whole.
 */
export class GatewayAnswers implements ReplyPath {
  readonly #scanner = new ReplyScanner();
  readonly #slots: Slot[] = [];
  /** QUIT or a protocol error: close once every reply before it has gone out. */
  #closing = false;

  constructor(private readonly outbox: Outbox, private readonly log: { logger: Logger; target: string }) {}

  forward(batch: CommandBatch, c: number, forward: ForwardBytes, event: RedisCommandEvent | null): void {
    this.#slots.push({ kind: 'upstream', event, started: performance.now(), replace: null });
    forward.command(batch, c);
  }

  refuse(text: string): void {
    this.#local(encodeError(text));
  }

  abortExec(_batch: CommandBatch, _c: number, forward: ForwardBytes, event: RedisCommandEvent | null): void {
    // The upstream queued the other commands: drop them, and tell the client why.
    this.#slots.push({ kind: 'upstream', event, started: performance.now(), replace: EXECABORT });
    forward.bytes(DISCARD);
  }

  /**
   * QUIT is answered here, not forwarded: redis_proxy would answer it and close at once, and its
   * +OK could be lost in the close while this filter holds it.
   */
  quit(): void {
    this.#closing = true;
    this.#local(OK);
  }

  fail(text: string): void {
    this.#closing = true;
    this.#local(encodeError(text));
  }

  serverData(data: Buffer): void {
    const out: Buffer[] = [];
    let from = 0;
    let ends;
    try {
      ends = this.#scanner.push(data);
    } catch (err) {
      this.log.logger.error({ err: describeError(err), target: this.log.target }, 'unreadable reply from redis_proxy; closing the connection');
      this.outbox.close();
      return;
    }
    for (const end of ends) {
      const slot = this.#slots.shift();
      const bytes = data.subarray(from, end.end);
      from = end.end;
      if (slot === undefined || slot.kind !== 'upstream') {
        // Not ours to place (nothing is waiting): pass it on as it is.
        out.push(bytes);
        continue;
      }
      out.push(slot.replace ?? bytes);
      if (slot.event) finish(slot, end.error ? { outcome: 'error', error: end.errorText, replyBytes: end.bytes } : { outcome: 'ok', replyBytes: end.bytes });
      while (this.#slots[0]?.kind === 'local') out.push((this.#slots.shift() as { bytes: Buffer }).bytes);
    }
    if (from < data.length) out.push(data.subarray(from));
    this.outbox.emit('write', out.length === 1 ? out[0]! : Buffer.concat(out));
    this.#closeIfDone();
  }

  afterClientChunk(): void {
    this.#closeIfDone();
  }

  closed(): void {
    for (const slot of this.#slots) if (slot.kind === 'upstream' && slot.event) finish(slot, { outcome: 'cut' });
    this.#slots.length = 0;
  }

  /** The gateway's own answer, in its place among the replies. */
  #local(bytes: Buffer): void {
    if (this.#slots.length === 0) this.outbox.emit('write', bytes);
    else this.#slots.push({ kind: 'local', bytes });
  }

  #closeIfDone(): void {
    if (this.#closing && this.#slots.length === 0 && !this.outbox.isClosed) this.outbox.close();
  }
}

function finish(slot: Extract<Slot, { kind: 'upstream' }>, result: { outcome: RedisCommandEvent['outcome']; error?: string; replyBytes?: number }): void {
  const event = slot.event!;
  if (event.outcome === 'refused') return;
  event.outcome = result.outcome;
  if (result.error !== undefined) event.error = result.error.slice(0, 200);
  if (result.replyBytes !== undefined) event.replyBytes = result.replyBytes;
  event.durationMs = Math.round((performance.now() - slot.started) * 1000) / 1000;
}
