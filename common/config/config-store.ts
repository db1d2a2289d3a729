import { watch, watchFile, unwatchFile, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logger.ts';
import { isSluiceError } from '../errors.ts';
import { loadConfig } from './load.ts';
import type { SluiceConfig } from './types.ts';

/** One subscriber's verdict on a new config: applied, or refused with a reason (logged). */
export type ApplyOutcome = { ok: true } | { ok: false; reason: string };

/** A part of a service that follows sluice.yaml while it runs (policies' targets, credentials, Envoy routes). */
export interface ConfigSubscriber {
  readonly name: string;
  /** Checks a new config without applying it; a refusal keeps the whole old config live. */
  check?(next: SluiceConfig): Promise<ApplyOutcome>;
  apply(next: SluiceConfig, previous: SluiceConfig): Promise<ApplyOutcome>;
}

/** Sections that only take effect on a restart (ports, stores): a change is logged, not applied. */
const RESTART_ONLY = ['extAuthz', 'issuers', 'log', 'admin', 'approvals', 'console', 'gateway', 'dev'] as const;
const RESTART_ONLY_EXT_PROC = ['host', 'port', 'adminPort', 'secretsFile', 'sessions'] as const;
const RESTART_ONLY_ENVOY = ['listenAddress', 'listenPort', 'adminAddress', 'adminPort', 'xdsDir'] as const;

/**
 * The live sluice.yaml of a process, reloaded when the file changes (editors' renames and
 * Kubernetes symlink swaps included: a poll backs up fs.watch). A new file that fails to load,
 * or that a subscriber refuses (policies naming a target it drops, a config Envoy would reject),
 * is logged with its file:line:col and the old config stays live for everyone.
 */
export class ConfigStore {
  #config: SluiceConfig;
  readonly #subscribers: ConfigSubscriber[] = [];
  readonly #logger: Logger;
  #watcher: FSWatcher | null = null;
  #debounce: NodeJS.Timeout | null = null;
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;
  #lastText = '';
  /** The file on disk was refused by a subscriber: a later change elsewhere may let it apply. */
  #refused = false;

  constructor(config: SluiceConfig, logger: Logger) {
    this.#config = config;
    this.#logger = logger;
  }

  current(): SluiceConfig {
    return this.#config;
  }

  subscribe(subscriber: ConfigSubscriber): void {
    this.#subscribers.push(subscriber);
  }

  /** Watches the file; changes land within about a second (debounced, polled as a fallback). */
  watch(pollIntervalMs = 500): this {
    const file = this.#config.file;
    const onChange = () => this.#schedule();
    try {
      this.#watcher = watch(path.dirname(file), { persistent: false }, (_event, name) => {
        if (name === null || name === path.basename(file) || name.startsWith('..')) onChange();
      });
      this.#watcher.on('error', () => undefined);
    } catch {
      // Polling alone still works.
    }
    watchFile(file, { interval: pollIntervalMs, persistent: false }, onChange);
    return this;
  }

  /** Reloads now (also what the watcher calls). Never rejects. */
  reload(): Promise<ApplyOutcome> {
    const run = this.#tail.then(() => this.#reload());
    this.#tail = run;
    return run;
  }

  /**
   * Tries the file again if it was refused (say, the policies naming a target it drops have since
   * been removed): a change elsewhere may let the operator's edit apply without touching the file.
   */
  retryRefused(): Promise<ApplyOutcome> {
    return this.#refused ? this.reload() : Promise.resolve({ ok: true });
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#debounce) clearTimeout(this.#debounce);
    this.#watcher?.close();
    unwatchFile(this.#config.file);
    await this.#tail;
  }

  #schedule(): void {
    if (this.#closed) return;
    if (this.#debounce) clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => void this.reload(), 100);
    this.#debounce.unref();
  }

  async #reload(): Promise<ApplyOutcome> {
    const previous = this.#config;
    let next: SluiceConfig;
    try {
      next = loadConfig(previous.file);
    } catch (err) {
      const reason = isSluiceError(err) ? err.message : String(err);
      if (reason !== this.#lastText) this.#logger.error({ code: isSluiceError(err) ? err.code : 'ERR_CONFIG_INVALID', file: previous.file }, `config reload failed, keeping the live config: ${reason}`);
      this.#lastText = reason;
      return { ok: false, reason };
    }
    if (JSON.stringify({ ...next, file: '' }) === JSON.stringify({ ...previous, file: '' })) return { ok: true };
    this.#warnRestartOnly(previous, next);
    for (const subscriber of this.#subscribers) {
      const verdict = (await subscriber.check?.(next)) ?? { ok: true };
      if (!verdict.ok) {
        // fs.watch and the poll may both report one edit: say it once.
        if (verdict.reason !== this.#lastText) this.#logger.error({ file: previous.file, refusedBy: subscriber.name }, `config reload refused, keeping the live config: ${verdict.reason}`);
        this.#lastText = verdict.reason;
        this.#refused = true;
        return verdict;
      }
    }
    this.#lastText = '';
    this.#refused = false;
    this.#config = next;
    const refusals: string[] = [];
    for (const subscriber of this.#subscribers) {
      const outcome = await subscriber.apply(next, previous).catch((err: unknown) => ({ ok: false as const, reason: String((err as Error)?.message ?? err) }));
      if (!outcome.ok) refusals.push(`${subscriber.name}: ${outcome.reason}`);
    }
    if (refusals.length > 0) {
      this.#logger.error({ file: next.file, refusals }, 'config reloaded, but some parts kept their previous state');
      return { ok: false, reason: refusals.join('; ') };
    }
    this.#logger.info({ file: next.file, targets: next.targets.map((t) => t.name) }, 'config reloaded');
    return { ok: true };
  }

  #warnRestartOnly(previous: SluiceConfig, next: SluiceConfig): void {
    const changed: string[] = [];
    const differs = (a: unknown, b: unknown) => JSON.stringify(a) !== JSON.stringify(b);
    for (const key of RESTART_ONLY) if (differs(previous[key], next[key])) changed.push(key);
    for (const key of RESTART_ONLY_EXT_PROC) if (differs(previous.extProc[key], next.extProc[key])) changed.push(`extProc.${key}`);
    for (const key of RESTART_ONLY_ENVOY) if (differs(previous.envoy[key], next.envoy[key])) changed.push(`envoy.${key}`);
    if (changed.length > 0) this.#logger.warn({ sections: changed }, 'these config changes take effect on the next restart');
  }
}
