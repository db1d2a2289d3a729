import type { RedisCommandEvent } from '../sessions/types.ts';
import type { CommandBatch } from './command-reader.ts';
import type { ForwardBytes } from './forward-bytes.ts';

/**
 * Who answers the client, and how the gateway's own answers (refusals, QUIT, a protocol error)
 * stay in their place among the replies. Every command the session reads ends in exactly one of
 * these calls, in the order the client sent them, and each call adds one command to `forward`
 * (bytes for redis_proxy) or one reply among the client's, so the client's n-th reply always
 * answers its n-th command. Two paths, chosen by the connection's listener (`recording`):
 *   gateway-answers.ts  commands+replies: ext-proc reads every reply and writes its own answers
 *   proxy-answers.ts    commands: ext-proc reads client bytes only; redis_proxy answers everything
 */
export interface ReplyPath {
  /** The command goes upstream as it is; its event learns how it ended when that is known. */
  forward(batch: CommandBatch, c: number, forward: ForwardBytes, event: RedisCommandEvent | null): void;
  /**
   * The gateway refuses the command: `text` is the error ("NOPERM ERR_…: …"). Inside MULTI the
   * refusal must also make the transaction's EXEC fail (see abortExec).
   */
  refuse(text: string, forward: ForwardBytes, inMulti: boolean): void;
  /** EXEC of a transaction that holds a refused command: the client gets EXECABORT, nothing of it runs. */
  abortExec(batch: CommandBatch, c: number, forward: ForwardBytes, event: RedisCommandEvent | null): void;
  /** QUIT: +OK once every earlier reply is out, then the connection closes. The session reads nothing after it. */
  quit(batch: CommandBatch, c: number, forward: ForwardBytes): void;
  /** Client bytes that are not RESP: the error in its place, then the connection closes. */
  fail(text: string, forward: ForwardBytes): void;
  /** A chunk from redis_proxy (only on a listener that sends replies): what the client gets. */
  serverData(data: Buffer): void;
  /** A client chunk's forward list has gone out. */
  afterClientChunk(): void;
  /** The connection has ended: commands still waiting for their reply are cut. */
  closed(): void;
}
