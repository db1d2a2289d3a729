import { Registry } from 'prom-client';
import { CounterFamily, GaugeFamily, NONE, type CounterCell, type GaugeCell } from '../common/metrics/index.ts';
import type { CallerErrorCode } from '../common/error-codes.ts';
import type { MaskingReport } from './masking/types.ts';
import type { RecordingQueueStats } from './sessions/index.ts';

/**
 * Every metric ext-proc records, made in one place so /metrics and the dashboard test read one
 * list. Labels carry only config names (targets, masking profiles and their entries), a
 * protocol, a direction, a stable error code or a fixed outcome word: never a secret, a token, a
 * path, a session id or an error message.
 */
export interface ExtProcMetrics {
  /** Per-exchange recording, bound once per service and shared by every stream. */
  readonly exchanges: ExchangeMetrics;
  readonly secretReloads: CounterFamily<readonly ['outcome']>;
  readonly oauth2Mints: CounterFamily<readonly ['target', 'outcome']>;
  /** Sets where the session families read the recording queue's figures at scrape time. */
  watchRecordingQueue(stats: () => RecordingQueueStats): void;
}

export type Direction = 'request' | 'response';

/**
 * ext-proc's metrics on `registry`. Without one they are kept on a registry nobody scrapes (a
 * service or component built without metrics, as in most tests).
 */
export function extProcMetrics(registry: Registry = new Registry()): ExtProcMetrics {
  let queue: (() => RecordingQueueStats) | undefined;
  const queueGauge = (name: string, help: string, read: (s: RecordingQueueStats) => number) => new GaugeFamily(registry, {
    name, help, labelNames: [] as const,
    collect: (family) => {
      if (queue) family.cell().set(read(queue()));
    },
  });
  queueGauge('sluice_session_queue_depth', 'Session records waiting to be written or being written.', (s) => s.queued);
  queueGauge('sluice_session_queue_bytes', 'Estimated bytes the session recording queue holds.', (s) => s.bytes);
  new CounterFamily(registry, {
    name: 'sluice_session_records_total',
    help: 'Session records by outcome: written to the store, dropped (queue full or closed), rejected by the store for good.',
    labelNames: ['outcome'] as const,
    // The queue already counts these; the counters follow its totals at each scrape.
    collect: (family) => {
      if (!queue) return;
      const s = queue();
      for (const [outcome, total] of [['written', s.written], ['dropped', s.dropped], ['rejected', s.rejected]] as const) {
        const cell = family.cell(outcome);
        cell.inc(total - cell.value);
      }
    },
  });
  new CounterFamily(registry, {
    name: 'sluice_session_write_retries_total',
    help: 'Session record writes that failed because the store was unavailable and were retried.',
    labelNames: [] as const,
    collect: (family) => {
      if (!queue) return;
      const cell = family.cell();
      cell.inc(queue().failedWrites - cell.value);
    },
  });
  return {
    exchanges: new ExchangeMetrics(registry),
    secretReloads: new CounterFamily(registry, {
      name: 'sluice_secrets_reloads_total',
      help: 'Reloads of the watched secrets file, by outcome (ok, rejected: the previous secrets stay live).',
      labelNames: ['outcome'] as const,
    }),
    oauth2Mints: new CounterFamily(registry, {
      name: 'sluice_oauth2_mints_total',
      help: 'OAuth2 client-credentials token requests, by target and outcome (ok, or the error code).',
      labelNames: ['target', 'outcome'] as const,
    }),
    watchRecordingQueue: (stats) => {
      queue = stats;
    },
  };
}

/**
 * What the ext_proc streams record: streams started and active per protocol, refusals by code,
 * and per body what masking read and replaced. Shared by every stream of a server.
 */
export class ExchangeMetrics {
  readonly #streams: CounterFamily<readonly ['protocol']>;
  readonly #active: GaugeFamily<readonly ['protocol']>;
  readonly #refusals: CounterFamily<readonly ['code']>;
  readonly #bytes: CounterFamily<readonly ['profile', 'direction']>;
  readonly #matches: CounterFamily<readonly ['profile', 'recognizer']>;

  constructor(registry: Registry) {
    this.#streams = new CounterFamily(registry, {
      name: 'sluice_extproc_streams_total',
      help: 'ext_proc streams Envoy opened, by protocol: one per exchange, denied ones included (their local reply passes ext_proc too).',
      labelNames: ['protocol'] as const,
    });
    this.#active = new GaugeFamily(registry, {
      name: 'sluice_extproc_active_streams',
      help: 'ext_proc streams open now, by protocol.',
      labelNames: ['protocol'] as const,
    });
    this.#refusals = new CounterFamily(registry, {
      name: 'sluice_extproc_refusals_total',
      help: 'Exchanges ext-proc answered itself instead of the upstream, by error code.',
      labelNames: ['code'] as const,
    });
    this.#bytes = new CounterFamily(registry, {
      name: 'sluice_masking_bytes_total',
      help: 'Body bytes read by a masking profile on their way to the peer (decoded size), by profile and direction.',
      labelNames: ['profile', 'direction'] as const,
    });
    this.#matches = new CounterFamily(registry, {
      name: 'sluice_masking_matches_total',
      help: 'Values masked in bodies on their way to the peer, by profile ("none": only the injected-credential scrub) and recognizer or pattern name ("sluice:credential": echoes of the injected credential).',
      labelNames: ['profile', 'recognizer'] as const,
    });
  }

  /** The started counter and active gauge of one protocol, bound once per processor kind. */
  streamCells(protocol: string): { started: CounterCell; active: GaugeCell } {
    return { started: this.#streams.cell(protocol), active: this.#active.cell(protocol) };
  }

  refused(code: CallerErrorCode): void {
    this.#refusals.cell(code).inc();
  }

  /**
   * One finished (or cut) body. Only masking that reached the peer counts: a record's masked copy
   * of a body the peer got as it was is the record's business, not the data path's.
   */
  masked(profile: string | undefined, direction: Direction, bytes: number, masking: { masked: MaskingReport; delivered: boolean } | undefined): void {
    const name = profile ?? NONE;
    if (bytes > 0) this.#bytes.cell(name, direction).inc(bytes);
    if (!masking?.delivered) return;
    for (const entry in masking.masked) this.#matches.cell(name, entry).inc(masking.masked[entry]);
  }
}
