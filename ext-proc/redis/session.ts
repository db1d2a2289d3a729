import type { Logger } from '../../common/logger.ts';
import { encodeError, RespProtocolError } from '../../common/redis/resp.ts';
import { commandKeys, redisCommandInfo } from '../../common/redis/commands.ts';
import type { RedisCheckInput, RedisCheckResult } from '../../common/redis-check.ts';
import { describeError } from '../../common/errors.ts';
import { Outbox, type NetworkResponse } from '../postgres/outbox.ts';
import type { RedisCommandEvent, RedisLoginEvent, SessionRecord } from '../sessions/types.ts';
import { CommandReader, type ParsedCommand } from './command-reader.ts';
import { compileCommandPolicy, type CommandPolicy } from './command-policy.ts';
import { ReplyScanner } from './reply-scanner.ts';

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

/** What answers the next reply the client gets: a command sent upstream, or the gateway's own answer. */
type Slot =
  | { kind: 'upstream'; event: RedisCommandEvent | null; started: number; replace: Buffer | null }
  | { kind: 'local'; bytes: Buffer };

const MAX_KEYS = 16;
const MAX_ARG_CHARS = 256;
const MAX_VALUES = 16;

/**
 * One client connection to a redis target, in front of redis_proxy. Phases: logged out → (AUTH
 * or HELLO … AUTH, checked with ext-authz, forwarded so redis_proxy logs in too) → logged in
 * (every command checked against the login's rules; denied ones answered here and never
 * forwarded) → logged out again at the login's end or after a refused re-AUTH.
 *
 * Replies stay in order: every command gets a slot (upstream or local); a local answer goes out
 * when every reply before it has. Inside MULTI a refused command also refuses the EXEC: the
 * gateway sends DISCARD upstream in its place and answers EXECABORT, as Redis does for a command
 * it could not queue. Every command is one event of the session's record (keys, masked values,
 * reply size), written when the connection ends.
 */
export class RedisSession {
  readonly #outbox: Outbox;
  readonly #reader = new CommandReader();
  readonly #scanner = new ReplyScanner();
  readonly #slots: Slot[] = [];
  readonly #events: (RedisCommandEvent | RedisLoginEvent)[] = [];
  readonly #now: () => number;
  readonly #started: number;
  #dropped = 0;
  #login: Login | null = null;
  #firstLogin: Login | null = null;
  #chain: Promise<void> = Promise.resolve();
  #multi: 'none' | 'open' | 'spoiled' = 'none';
  #ended = false;
  /** QUIT was read: answer it once every reply before it has gone out, then close. */
  #quitting = false;
  backlog = 0;
  onBacklog: (() => void) | undefined;

  constructor(private readonly deps: RedisSessionDeps, send: (response: NetworkResponse) => void) {
    this.#outbox = new Outbox(send);
    this.#now = deps.now ?? Date.now;
    this.#started = this.#now();
  }

