import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../common/logger.ts';
import { PolicyError } from './errors.ts';
import type { PolicyContext } from './compile.ts';
import { loadPolicyDir } from './load.ts';
import { CompiledPolicySet } from './policy-set.ts';
import { scanPolicyDir } from './scan-dir.ts';

export type ReloadResult = { ok: true; set: CompiledPolicySet } | { ok: false; error: PolicyError };

export interface PolicyStoreOptions {
  logger: Logger;
  /** Quiet time after a change event before reloading; editors write a file in several steps. */
  debounceMs?: number;
  /** How often the directory is stat'ed as a fallback for change events fs.watch misses. */
  pollIntervalMs?: number;
  /** What every load is checked against (the masking profiles ext-proc has). */
  context?: PolicyContext;
}

/**
 * Holds the live policy bundle and replaces it when the directory changes. A reload builds a
 * complete new bundle and swaps one reference, so a request sees either the old bundle or the new
 * one, never a mix. A bundle that fails to load is logged and the previous one stays live: a typo
 * in a policy must not take the gateway down or open it up.
 */
export class PolicyStore {
  readonly dir: string;
  #set: CompiledPolicySet;
  #fingerprint: string;
  readonly #logger: Logger;
  readonly #debounceMs: number;
  readonly #pollIntervalMs: number;
  #context: PolicyContext;
  readonly #listeners = new Set<(result: ReloadResult) => void>();
  #watcher: FSWatcher | null = null;
  #debounceTimer: NodeJS.Timeout | null = null;
  #pollTimer: NodeJS.Timeout | null = null;
  #polling = false;
  #closed = false;
  #lastError: PolicyError | undefined;
  /** Reloads run one at a time; `#queued` is the one waiting, which later requests join. */
  #tail: Promise<unknown> = Promise.resolve();
  #queued: Promise<ReloadResult> | null = null;

  private constructor(dir: string, set: CompiledPolicySet, fingerprint: string, options: PolicyStoreOptions) {
    this.dir = dir;
    this.#set = set;
    this.#fingerprint = fingerprint;
    this.#logger = options.logger;
    this.#debounceMs = options.debounceMs ?? 150;
    this.#pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.#context = options.context ?? {};
  }

  /** Loads the directory; throws the PolicyError if it does not load, so a service never starts on a broken bundle. */
  static async open(dir: string, options: PolicyStoreOptions): Promise<PolicyStore> {
    const fingerprint = await fingerprintDir(dir);
    const set = await loadPolicyDir(dir, options.context);
    const store = new PolicyStore(dir, set, fingerprint, options);
    store.#logLoaded(set, 'policy bundle loaded');
    return store;
  }

  /**
   * Like open(), but a directory that does not load yields a store whose bundle refuses every
   * request (`unavailable`, with the first problem) instead of an error: a long-running service
   * starts, says it is not ready, and goes live with the first good edit it sees.
   */
  static async openOrRefuse(dir: string, options: PolicyStoreOptions): Promise<PolicyStore> {
    const fingerprint = await fingerprintDir(dir);
    try {
      const set = await loadPolicyDir(dir, options.context);
      const store = new PolicyStore(dir, set, fingerprint, options);
      store.#logLoaded(set, 'policy bundle loaded');
      return store;
    } catch (err) {
      const error = asPolicyError(err, dir);
      options.logger.error({ code: error.code, issues: error.issues }, `policies do not load; refusing every request until they do: ${error.message}`);
      const first = error.issues[0];
      const reason = first ? formatFirst(first) : error.message;
      const store = new PolicyStore(dir, CompiledPolicySet.unavailable(reason), fingerprint, options);
      store.#lastError = error;
      return store;
    }
  }

  /** False while no bundle has ever loaded (see openOrRefuse). */
  get loaded(): boolean {
    return this.#set.unavailable === undefined;
  }

  /** Why the latest load failed, until one succeeds. */
  get lastError(): PolicyError | undefined {
    return this.#lastError;
  }

  /** The live bundle. Grab it once per request and use that reference throughout. */
  current(): CompiledPolicySet {
    return this.#set;
  }

  /** Called after every reload attempt, successful or not. Returns an unsubscribe function. */
  onReload(listener: (result: ReloadResult) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Checks the policies against a new context (sluice.yaml changed: targets added or removed,
   * masking profiles renamed) and swaps the bundle if they still load. If they do not, the old
   * bundle and context stay live and the result says why; the caller decides whether the new
   * config may go live without its policies.
   */
  async setContext(context: PolicyContext): Promise<ReloadResult> {
    const previous = this.#context;
    this.#context = context;
    const result = await this.reload();
    if (!result.ok) this.#context = previous;
    return result;
  }

  /** Reloads now. Concurrent calls share a queued reload rather than piling up. Never rejects. */
  reload(): Promise<ReloadResult> {
    if (this.#queued !== null) return this.#queued;
    const next = this.#tail.then(() => {
      this.#queued = null;
      return this.#load();
    });
    this.#queued = next;
    this.#tail = next;
    return next;
  }

