import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { SluiceConfig } from '../common/config.ts';
import type { Logger } from '../common/logger.ts';
import { describeError, SluiceError } from '../common/errors.ts';
import type { SecretStore } from './secrets/types.ts';
import { retentionMs, startRetention, type Retention } from './sessions/retention.ts';
import { FileSessionStore, PostgresSessionStore, RecordingQueue, type SessionStore } from './sessions/index.ts';
import { OpenJournal } from './sessions/open-journal.ts';
import { interruptedRecord } from './sessions/interrupted-record.ts';

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
  /** The open-exchange journal of this instance (see recoverInterrupted). */
  journal: OpenJournal;
  close(): Promise<void>;
}

/**
 * Which ext-proc instance the journal file belongs to: the replica id when one is set, else the
 * gRPC port (two replicas on one host never share a port). Port 0 (tests) has no stable identity,
 * so its journal is this process's own and only a crash test that names a replica can recover it.
 */
export function journalInstance(replicaId: string | undefined, port: number): string {
  if (replicaId !== undefined && replicaId !== '') return `replica-${replicaId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 48)}`;
  if (port > 0) return `port-${port}`;
  return `ephemeral-${process.pid}-${++ephemeralCount}`;
}
let ephemeralCount = 0;

/**
 * Records, as `incomplete`, every exchange a previous process of this instance journaled as open
 * and never closed (it was killed mid-exchange). Runs before ext-proc serves. The records go
 * through the queue, which retries while the store is down (a start never waits on the store),
 * and stay open in this process's journal until they are out: a second crash before that finds
 * them again. A store that already has the real record keeps it (append is idempotent on the id).
 */
export function recoverInterrupted(journal: OpenJournal, queue: RecordingQueue, logger: Logger): number {
  const left = journal.recover();
  // Carried into this process's journal first, so the fresh file (renamed over the old one) still holds them.
  for (const open of left) journal.carry(open);
  journal.clear();
  for (const open of left) {
    const fields = { session_id: open.id, request_id: open.requestId, target: open.target, status: open.status };
    try {
      if (!queue.offer(interruptedRecord(open), () => journal.closedOne(open.id))) journal.closedOne(open.id);
      else logger.warn(fields, 'recording an exchange the previous ext-proc process was killed in (outcome incomplete, ERR_RECORDING_INTERRUPTED)');
    } catch (err) {
      // A journal line that makes no valid record (edited, damaged) is logged and left, not retried for ever.
      logger.error({ ...fields, err: describeError(err) }, 'the open-exchange journal names an exchange that makes no valid record; skipped');
      journal.closedOne(open.id);
    }
  }
  return left.length;
}

/**
 * onFull: deny puts audit completeness first, so the last bytes of an exchange reach the caller
 * only once its record has left this process (written to the OS by the file store, committed by
 * PostgreSQL): a killed ext-proc loses no record of an answer a caller got. The fsync of the
 * group commit is not waited for (p50 0.6 ms instead of 9 ms, measured offer to release on the
 * file store): a machine crash may still lose the last few milliseconds of records.
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
export async function startRecording(config: SluiceConfig, logger: Logger, secrets?: SecretStore, instance = journalInstance(undefined, config.extProc.port)): Promise<Recording | undefined> {
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
  let journal: OpenJournal;
  try {
    journal = OpenJournal.open({ dir: path.resolve(config.baseDir, settings.journalDir), instance, logger });
  } catch (err) {
    await store.close();
    throw err;
  }
  const ephemeral = instance.startsWith('ephemeral-');
  const queue = new RecordingQueue(store, { maxRecords: settings.maxQueuedRecords, onFull: settings.onFull, logger });
  recoverInterrupted(journal, queue, logger);
  const retention = settings.retention === '' ? undefined : startRetention({ store, keepMs: retentionMs(settings.retention), logger });
  logger.info({ store: settings.store, onFull: settings.onFull, retention: settings.retention || 'off' }, 'session recording on');
  return {
    queue,
    store,
    maxBodyBytes: settings.maxBodyBytes,
    ...(retention === undefined ? {} : { retention }),
    storedWithinMs: settings.onFull === 'deny' ? STORED_WITHIN_MS : 0,
    journal,
    close: async () => {
      await retention?.stop();
      await queue.close(AbortSignal.timeout(5000));
      journal.close();
      // No later process can recover an ephemeral instance's journal: it goes with it.
      if (ephemeral) await rm(journal.file, { force: true });
      await store.close();
    },
  };
}
