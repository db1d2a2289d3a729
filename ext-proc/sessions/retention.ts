import { describeError, isSluiceError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import type { PurgeOptions, PurgeReport } from './purge.ts';

/**
 * extProc.sessions.retention: the writer purges its own store now and then, so the file store
 * (whose purge needs the writer's lock) keeps a bounded history without stopping ext-proc, and
 * PostgreSQL needs no cron job. Each run is `purge({ before: now - keep })`, the same as
 * `sluice sessions purge`; several replicas purging one database at once take turns on each
 * partition's row and the later ones find nothing left to do.
 */

export interface RetentionOptions {
  store: { purge(options: PurgeOptions): Promise<PurgeReport> };
  /** How long records are kept (ms). */
  keepMs: number;
  /** Between runs; the first runs `firstMs` after start. Defaults 1 h and 1 min. */
  everyMs?: number;
  firstMs?: number;
  now?: () => number;
  logger: Logger;
}

export interface Retention {
  /** One purge now (what the timer runs); failures are logged, never thrown. */
  runOnce(): Promise<PurgeReport | undefined>;
  stop(): Promise<void>;
}

/** `90d`: whole days, at least one. */
export const RETENTION_PATTERN = '^[1-9][0-9]*d$';

export function retentionMs(text: string): number {
  if (!new RegExp(RETENTION_PATTERN).test(text)) throw new RangeError(`not a retention: ${text}`);
  return Number.parseInt(text, 10) * 86_400_000;
}

export function startRetention(options: RetentionOptions): Retention {
  const now = options.now ?? Date.now;
  let running: Promise<PurgeReport | undefined> | undefined;
  let stopped = false;
  const runOnce = (): Promise<PurgeReport | undefined> => {
    running ??= (async () => {
      const before = now() - options.keepMs;
      try {
        const report = await options.store.purge({ before });
        if (report.removed > 0) options.logger.info({ removed: report.removed, before: new Date(before).toISOString(), partitions: report.partitions.length }, 'session retention: purged old records');
        return report;
      } catch (err) {
        // A refused purge (records removed by hand) is evidence of tampering: an error, every run.
        const level = isSluiceError(err) && err.code === 'ERR_SESSION_STORE_CORRUPT' ? 'error' : 'warn';
        options.logger[level]({ err: describeError(err) }, 'session retention: purge failed; retried at the next run');
        return undefined;
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  let timer: NodeJS.Timeout | undefined;
  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      void runOnce().then(() => schedule(options.everyMs ?? 3_600_000));
    }, ms);
    timer.unref();
  };
  schedule(options.firstMs ?? 60_000);
  return {
    runOnce,
    stop: async () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await running;
    },
  };
}