  /**
   * Starts watching the directory. fs.watch gives fast reloads, but it misses events on some
   * filesystems and when the watched inode is swapped (editors saving by rename, Kubernetes
   * ConfigMap symlink flips), so a periodic stat of the files backs it up: a change is picked up
   * within pollIntervalMs + debounceMs at worst.
   */
  watch(): this {
    if (this.#closed || this.#pollTimer !== null) return this;
    this.#startWatcher();
    this.#pollTimer = setInterval(() => void this.#poll(), this.#pollIntervalMs);
    this.#pollTimer.unref();
    return this;
  }

  /** Stops watching and waits for a reload in progress. Manual reload() keeps working. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#debounceTimer !== null) clearTimeout(this.#debounceTimer);
    if (this.#pollTimer !== null) clearInterval(this.#pollTimer);
    this.#debounceTimer = null;
    this.#pollTimer = null;
    this.#watcher?.close();
    this.#watcher = null;
    await this.#tail;
  }

  #startWatcher(): void {
    try {
      const watcher = watch(this.dir, { persistent: false }, () => this.#schedule());
      watcher.on('error', (err) => {
        // The directory went away or was replaced; polling carries on and re-attaches a watcher.
        this.#logger.warn({ dir: this.dir, err: err.message }, 'policy directory watch failed; relying on polling');
        watcher.close();
        if (this.#watcher === watcher) this.#watcher = null;
      });
      this.#watcher = watcher;
    } catch (err) {
      this.#logger.warn({ dir: this.dir, err: (err as Error).message }, 'cannot watch policy directory; relying on polling');
    }
  }

  #schedule(): void {
    if (this.#closed) return;
    if (this.#debounceTimer !== null) clearTimeout(this.#debounceTimer);
    this.#debounceTimer = setTimeout(() => {
      this.#debounceTimer = null;
      void this.reload();
    }, this.#debounceMs);
    this.#debounceTimer.unref();
  }

  async #poll(): Promise<void> {
    if (this.#polling || this.#closed) return;
    this.#polling = true;
    try {
      if ((await fingerprintDir(this.dir)) !== this.#fingerprint) {
        // fs.watch missed this change, so it may be watching a stale inode (the directory path
        // is a symlink that was flipped): attach a fresh watcher as well as reloading.
        this.#watcher?.close();
        this.#watcher = null;
        this.#schedule();
      }
      if (this.#watcher === null && !this.#closed) this.#startWatcher();
    } finally {
      this.#polling = false;
    }
  }

  async #load(): Promise<ReloadResult> {
    // Taken before reading, so an edit landing mid-load shows up as a change on the next poll.
    const fingerprint = await fingerprintDir(this.dir);
    let result: ReloadResult;
    try {
      const set = await loadPolicyDir(this.dir, this.#context);
      this.#set = set;
      this.#lastError = undefined;
      this.#logLoaded(set, 'policy bundle reloaded');
      result = { ok: true, set };
    } catch (err) {
      const error = asPolicyError(err, this.dir);
      this.#lastError = error;
      this.#logger.error(
        { code: error.code, issues: error.issues },
        `policy reload failed, keeping the previous bundle: ${error.message}`,
      );
      result = { ok: false, error };
    }
    this.#fingerprint = fingerprint;
    for (const listener of this.#listeners) {
      try {
        listener(result);
      } catch (err) {
        this.#logger.error({ err: (err as Error).message }, 'policy reload listener threw');
      }
    }
    return result;
  }

  #logLoaded(set: CompiledPolicySet, message: string): void {
    this.#logger.info(
      { dir: this.dir, files: set.sources.length, targets: set.targets.size, policies: set.policies.length },
      message,
    );
    if (set.targets.size === 0) this.#logger.warn({ dir: this.dir }, 'no targets are declared; every request is denied');
  }
}

function asPolicyError(err: unknown, dir: string): PolicyError {
  return err instanceof PolicyError ? err : new PolicyError([{ file: dir, line: 0, column: 0, path: '', message: String(err) }], { cause: err });
}

function formatFirst(issue: { file: string; line: number; column: number; message: string }): string {
  return `${path.basename(issue.file)}:${issue.line}:${issue.column}: ${issue.message}`;
}

/** Changes when a policy file is added, removed, replaced or rewritten. */
async function fingerprintDir(dir: string): Promise<string> {
  try {
    const entries = await scanPolicyDir(dir);
    return entries.map((e) => `${e.path}\0${e.size}\0${e.mtimeMs}\0${e.ino}`).join('\n');
  } catch {
    return '(unreadable)';
  }
}
