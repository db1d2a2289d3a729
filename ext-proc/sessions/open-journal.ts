import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { processAlive } from '../../common/process-alive.ts';
import path from 'node:path';
import { createLogger, type Logger } from '../../common/logger.ts';
import { SessionError } from './errors.ts';
import type { SessionProtocol, SessionRecord } from './types.ts';

/**
 * What is known of an exchange admitted for recording whose record has not yet left this process:
 * enough for an `incomplete` record if the process dies before it does (see interrupted-record.ts).
 * Only what the record itself would say: the path is the recorded (masked) one, never a credential.
 */
export interface OpenExchange extends Pick<SessionRecord, 'id' | 'requestId' | 'subject' | 'issuer' | 'target' | 'rule' | 'startedAt'> {
  protocol?: SessionProtocol;
  method?: string;
  path?: string;
  /** The response status once response headers went back to the caller, and when. */
  status?: number;
  /** The latest time the journal heard of this exchange. */
  lastAt: number;
}

/** What later phases add to an open exchange. */
export type OpenExchangeNote = Partial<Pick<OpenExchange, 'protocol' | 'method' | 'path' | 'status'>> & { at: number };

export interface OpenJournalOptions {
  dir: string;
  /** Names this ext-proc instance (e.g. its gRPC port): one journal file per instance, locked. */
  instance: string;
  /** Past this size the file is rewritten with only the open entries. Default 4 MiB. */
  maxBytes?: number;
  logger?: Logger;
}

/** Journals held by this process: a second one in the same process is refused too. */
const HELD_HERE = new Set<string>();

/**
 * A local, append-only journal of the exchanges whose session record has not left this process
 * yet: an "open" line when one is admitted, "note" lines as it goes (request line, response
 * status), a "close" line once the queue's `out` hook says its record was handed to the store.
 * If ext-proc is killed mid-exchange, the next start of the same instance finds the open ones and
 * records them as `incomplete` (recording-setup.ts), so a caller who got part of an answer still
 * has a record.
 *
 * Cost on the data path: lines are buffered and written with one write(2) per event-loop turn
 * (a response status at once, before the answer that carries it goes back), without fsync (it must survive a process crash, not a machine crash: the page cache does).
 * The file is truncated whenever no exchange is open at a flush, and rewritten with only the open
 * entries when it grows past maxBytes, so it stays small.
 */
export class OpenJournal {
  readonly file: string;
  private readonly lockFile: string;
  private readonly maxBytes: number;
  private readonly logger: Logger;
  private fd: number;
  private fileBytes: number;
  private readonly open = new Map<string, OpenExchange>();
  private pending: string[] = [];
  private scheduled = false;
  private closed = false;
  /** write(2), ftruncate(2) and rewrite calls so far (bench/journal.ts reports them per exchange). */
  syscalls = 0;
  private failing = false;

  private constructor(file: string, lockFile: string, fd: number, fileBytes: number, maxBytes: number, logger: Logger) {
    this.file = file;
    this.lockFile = lockFile;
    this.fd = fd;
    this.fileBytes = fileBytes;
    this.maxBytes = maxBytes;
    this.logger = logger;
  }

