import path from 'node:path';
import type { SluiceConfig } from '../../common/config.ts';
import type { Logger } from '../../common/logger.ts';
import { EnvSecretStore } from '../../ext-proc/secrets/env-secret-store.ts';
import { FileSecretStore } from '../../ext-proc/secrets/file-secret-store.ts';
import type { SecretStore } from '../../ext-proc/secrets/types.ts';

/**
 * The same secret stores ext-proc reads (the watched secrets file, then SLUICE_SECRET_*), for the
 * process that generates Envoy's config: a redis target's upstream password is Envoy's to
 * present, so a rotation has to reach the generator too. The file is opened the first time a
 * redis target needs a secret (`open`), so rendering a config without redis targets never
 * reads it.
 */
export class GatewaySecrets implements SecretStore {
  #file: FileSecretStore | undefined;
  #opening: Promise<void> | undefined;
  readonly #env: EnvSecretStore;
  readonly #listeners = new Set<() => void>();

  constructor(private readonly config: SluiceConfig, private readonly logger: Logger, env: NodeJS.ProcessEnv = process.env) {
    this.#env = new EnvSecretStore(env);
  }

  /** Opens (once) and watches the secrets file, when the config names one. */
  open(): Promise<void> {
    this.#opening ??= (async () => {
      if (!this.config.extProc.secretsFile) return;
      this.#file = await FileSecretStore.open(path.resolve(this.config.baseDir, this.config.extProc.secretsFile), { logger: this.logger });
      this.#file.onReload((ok) => {
        if (ok) for (const listener of this.#listeners) listener();
      });
    })();
    this.#opening.catch(() => { this.#opening = undefined; });
    return this.#opening;
  }

  get(name: string): string | undefined {
    return this.#file?.get(name) ?? this.#env.get(name);
  }

  /** Called after each reload of the secrets file that loaded (a rotation). */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    await this.#opening?.catch(() => undefined);
    await this.#file?.close();
  }
}

/** Kept for callers that want the stores opened at once. */
export function openGatewaySecrets(config: SluiceConfig, logger: Logger, env?: NodeJS.ProcessEnv): GatewaySecrets {
  return new GatewaySecrets(config, logger, env);
}