  onClientData(data: Buffer, endOfStream: boolean): Promise<void> {
    this.#outbox.opened('read', endOfStream);
    this.backlog++;
    this.onBacklog?.();
    this.#chain = this.#chain.then(() => this.#client(data)).finally(() => {
      this.backlog--;
      this.onBacklog?.();
    });
    return this.#chain;
  }

  async onServerData(data: Buffer, endOfStream: boolean): Promise<void> {
    this.#outbox.opened('write', endOfStream);
    try {
      this.#server(data);
    } finally {
      this.#outbox.respond('write');
    }
  }

  closed(failed: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const slot of this.#slots) if (slot.kind === 'upstream' && slot.event) this.#finish(slot, { outcome: 'cut' });
    this.#slots.length = 0;
    this.#writeRecord(failed);
  }

  // ---- client → server --------------------------------------------------------------------

  async #client(data: Buffer): Promise<void> {
    const forward: Buffer[] = [];
    try {
      let commands: ParsedCommand[];
      try {
        commands = this.#reader.push(data);
      } catch (err) {
        if (!(err instanceof RespProtocolError)) throw err;
        this.#local(encodeError(`ERR ERR_REDIS_PROTOCOL: ${err.message}`));
        this.#outbox.emit('read', Buffer.concat(forward));
        this.#outbox.respond('read');
        this.#outbox.close();
        return;
      }
      for (const command of commands) {
        if (this.#quitting) break;
        await this.#command(command, forward);
      }
    } catch (err) {
      this.deps.logger.error({ err: describeError(err), target: this.deps.target }, 'redis session failed; closing the connection');
      this.#outbox.close();
      return;
    }
    this.#outbox.emit('read', forward.length === 1 ? forward[0]! : Buffer.concat(forward));
    this.#outbox.respond('read');
    this.#closeIfQuit();
  }

  /**
   * QUIT is answered here, not forwarded: redis_proxy would answer it and close at once, and its
   * +OK could be lost in the close while this filter holds it.
   */
  #closeIfQuit(): void {
    if (this.#quitting && this.#slots.length === 0 && !this.#outbox.isClosed) this.#outbox.close();
  }

  async #command(command: ParsedCommand, forward: Buffer[]): Promise<void> {
    const name = command.args[0]!.toString('latin1').toUpperCase();
    const at = this.#now();
    const auth = authArgs(name, command.args);
    if (auth !== null) {
      await this.#authenticate(auth, at);
      // redis_proxy logs the connection in (or refuses it) with the same ext-authz.
      this.#send(command, forward, null);
      return;
    }
    const event = this.#event(name, command, at);
    if (name === 'QUIT') {
      this.#quitting = true;
      this.#local(Buffer.from('+OK\r\n'));
      return;
    }
    const login = this.#login;
    if (login === null || at >= login.expiresAt) {
      if (login !== null) this.#login = null;
      this.#refuse(event, 'ERR_REDIS_NOT_LOGGED_IN', login === null ? 'log in with AUTH <token> first' : 'the login has ended (its token expired); AUTH again', 'NOAUTH');
      return;
    }
    const verdict = login.policy(name, command.args);
    if (event) this.#describe(event, command, verdict.keys, login);
    if (!verdict.allowed) {
      if (this.#multi !== 'none') this.#multi = 'spoiled';
      if (event && verdict.rule) event.rule = verdict.rule;
      // NOPERM, as Redis' own ACLs answer: clients read it as a permission error (ioredis, for one,
      // carries on past a NOPERM to its INFO ready check).
      this.#refuse(event, 'ERR_REDIS_COMMAND_DENIED', verdict.message, 'NOPERM');
      return;
    }
    if (event && verdict.rule) event.rule = verdict.rule;
    if (name === 'MULTI') this.#multi = 'open';
    if ((name === 'EXEC' || name === 'DISCARD') && this.#multi !== 'none') {
      const spoiled = this.#multi === 'spoiled' && name === 'EXEC';
      this.#multi = 'none';
      if (spoiled) {
        // The upstream queued the other commands: drop them, and tell the client why.
        this.#slots.push({ kind: 'upstream', event, started: performance.now(), replace: encodeError('EXECABORT Transaction discarded because a command was refused by the gateway') });
        forward.push(Buffer.from('*1\r\n$7\r\nDISCARD\r\n'));
        return;
      }
    }
    this.#send(command, forward, event);
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

  #send(command: ParsedCommand, forward: Buffer[], event: RedisCommandEvent | null): void {
    this.#slots.push({ kind: 'upstream', event, started: performance.now(), replace: null });
    forward.push(command.raw);
  }

  #refuse(event: RedisCommandEvent | null, code: string, message: string, kind = 'ERR'): void {
    if (event) {
      event.outcome = 'refused';
      event.code = code;
    }
    this.#local(encodeError(`${kind} ${code}: ${message}`));
  }

  /** The gateway's own answer, in its place among the replies. */
  #local(bytes: Buffer): void {
    if (this.#slots.length === 0) this.#outbox.emit('write', bytes);
    else this.#slots.push({ kind: 'local', bytes });
  }

  #event(name: string, command: ParsedCommand, at: number): RedisCommandEvent | null {
    const event: RedisCommandEvent = { at, kind: 'redis.command', command: name.slice(0, 64), keys: [], args: command.args.length - 1, bytes: command.bytes, outcome: 'ok' };
    return this.#push(event) ? event : null;
  }

  /** Key names as sent; the other arguments only through the login's masking profile. */
  #describe(event: RedisCommandEvent, command: ParsedCommand, keys: readonly Buffer[], login: Login): void {
    const keyTexts = (keys.length > 0 ? keys : (commandKeys(redisCommandInfo(event.command), command.args, (b) => b.toString('latin1')) ?? [])).map(text);
    event.keys = keyTexts.slice(0, MAX_KEYS);
    if (login.mask === null) return;
    const keySet = new Set(keys);
    event.values = command.args.slice(1).filter((a) => !keySet.has(a)).slice(0, MAX_VALUES).map((a) => login.mask!(text(a)));
  }

  #push(event: RedisCommandEvent | RedisLoginEvent): boolean {
    if (this.#events.length >= this.deps.maxRecordedCommands) {
      this.#dropped++;
      return false;
    }
    this.#events.push(event);
    return true;
  }

  // ---- server → client --------------------------------------------------------------------

  #server(data: Buffer): void {
    const out: Buffer[] = [];
    let from = 0;
    let ends;
    try {
      ends = this.#scanner.push(data);
    } catch (err) {
      this.deps.logger.error({ err: describeError(err), target: this.deps.target }, 'unreadable reply from redis_proxy; closing the connection');
      this.#outbox.close();
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
      if (slot.event) this.#finish(slot, end.error ? { outcome: 'error', error: end.errorText, replyBytes: end.bytes } : { outcome: 'ok', replyBytes: end.bytes });
      while (this.#slots[0]?.kind === 'local') out.push((this.#slots.shift() as { bytes: Buffer }).bytes);
    }
    if (from < data.length) out.push(data.subarray(from));
    this.#outbox.emit('write', out.length === 1 ? out[0]! : Buffer.concat(out));
    this.#closeIfQuit();
  }

  #finish(slot: Extract<Slot, { kind: 'upstream' }>, result: { outcome: RedisCommandEvent['outcome']; error?: string; replyBytes?: number }): void {
    const event = slot.event!;
    if (event.outcome === 'refused') return;
    event.outcome = result.outcome;
    if (result.error !== undefined) event.error = result.error.slice(0, 200);
    if (result.replyBytes !== undefined) event.replyBytes = result.replyBytes;
    event.durationMs = Math.round((performance.now() - slot.started) * 1000) / 1000;
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

function text(value: Buffer): string {
  const s = value.toString('utf8');
  return s.length > MAX_ARG_CHARS ? `${s.slice(0, MAX_ARG_CHARS)}…` : s;
}
