import type { Logger } from '../../common/logger.ts';
import { RespProtocolError } from '../../common/redis/resp.ts';
import { keyCount, keyIndex, noKeyIndexes, redisCommandInfo, type KeyIndexes } from '../../common/redis/commands.ts';
import type { RedisCheckInput, RedisCheckResult } from '../../common/redis-check.ts';
import { describeError } from '../../common/errors.ts';
import { Outbox, type NetworkResponse } from '../postgres/outbox.ts';
import type { RedisCommandEvent, RedisLoginEvent, SessionRecord } from '../sessions/types.ts';
import { CommandReader, type CommandBatch } from './command-reader.ts';
import { compileCommandPolicy, readKeyIndexes, type CommandPolicy } from './command-policy.ts';
import { CommandNames } from './command-names.ts';
import { ForwardBytes } from './forward-bytes.ts';
import { GatewayAnswers } from './gateway-answers.ts';
import { ProxyAnswers } from './proxy-answers.ts';
import type { ReplyPath } from './reply-path.ts';

export interface RedisSessionDeps {
  target: string;
  sessionId: string;
  /** ext-authz's login check (fail closed: a failed call is a refusal). */
  check(input: RedisCheckInput): Promise<RedisCheckResult>;
  /** The target's deny list (built-in and its own), upper case. */
  denied: ReadonlySet<string>;
  maxRecordedCommands: number;
  /** A masker for the values of a login with this profile; null: values are not recorded. */
  valueMasker(profile: string | null): ((value: string) => string) | null;
  record(record: SessionRecord): void;
  /**
   * What the connection's listener sends: `commands` (client bytes only; redis_proxy answers
   * every command) or `commands+replies` (every reply too; the gateway writes its own answers).
   */
  recording: 'commands' | 'commands+replies';
  logger: Logger;
  now?: () => number;
}

interface Login {
  subject: string;
  issuer: string;
  rule: string;
  expiresAt: number;
  policy: CommandPolicy;
  mask: ((value: string) => string) | null;
}

const MAX_KEYS = 16;
const MAX_ARG_CHARS = 256;
const MAX_VALUES = 16;
/** What onClientData returns for a chunk handled at once. */
const DONE: Promise<void> = Promise.resolve();

/**
 * One client connection to a redis target, in front of redis_proxy. Phases: logged out → (AUTH
 * or HELLO … AUTH, checked with ext-authz, forwarded so redis_proxy logs in too) → logged in
 * (every command checked against the login's rules; refused ones get their refusal in their
 * place and are never forwarded) → logged out again at the login's end or after a refused re-AUTH.
 *
 * Replies stay in order whoever answers (reply-path.ts): the gateway itself when the listener
 * sends replies (`commands+replies`), else redis_proxy, to commands that stand in for the
 * gateway's answers (`commands`). Inside MULTI a refused command also refuses the EXEC, as Redis
 * does for a command it could not queue. Every command is one event of the session's record
 * (keys, masked values; reply size and time with `commands+replies`), written when the
 * connection ends.
 */
export class RedisSession {
  readonly #outbox: Outbox;
  readonly #reader = new CommandReader();
  readonly #names = new CommandNames();
  readonly #answers: ReplyPath;
  readonly #events: (RedisCommandEvent | RedisLoginEvent)[] = [];
  readonly #keyIndexes: KeyIndexes = noKeyIndexes();
  readonly #now: () => number;
  readonly #started: number;
  #dropped = 0;
  #login: Login | null = null;
  #firstLogin: Login | null = null;
  /** The chunk still waiting for a login check, and those queued behind it; null: none. */
  #chain: Promise<void> | null = null;
  #multi: 'none' | 'open' | 'spoiled' = 'none';
  #ended = false;
  /** QUIT (or unreadable bytes) was read: nothing after it is. */
  #quitting = false;
  backlog = 0;
  onBacklog: (() => void) | undefined;

  constructor(private readonly deps: RedisSessionDeps, send: (response: NetworkResponse) => void) {
    this.#outbox = new Outbox(send);
    this.#answers = deps.recording === 'commands' ? new ProxyAnswers(this.#outbox) : new GatewayAnswers(this.#outbox, { logger: deps.logger, target: deps.target });
    this.#now = deps.now ?? Date.now;
    this.#started = this.#now();
  }

  /**
   * Chunks are handled in order. Only a login check (AUTH) waits, so a chunk is handled at once,
   * without a promise, unless one before it is still waiting: a pipeline of plain commands costs
   * no microtask per chunk or per command.
   */
  onClientData(data: Buffer, endOfStream: boolean): Promise<void> {
    this.#outbox.opened('read', endOfStream);
    if (this.#chain === null) {
      const waiting = this.#client(data);
      return waiting === undefined ? DONE : this.#queue(waiting);
    }
    return this.#queue(this.#chain.then(() => this.#client(data)));
  }

