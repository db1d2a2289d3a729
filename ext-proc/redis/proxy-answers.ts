import { encodeCommand } from '../../common/redis/resp.ts';
import { REFUSED_IN_MULTI_COMMAND } from '../../envoy/generate/protocols/redis.ts';
import type { Outbox } from '../postgres/outbox.ts';
import type { RedisCommandEvent } from '../sessions/types.ts';
import type { CommandBatch } from './command-reader.ts';
import type { ForwardBytes } from './forward-bytes.ts';
import type { ReplyPath } from './reply-path.ts';

const QUIT = encodeCommand(['QUIT']);
const STAND_IN = Buffer.from(REFUSED_IN_MULTI_COMMAND);
/** The argument of a refusal outside MULTI: redis_proxy wants two arguments before it looks a command up. */
const REFUSAL_MARK = Buffer.from('(refused by the gateway)');
/** Longest refusal text sent as a command name; the text is generated here, the bound is for keys quoted in it. */
const MAX_TEXT = 512;

/**
 * `recording: commands`: the listener sends ext-proc the client's bytes only (processing_mode
 * process_write SKIP), so redis_proxy answers every command and its replies reach the client
 * unread. What the gateway answers must then be a command redis_proxy answers in its place:
 *   - a refusal becomes a command named after the refusal's text. redis_proxy knows no such
 *     command and answers at once, in order, without going upstream (Envoy 1.40, measured):
 *     -ERR unknown command 'NOPERM ERR_REDIS_COMMAND_DENIED: …', with args beginning with: …
 *   - inside MULTI that would not fail the EXEC (redis_proxy answers unknown commands itself, and
 *     EXEC then runs the rest, measured), so the refusal becomes REFUSED_IN_MULTI_COMMAND, which
 *     redis_proxy forwards and Redis refuses when queueing: EXEC then gets EXECABORT from Redis.
 *     That stand-in reaches Redis, the refused command never does.
 *   - QUIT goes through: redis_proxy answers +OK after every earlier reply and closes (FlushWrite).
 *   - a protocol error: its refusal, then QUIT, so the client reads the error and the connection ends.
 * The record then has no reply sizes or times: a forwarded command's outcome is `sent`.
 */
export class ProxyAnswers implements ReplyPath {
  constructor(private readonly outbox: Outbox) {}

  forward(batch: CommandBatch, c: number, forward: ForwardBytes, event: RedisCommandEvent | null): void {
    if (event) event.outcome = 'sent';
    forward.command(batch, c);
  }

  refuse(text: string, forward: ForwardBytes, inMulti: boolean): void {
    const line = Buffer.from(text.replace(/[\r\n]+/g, ' ').slice(0, MAX_TEXT), 'utf8');
    forward.bytes(inMulti ? encodeCommand([STAND_IN, line]) : encodeCommand([line, REFUSAL_MARK]));
  }

  abortExec(batch: CommandBatch, c: number, forward: ForwardBytes, event: RedisCommandEvent | null): void {
    // Redis refused the stand-in when queueing it: this EXEC gets EXECABORT and runs nothing.
    this.forward(batch, c, forward, event);
  }

  quit(batch: CommandBatch, c: number, forward: ForwardBytes): void {
    forward.command(batch, c);
  }

  fail(text: string, forward: ForwardBytes): void {
    this.refuse(text, forward, false);
    forward.bytes(QUIT);
  }

  /** Not sent by a listener that skips replies; should one come, it passes as it is. */
  serverData(data: Buffer): void {
    this.outbox.emit('write', data);
  }

  afterClientChunk(): void {}

  closed(): void {}
}
