import path from 'node:path';
import type { SluiceConfig } from '../common/config.ts';
import type { Logger } from '../common/logger.ts';
import { compileCredentials } from './credentials.ts';
import { ChainSecretStore } from './secrets/chain-secret-store.ts';
import { EnvSecretStore } from './secrets/env-secret-store.ts';
import { FileSecretStore } from './secrets/file-secret-store.ts';
import type { SecretStore } from './secrets/types.ts';
import type { RecordingQueue } from './sessions/index.ts';
import { startExtProcServer } from './server.ts';
import { compileMaskingPlans } from './masking-plans.ts';
import { startRecording } from './recording-setup.ts';

export interface ExtProcService {
  port: number;
  secrets: SecretStore;
  /** The watched secrets file, when one is configured. */
  secretsFile: FileSecretStore | undefined;
  /** The session recording queue, unless recording is off. */
  recordingQueue: RecordingQueue | undefined;
  /** Stops; in-flight exchanges get `graceMs` to finish (0 = cut them now, as a crash would). */
  close(graceMs?: number): Promise<void>;
}

/** Wires config → secret stores (watched file, then environment) + credential plans → gRPC server. */
export async function startExtProcService(config: SluiceConfig, options: { logger: Logger; port?: number; env?: NodeJS.ProcessEnv }): Promise<ExtProcService> {
  const file = config.extProc.secretsFile
    ? await FileSecretStore.open(path.resolve(config.baseDir, config.extProc.secretsFile), { logger: options.logger })
    : undefined;
  const secrets = new ChainSecretStore([...(file ? [file] : []), new EnvSecretStore(options.env)]);
  const credentials = compileCredentials(config.extProc.credentials, secrets);
  const masking = compileMaskingPlans(config.extProc.masking, secrets);
  const recording = await startRecording(config, options.logger);
  const server = await startExtProcServer({
    credentials,
    masking,
    ...(recording ? { recording: { queue: recording.queue, maxBodyBytes: recording.maxBodyBytes } } : {}),
    secrets,
    removeRequestHeaders: config.extProc.removeRequestHeaders,
    logger: options.logger,
    host: config.extProc.host,
    port: options.port ?? config.extProc.port,
  });
  options.logger.info({ port: server.port, credentials: [...credentials.keys()], masking: { profiles: [...masking.profiles.keys()], targets: Object.fromEntries([...masking.byTarget].map(([t, p]) => [t, p.name])) } }, 'ext-proc listening');
  return {
    port: server.port,
    secrets,
    secretsFile: file,
    recordingQueue: recording?.queue,
    close: async (graceMs?: number) => {
      await server.close(graceMs);
      await recording?.close();
      await secrets.close();
    },
  };
}