  #queue(work: Promise<void>): Promise<void> {
    this.backlog++;
    this.onBacklog?.();
    const chain: Promise<void> = work.finally(() => {
      this.backlog--;
      if (this.#chain === chain) this.#chain = null;
      this.onBacklog?.();
    });
    this.#chain = chain;
    return chain;
  }

  async onServerData(data: Buffer, endOfStream: boolean): Promise<void> {
    this.#outbox.opened('write', endOfStream);
    try {
      this.#answers.serverData(data);
    } finally {
      this.#outbox.respond('write');
    }
  }

  closed(failed: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#answers.closed();
    this.#writeRecord(failed);
  }

  // ---- client → server --------------------------------------------------------------------

  /** One client chunk: undefined when it is done, else the login check it waits for. */
  #client(data: Buffer): Promise<void> | undefined {
    const forward = new ForwardBytes();
    let batch: CommandBatch | null = null;
    if (!this.#quitting) {
      try {
        batch = this.#reader.push(data);
      } catch (err) {
        if (!(err instanceof RespProtocolError)) return this.#failed(err);
        this.#quitting = true;
        this.#answers.fail(`ERR ERR_REDIS_PROTOCOL: ${err.message}`, forward);
      }
    }
    return this.#commands(batch, 0, forward);
  }

  #commands(batch: CommandBatch | null, from: number, forward: ForwardBytes): Promise<void> | undefined {
    try {
      for (let c = from; batch !== null && c < batch.length && !this.#quitting; c++) {
        const name = this.#names.of(batch.bytes(c), batch.argStart(c, 0), batch.argEnd(c, 0));
        const auth = name === 'AUTH' || name === 'HELLO' ? authArgs(name, batch.args(c)) : null;
        if (auth !== null) {
          return this.#authenticate(auth, this.#now()).then(() => {
            // redis_proxy logs the connection in (or refuses it) with the same ext-authz.
            this.#answers.forward(batch, c, forward, null);
            return this.#commands(batch, c + 1, forward);
          }, (err) => this.#failed(err));
        }
        this.#command(name, batch, c, forward);
      }
    } catch (err) {
      return this.#failed(err);
    }
    this.#outbox.emit('read', forward.take());
    this.#outbox.respond('read');
    this.#answers.afterClientChunk();
    return undefined;
  }

  #failed(err: unknown): undefined {
    this.deps.logger.error({ err: describeError(err), target: this.deps.target }, 'redis session failed; closing the connection');
    this.#outbox.close();
    return undefined;
  }

  #command(name: string, batch: CommandBatch, c: number, forward: ForwardBytes): void {
    const at = this.#now();
    const event = this.#event(name, batch, c, at);
    if (name === 'QUIT') {
      this.#quitting = true;
      this.#answers.quit(batch, c, forward);
      return;
    }
    const login = this.#login;
    if (login === null || at >= login.expiresAt) {
      if (login !== null) this.#login = null;
      this.#refuse(event, forward, 'ERR_REDIS_NOT_LOGGED_IN', login === null ? 'log in with AUTH <token> first' : 'the login has ended (its token expired); AUTH again', 'NOAUTH');
      return;
    }
    const verdict = login.policy(name, batch, c);
    if (event) {
      this.#describe(event, batch, c, login);
      if (verdict.rule) event.rule = verdict.rule;
    }
    if (!verdict.allowed) {
      // NOPERM, as Redis' own ACLs answer: clients read it as a permission error (ioredis, for one,
      // carries on past a NOPERM to its INFO ready check).
      this.#refuse(event, forward, 'ERR_REDIS_COMMAND_DENIED', verdict.message, 'NOPERM');
      return;
    }
    if (name === 'MULTI') this.#multi = 'open';
    if ((name === 'EXEC' || name === 'DISCARD') && this.#multi !== 'none') {
      const spoiled = this.#multi === 'spoiled' && name === 'EXEC';
      this.#multi = 'none';
      if (spoiled) {
        this.#answers.abortExec(batch, c, forward, event);
        return;
      }
    }
    this.#answers.forward(batch, c, forward, event);
  }

  async #authenticate(auth: { username: string; token: string }, at: number): Promise<void> {
    const result = await this.deps.check({ target: this.deps.target, token: auth.token, username: auth.username, sessionId: this.deps.sessionId });
    if (!result.allowed) {
      // As redis_proxy does: a refused re-AUTH ends the earlier login.
      this.#login = null;
      this.#push({ at, kind: 'redis.login', outcome: 'refused', code: result.code });
      return;
    }
    const login: Login = {
      subject: result.subject, issuer: result.issuer, rule: result.rule, expiresAt: result.expiresAt,
      policy: compileCommandPolicy(result.rules, this.deps.denied, result.subject),
      mask: this.deps.valueMasker(result.masking),
    };
    this.#login = login;
    this.#firstLogin ??= login;
    this.#push({ at, kind: 'redis.login', outcome: 'ok', subject: result.subject, issuer: result.issuer });
  }

  #refuse(event: RedisCommandEvent | null, forward: ForwardBytes, code: string, message: string, kind: string): void {
    if (event) {
      event.outcome = 'refused';
      event.code = code;
    }
    const inMulti = this.#multi !== 'none';
    if (inMulti) this.#multi = 'spoiled';
    this.#answers.refuse(`${kind} ${code}: ${message}`, forward, inMulti);
  }

  /** The command's event, or null once the record holds maxRecordedCommands (then it is only counted: nothing is made for it). */
  #event(name: string, batch: CommandBatch, c: number, at: number): RedisCommandEvent | null {
    if (this.#events.length >= this.deps.maxRecordedCommands) {
      this.#dropped++;
      return null;
    }
    const event: RedisCommandEvent = { at, kind: 'redis.command', command: name.slice(0, 64), keys: [], args: batch.argc(c) - 1, bytes: batch.sentBytes(c), outcome: 'ok' };
    this.#events.push(event);
    return event;
  }

  /** Key names as sent; the other arguments only through the login's masking profile. */
  #describe(event: RedisCommandEvent, batch: CommandBatch, c: number, login: Login): void {
    const indexes = this.#keyIndexes;
    const count = readKeyIndexes(redisCommandInfo(event.command), batch, c, indexes) ? keyCount(indexes) : 0;
    for (let n = 0; n < count && n < MAX_KEYS; n++) event.keys.push(text(batch, c, keyIndex(indexes, n)));
    if (login.mask === null) return;
    const keys = new Set<number>();
    for (let n = 0; n < count; n++) keys.add(keyIndex(indexes, n));
    const values: string[] = [];
    for (let a = 1; a < batch.argc(c) && values.length < MAX_VALUES; a++) if (!keys.has(a)) values.push(login.mask(text(batch, c, a)));
    event.values = values;
  }

  #push(event: RedisCommandEvent | RedisLoginEvent): boolean {
    if (this.#events.length >= this.deps.maxRecordedCommands) {
      this.#dropped++;
      return false;
    }
    this.#events.push(event);
    return true;
  }

  // ---- the record -------------------------------------------------------------------------

  #writeRecord(failed: boolean): void {
    const login = this.#firstLogin;
    const commands = this.#events.filter((e) => e.kind === 'redis.command').length + this.#dropped;
    if (login === null && commands === 0) return; // a connection that never logged in nor sent anything
    const endedAt = Math.max(this.#now(), this.#started);
    const refused = this.#events.filter((e) => e.kind === 'redis.command' && e.outcome === 'refused').length;
    this.deps.record({
      version: 2,
      id: this.deps.sessionId,
      requestId: '',
      protocol: 'redis',
      subject: login?.subject ?? '',
      issuer: login?.issuer ?? '',
      target: this.deps.target,
      rule: login?.rule ?? '',
      decision: login ? 'allow' : 'deny',
      startedAt: this.#started,
      endedAt,
      outcome: failed ? 'incomplete' : login ? 'completed' : 'refused',
      summary: `${commands} command${commands === 1 ? '' : 's'}${refused ? `, ${refused} refused` : ''}${this.#dropped ? ` (${this.#dropped} not kept)` : ''}`,
      events: [...this.#events, failed ? { at: endedAt, kind: 'error', reason: 'connection cut' } : { at: endedAt, kind: 'end', ...(this.#dropped ? { reason: `${this.#dropped} commands past maxRecordedCommands were counted, not kept` } : {}) }],
    });
  }
}

/** AUTH [user] token, or HELLO <ver> AUTH user token (…): the login it asks for, else null. */
function authArgs(name: string, args: readonly Buffer[]): { username: string; token: string } | null {
  if (name === 'AUTH') {
    if (args.length === 2) return { username: '', token: args[1]!.toString('utf8') };
    if (args.length === 3) return { username: args[1]!.toString('utf8'), token: args[2]!.toString('utf8') };
    return null;
  }
  if (name === 'HELLO') {
    for (let i = 2; i + 2 < args.length; i++) {
      if (args[i]!.toString('latin1').toUpperCase() === 'AUTH') return { username: args[i + 1]!.toString('utf8'), token: args[i + 2]!.toString('utf8') };
    }
  }
  return null;
}

/** Argument a as recorded: its text, cut at MAX_ARG_CHARS (only the bytes that can hold them are decoded). */
function text(batch: CommandBatch, c: number, a: number): string {
  const start = batch.argStart(c, a);
  const end = batch.argEnd(c, a);
  const s = batch.bytes(c).toString('utf8', start, Math.min(end, start + 4 * MAX_ARG_CHARS));
  return s.length > MAX_ARG_CHARS || end - start > 4 * MAX_ARG_CHARS ? `${s.slice(0, MAX_ARG_CHARS)}…` : s;
}
