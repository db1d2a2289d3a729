import path from 'node:path';
import type { SluiceConfig } from '../../common/config.ts';
import type { Logger } from '../../common/logger.ts';
import { ChainSecretStore } from '../../ext-proc/secrets/chain-secret-store.ts';
import { EnvSecretStore } from '../../ext-proc/secrets/env-secret-store.ts';
import { FileSecretStore } from '../../ext-proc/secrets/file-secret-store.ts';

export interface GatewaySecrets {
  store: ChainSecretStore;
  /** Called after each reload of the secrets file that loaded (a rotation); a no-op without a file. */
  onChange(listener: () => void): () => void;
  close(): Promise<void>;
}

/**
 * The same secret stores ext-proc reads (the watched secrets file, then SLUICE_SECRET_*), opened
 * where Envoy's config is generated: a redis target's upstream password is Envoy's to present,
 * so a rotation has to reach the generator too.
 */
export async function openGatewaySecrets(config: SluiceConfig, logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<GatewaySecrets> {
  const file = config.extProc.secretsFile ? await FileSecretStore.open(path.resolve(config.baseDir, config.extProc.secretsFile), { logger }) : undefined;
  const store = new ChainSecretStore([...(file ? [file] : []), new EnvSecretStore(env)]);
  return {
    store,
    onChange: (listener) => file?.onReload((ok) => ok && listener()) ?? (() => undefined),
    close: () => store.close(),
  };
}
