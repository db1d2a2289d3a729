import { readFile, stat } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument, isMap, isScalar } from 'yaml';
import { SluiceError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import type { SecretStore } from './types.ts';

const NAME = /^[a-z0-9][a-z0-9._-]*$/;

/** One line item of the reload log. Field names avoid `secret`, which the logger censors. */
export interface SecretChange {
  name: string;
  change: 'added' | 'changed' | 'removed';
  version?: string;
  previousVersion?: string;
}

export interface FileSecretStoreOptions {
  logger: Logger;
  /** Fallback poll for editors and mounts (Kubernetes secrets) that fs.watch misses. */
  pollIntervalMs?: number;
  debounceMs?: number;
}

/**
 * Secrets from a YAML file (`secrets: { name: value }`), watched: an edited file is re-read and
 * swapped in atomically, so a rotated secret is used by the next request with no restart. A file
 * with a mistake is reported (file, line, column — never the text, which may hold a secret) and
 * the last good secrets stay live.
 */
export class FileSecretStore implements SecretStore {
  private secrets: ReadonlyMap<string, string> = new Map();
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private lastSeen = '';
  private readonly listeners = new Set<(ok: boolean) => void>();
  private versionOf: ((value: string) => string) | undefined;

  private constructor(private readonly file: string, private readonly options: FileSecretStoreOptions) {}

  /** Reads the file once (failing if it is broken: never start on bad secrets), then watches it. */
  static async open(file: string, options: FileSecretStoreOptions): Promise<FileSecretStore> {
    const store = new FileSecretStore(path.resolve(file), options);
    store.secrets = await store.read();
    store.lastSeen = await store.fingerprint();
    store.watch();
    return store;
  }

  get(name: string): string | undefined {
    return this.secrets.get(name);
  }

  /** Number of secrets currently loaded (never their names' values). */
  get size(): number {
    return this.secrets.size;
  }

  /**
   * From now on, each reload logs every added, changed and removed secret with its version
   * (`SecretVersions.of`), so a rotation shows in the audit trail. Set after open because the
   * version key may itself be a secret in this file. Never logs a value.
   */
  reportVersions(versionOf: (value: string) => string): void {
    this.versionOf = versionOf;
  }

  /** Called after each reload attempt; for tests and metrics. */
  onReload(listener: (ok: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async reload(): Promise<boolean> {
    try {
      const previous = this.secrets;
      this.secrets = await this.read();
      this.options.logger.info({ file: this.file, secrets: this.secrets.size, changes: this.changes(previous, this.secrets) }, 'secrets reloaded');
      this.emit(true);
      return true;
    } catch (err) {
      const details = err instanceof SluiceError ? err.details : {};
      this.options.logger.error({ file: this.file, code: (err as SluiceError).code, ...details }, `secrets file rejected; keeping the previous secrets: ${(err as Error).message}`);
      this.emit(false);
      return false;
    }
  }

  async close(): Promise<void> {
    this.watcher?.close();
    clearInterval(this.poll);
    clearTimeout(this.debounce);
  }

  /** Names (and, once reportVersions was called, versions) of what a reload changed; no values. */
  private changes(previous: ReadonlyMap<string, string>, next: ReadonlyMap<string, string>): SecretChange[] {
    const version = this.versionOf;
    const out: SecretChange[] = [];
    for (const [name, value] of next) {
      const before = previous.get(name);
      if (before === value) continue;
      const change: SecretChange = { name, change: before === undefined ? 'added' : 'changed' };
      if (version) {
        change.version = version(value);
        if (before !== undefined) change.previousVersion = version(before);
      }
      out.push(change);
    }
    for (const [name, before] of previous) {
      if (next.has(name)) continue;
      out.push(version ? { name, change: 'removed', previousVersion: version(before) } : { name, change: 'removed' });
    }
    return out;
  }

  private emit(ok: boolean): void {
    for (const listener of this.listeners) listener(ok);
  }

  private watch(): void {
    const schedule = () => {
      clearTimeout(this.debounce);
      this.debounce = setTimeout(() => void this.checkForChange(), this.options.debounceMs ?? 100);
    };
    try {
      // Watch the folder, not the file: editors and secret mounts replace files by rename.
      this.watcher = watch(path.dirname(this.file), (_event, name) => {
        if (name === null || name === path.basename(this.file) || name.startsWith('..')) schedule();
      });
      this.watcher.on('error', () => undefined);
    } catch {
      // No inotify here: the poll below still picks changes up.
    }
    this.poll = setInterval(() => void this.checkForChange(), this.options.pollIntervalMs ?? 1000);
    this.poll.unref();
  }

  private async checkForChange(): Promise<void> {
    const seen = await this.fingerprint();
    if (seen === this.lastSeen) return;
    this.lastSeen = seen;
    await this.reload();
  }

  private async fingerprint(): Promise<string> {
    try {
      const s = await stat(this.file);
      return `${s.mtimeMs}:${s.size}:${s.ino}`;
    } catch {
      return 'missing';
    }
  }

  private async read(): Promise<ReadonlyMap<string, string>> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      throw new SluiceError('ERR_SECRETS_INVALID', `${this.file}: cannot read the secrets file`, { cause: err, details: { reason: (err as NodeJS.ErrnoException).code } });
    }
    return parseSecrets(text, this.file);
  }
}

/**
 * Parses `secrets: { name: value }`. Errors carry file, line and column and the YAML error code,
 * but never the parser's message, which quotes the offending source line (possibly a secret).
 */
export function parseSecrets(text: string, file: string): ReadonlyMap<string, string> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const fail = (offset: number, what: string, code = 'ERR_SECRETS_INVALID'): never => {
    const { line, col } = lines.linePos(offset);
    throw new SluiceError(code, `${file}:${line}:${col}: ${what}`, { details: { line, column: col } });
  };
  const syntax = doc.errors[0];
  if (syntax) fail(syntax.pos[0], `YAML syntax error (${syntax.code})`);
  const root = doc.toJS() as unknown;
  if (root === null || typeof root !== 'object' || Array.isArray(root)) fail(0, 'expected a mapping with a `secrets:` key');
  const keys = Object.keys(root as object);
  const unknown = keys.find((k) => k !== 'secrets');
  if (unknown) fail(0, `unknown top-level key "${unknown}" (only "secrets" is allowed)`);
  const secrets = (root as { secrets?: unknown }).secrets ?? {};
  if (typeof secrets !== 'object' || secrets === null || Array.isArray(secrets)) fail(0, '`secrets` must be a mapping of name: value');
  const out = new Map<string, string>();
  for (const [name, value] of Object.entries(secrets as Record<string, unknown>)) {
    const at = keyOffset(doc.get('secrets', true), name);
    if (!NAME.test(name)) fail(at, `secret name "${name}" must be lower-case letters, digits, ".", "_" or "-"`);
    if (typeof value !== 'string' || value === '') fail(at, `secret "${name}" must be a non-empty string`);
    out.set(name, value as string);
  }
  return out;
}

/** Where a key of the `secrets` mapping starts, so errors point at the name (not the value). */
function keyOffset(map: unknown, name: string): number {
  if (!isMap(map)) return 0;
  for (const pair of map.items) {
    if (isScalar(pair.key) && pair.key.value === name) return pair.key.range?.[0] ?? 0;
  }
  return 0;
}