  /** The journal file of one instance, locked against a second process of the same instance. */
  static fileOf(dir: string, instance: string): string {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(instance) || instance.startsWith('.')) throw new SessionError('ERR_SESSION_INVALID', `journal instance name "${instance}" must be 1-64 of A-Z a-z 0-9 . _ -`);
    return path.join(dir, `open-${instance}.journal`);
  }

  /**
   * Opens (creating) the instance's journal and takes its lock. What a previous process left is
   * not read here: call recover() and, once those exchanges are recorded, clear().
   */
  static open(options: OpenJournalOptions): OpenJournal {
    const logger = options.logger ?? createLogger('sluice-sessions');
    const file = OpenJournal.fileOf(options.dir, options.instance);
    const maxBytes = options.maxBytes ?? 4 * 1024 * 1024;
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    const lockFile = `${file}.lock`;
    takeLock(lockFile, logger);
    try {
      const fd = openSync(file, 'a', 0o600);
      return new OpenJournal(file, lockFile, fd, fstatSync(fd).size, maxBytes, logger);
    } catch (err) {
      releaseLock(lockFile);
      throw err;
    }
  }

  /**
   * The exchanges a previous process opened and never closed. A torn last line (the process died
   * mid-write) and any line that does not parse are skipped.
   */
  recover(): OpenExchange[] {
    return [...readJournal(this.file).values()];
  }

  /** Forgets what a previous process left (after recover()'s exchanges were recorded). */
  clear(): void {
    this.flushNow();
    if (this.open.size === 0) this.truncate();
    else this.rewrite();
  }

  opened(exchange: Omit<OpenExchange, 'lastAt'>): void {
    if (this.closed) return;
    const entry: OpenExchange = { ...exchange, lastAt: exchange.startedAt };
    this.open.set(entry.id, entry);
    this.push({ op: 'open', ...entry });
  }

  /** An exchange a previous process left open, kept open here until its record is out. */
  carry(exchange: OpenExchange): void {
    if (this.closed) return;
    this.open.set(exchange.id, { ...exchange });
    this.push({ op: 'open', ...exchange });
  }

  note(id: string, note: OpenExchangeNote): void {
    const entry = this.open.get(id);
    if (this.closed || entry === undefined) return;
    const { at, ...fields } = note;
    Object.assign(entry, fields, { lastAt: Math.max(entry.lastAt, at) });
    this.push({ op: 'note', id, ...note });
    // The status is written before the answer carrying it can reach the caller (with whatever else
    // this turn has buffered): a kill a moment later still finds it. Everything else waits for the turn.
    if (note.status !== undefined) this.flushNow();
  }

  /** The exchange's record has left this process (or was given up, which was logged). */
  closedOne(id: string): void {
    if (this.closed || !this.open.delete(id)) return;
    this.push({ op: 'close', id });
  }

  /** Exchanges open now. */
  get size(): number {
    return this.open.size;
  }

  /** Writes what is buffered now (tests, and before close). */
  flushNow(): void {
    this.scheduled = false;
    if (this.fd < 0) return;
    const lines = this.pending;
    this.pending = [];
    // Nothing open: nothing a crash could lose, so the whole file can go instead of growing.
    if (this.open.size === 0) {
      if (this.fileBytes > 0) this.truncate();
      return;
    }
    if (lines.length === 0) return;
    const text = lines.join('');
    const bytes = Buffer.byteLength(text);
    if (this.fileBytes + bytes > this.maxBytes) {
      this.rewrite();
      return;
    }
    this.write(text, bytes);
  }

  /**
   * Writes what is buffered and releases the lock. Exchanges still open stay in the file: their
   * records never left this process, so the next start records them as interrupted.
   */
  close(): void {
    if (this.closed) return;
    this.flushNow();
    this.closed = true;
    closeSync(this.fd);
    this.fd = -1;
    releaseLock(this.lockFile);
  }

  private push(line: object): void {
    this.pending.push(`${JSON.stringify(line)}\n`);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flushNow());
  }

  private write(text: string, bytes: number): void {
    try {
      this.syscalls += 1;
      writeSync(this.fd, text);
      this.fileBytes += bytes;
      if (this.failing) this.logger.info({ file: this.file }, 'open-exchange journal writable again');
      this.failing = false;
    } catch (err) {
      // A journal that cannot be written only weakens crash recovery; the records still flow.
      // Logged once per outage, not once per turn.
      if (!this.failing) this.logger.error({ file: this.file, err: String(err) }, 'open-exchange journal write failed; exchanges cut by a crash now may go unrecorded');
      this.failing = true;
    }
  }

  private truncate(): void {
    this.syscalls += 1;
    ftruncateSync(this.fd, 0);
    this.fileBytes = 0;
  }

  /** A fresh file carrying only the open entries, renamed over the old one. */
  private rewrite(): void {
    const text = [...this.open.values()].map((entry) => `${JSON.stringify({ op: 'open', ...entry })}\n`).join('');
    this.syscalls += 1;
    const fresh = `${this.file}.fresh`;
    writeFileSync(fresh, text, { mode: 0o600 });
    renameSync(fresh, this.file);
    closeSync(this.fd);
    this.fd = openSync(this.file, 'a', 0o600);
    this.fileBytes = Buffer.byteLength(text);
  }
}

/** Replays a journal file: the exchanges opened and not closed, with what their notes added. */
export function readJournal(file: string): Map<string, OpenExchange> {
  const open = new Map<string, OpenExchange>();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return open;
  }
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof entry !== 'object' || entry === null || typeof entry.id !== 'string') continue;
    const id = entry.id;
    if (entry.op === 'open' && isOpenEntry(entry)) {
      const { op: _op, ...fields } = entry;
      open.set(id, fields as unknown as OpenExchange);
    } else if (entry.op === 'note') {
      const known = open.get(id);
      if (known === undefined) continue;
      const at = typeof entry.at === 'number' ? entry.at : known.lastAt;
      if (typeof entry.method === 'string') known.method = entry.method;
      if (typeof entry.path === 'string') known.path = entry.path;
      if (typeof entry.protocol === 'string') known.protocol = entry.protocol as SessionProtocol;
      if (typeof entry.status === 'number') known.status = entry.status;
      known.lastAt = Math.max(known.lastAt, at);
    } else if (entry.op === 'close') {
      open.delete(id);
    }
  }
  return open;
}

function isOpenEntry(entry: Record<string, unknown>): boolean {
  return ['requestId', 'subject', 'issuer', 'target', 'rule'].every((field) => typeof entry[field] === 'string')
    && typeof entry.startedAt === 'number' && typeof entry.lastAt === 'number';
}

function takeLock(lockFile: string, logger: Logger): void {
  if (HELD_HERE.has(lockFile)) throw lockedBy(lockFile, process.pid);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockFile, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      HELD_HERE.add(lockFile);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number.parseInt(readText(lockFile), 10);
    // Our own pid is a lock left by an earlier run (a container restarts as pid 1).
    if (Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && processAlive(holder)) throw lockedBy(lockFile, holder);
    logger.warn({ lockFile, pid: Number.isNaN(holder) ? undefined : holder }, 'open-exchange journal: taking over a lock left by a process that is gone');
    try {
      unlinkSync(lockFile);
    } catch {
      // Another process took it over first; the next attempt finds out.
    }
  }
  throw lockedBy(lockFile, undefined);
}

function releaseLock(lockFile: string): void {
  HELD_HERE.delete(lockFile);
  try {
    unlinkSync(lockFile);
  } catch {
    // Already gone.
  }
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function lockedBy(lockFile: string, pid: number | undefined): SessionError {
  return new SessionError('ERR_SESSION_STORE_LOCKED', `the open-exchange journal ${lockFile.replace(/\.lock$/, '')} is in use by ${pid === process.pid ? 'this process' : `process ${pid ?? 'unknown'}`}; give each ext-proc replica its own extProc.port or journal directory`, {
    details: { lockFile, pid },
  });
}

