import path from 'node:path';
import type { SluiceConfig } from '../common/config.ts';
import type { Logger } from '../common/logger.ts';
import { SluiceError } from '../common/errors.ts';
import type { SecretStore } from './secrets/types.ts';
import { retentionMs, startRetention, type Retention } from './sessions/retention.ts';
import { FileSessionStore, PostgresSessionStore, RecordingQueue, type SessionStore } from './sessions/index.ts';

/** The chain key named by extProc.sessions.chainKeySecret, read once (a new key needs a new partition: a restart). */
function sessionChainKey(name: string, secrets: SecretStore | undefined): Buffer | undefined {
  if (name === '') return undefined;
  const value = secrets?.get(name);
  if (value === undefined) throw new SluiceError('ERR_CONFIG_INVALID', `extProc.sessions.chainKeySecret: secret "${name}" is in no secret store`);
  const key = Buffer.from(value, 'utf8');
  if (key.byteLength < 16) throw new SluiceError('ERR_CONFIG_INVALID', `extProc.sessions.chainKeySecret: secret "${name}" must be at least 16 bytes`);
  return key;
}

export interface Recording {
  queue: RecordingQueue;
  /** For reads (the sessions API, readiness); writes go through the queue. */
  store: SessionStore;
  maxBodyBytes: number;
  /** extProc.sessions.retention's purger, when set. */
  retention?: Retention;
  /** How long the answer that completes an exchange waits for its record to be stored (0: no wait). */
  storedWithinMs: number;
  close(): Promise<void>;
}

/**
 * onFull: deny puts audit completeness first, so the last bytes of an exchange reach the caller
 * only once its record is stored (a killed ext-proc loses no record of an answer a caller got).
 * The wait is bounded well below Envoy's 1 s ext_proc message timeout: a store that does not
 * answer in time (down, disk full) leaves the record in the bounded queue, as before, rather than
 * failing every exchange. Measured by npm run faults: ext-proc SIGKILL under load lost records
 * of completed answers without the wait, none with it.
 */
const STORED_WITHIN_MS = 250;

/**
 * Opens the session store sluice.yaml names (append-only files by default, or PostgreSQL) behind
 * a bounded write queue, so a slow store never stalls the data path beyond the bound.
 */
export async function startRecording(config: SluiceConfig, logger: Logger, secrets?: SecretStore): Promise<Recording | undefined> {
  const settings = config.extProc.sessions;
  if (settings.store === 'off') {
    logger.warn('session recording is off (extProc.sessions.store: off)');
    return undefined;
  }
  const chainKey = sessionChainKey(settings.chainKeySecret, secrets);
  const keyed = chainKey === undefined ? {} : { chainKey };
  const store: FileSessionStore | PostgresSessionStore = settings.store === 'postgres'
    ? await PostgresSessionStore.connect({ connectionString: settings.databaseUrl, logger, maxBodyBytes: settings.maxBodyBytes, ...keyed })
    : await FileSessionStore.open({ dir: path.resolve(config.baseDir, settings.dir), logger, maxBodyBytes: settings.maxBodyBytes, ...keyed });
  const queue = new RecordingQueue(store, { maxRecords: settings.maxQueuedRecords, onFull: settings.onFull, logger });
  const retention = settings.retention === '' ? undefined : startRetention({ store, keepMs: retentionMs(settings.retention), logger });
  logger.info({ store: settings.store, onFull: settings.onFull, retention: settings.retention || 'off' }, 'session recording on');
  return {
    queue,
    store,
    maxBodyBytes: settings.maxBodyBytes,
    ...(retention === undefined ? {} : { retention }),
    storedWithinMs: settings.onFull === 'deny' ? STORED_WITHIN_MS : 0,
    close: async () => {
      await retention?.stop();
      await queue.close(AbortSignal.timeout(5000));
      await store.close();
    },
  };
}
