import { Registry } from 'prom-client';
import { CounterFamily, GaugeFamily, HistogramFamily, NONE, type CounterCell, type HistogramCell } from '../common/metrics/index.ts';
import type { CheckInput } from './check-input.ts';
import type { Verdict } from './verdict.ts';

/**
 * Every metric ext-authz records, made in one place so /metrics and the dashboard test read one
 * list. Labels carry only what config bounds (target and issuer names), the verdict's effect, a
 * stable error code, or a fixed outcome word: never a subject, path, request id, token or error
 * message.
 */
export interface ExtAuthzMetrics {
  readonly decisions: CounterFamily<readonly ['target', 'effect', 'code']>;
  readonly checkDuration: HistogramFamily<readonly ['effect']>;
  readonly tokenCacheHits: CounterCell;
  readonly tokenCacheMisses: CounterCell;
  readonly jwksFetches: CounterFamily<readonly ['issuer']>;
  readonly jwksFailures: CounterFamily<readonly ['issuer']>;
  readonly approvalsDecided: CounterFamily<readonly ['outcome']>;
  readonly approvalRelease: HistogramFamily<readonly ['outcome']>;
  /** Sets where the pending-approvals gauge reads its count at scrape time (the approval store). */
  countPendingWith(count: () => Promise<number>): void;
}

/** How a held request left its approval hold (the approval-release histogram's `outcome`). */
export type ReleaseOutcome = 'approved' | 'denied' | 'expired' | 'hold_ended' | 'caller_left';

/** Checks run in microseconds on a cached token; approve rules hold a request for up to minutes. */
const CHECK_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** An approver answers in seconds to minutes; holds are capped by the route's timeout. */
const RELEASE_BUCKETS = [0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600];
/** A scrape must not hang on a store that is down; the gauge then reads NaN (unknown). */
const PENDING_TIMEOUT_MS = 1000;

/**
 * ext-authz's metrics on `registry`. Without one they are kept on a registry nobody scrapes, so
 * components built without metrics (most tests) record as usual at the same cost.
 */
export function extAuthzMetrics(registry: Registry = new Registry()): ExtAuthzMetrics {
  let countPending: (() => Promise<number>) | undefined;
  new GaugeFamily(registry, {
    name: 'sluice_approvals_pending',
    help: 'Approval requests waiting for a decision, as the approval store counts them (with a Redis store every replica reports the same shared count: use max, not sum).',
    labelNames: [] as const,
    collect: async (family) => {
      if (countPending) family.cell().set(await withTimeout(countPending(), PENDING_TIMEOUT_MS).catch(() => Number.NaN));
    },
  });
  const tokenCache = (result: 'hits' | 'misses') => new CounterFamily(registry, {
    name: `sluice_token_cache_${result}_total`,
    help: `Bearer tokens ${result === 'hits' ? 'found in' : 'not found in'} the verified-token cache (a hit skips the signature check).`,
    labelNames: [] as const,
  }).cell();
  return {
    decisions: new CounterFamily(registry, {
      name: 'sluice_authz_decisions_total',
      help: 'Authorization decisions by target ("none" when the route named none), effect (allow, deny) and error code ("none" for an allow).',
      labelNames: ['target', 'effect', 'code'] as const,
    }),
    checkDuration: new HistogramFamily(registry, {
      name: 'sluice_authz_check_duration_seconds',
      help: 'Time to answer an ext_authz Check, by effect; includes any time a request was held for approval.',
      labelNames: ['effect'] as const,
      buckets: CHECK_BUCKETS,
    }),
    tokenCacheHits: tokenCache('hits'),
    tokenCacheMisses: tokenCache('misses'),
    jwksFetches: new CounterFamily(registry, {
      name: 'sluice_jwks_fetches_total',
      help: 'JWKS refreshes attempted (discovery included), by issuer name.',
      labelNames: ['issuer'] as const,
    }),
    jwksFailures: new CounterFamily(registry, {
      name: 'sluice_jwks_fetch_failures_total',
      help: 'JWKS refreshes that failed (the previous keys, if any, stay in use), by issuer name.',
      labelNames: ['issuer'] as const,
    }),
    approvalsDecided: new CounterFamily(registry, {
      name: 'sluice_approvals_decided_total',
      help: 'Approval requests decided by a vote through this replica, by outcome (approved, denied).',
      labelNames: ['outcome'] as const,
    }),
    approvalRelease: new HistogramFamily(registry, {
      name: 'sluice_approval_release_seconds',
      help: 'How long a held request waited before its approval hold released it, by outcome (approved, denied, expired, hold_ended, caller_left).',
      labelNames: ['outcome'] as const,
      buckets: RELEASE_BUCKETS,
    }),
    countPendingWith: (count) => {
      countPending = count;
    },
  };
}

/**
 * Records each decision at the server edge: the counter by target, effect and code, and the
 * latency. Cells are found by their label values with no string built per check.
 */
export class DecisionMetrics {
  readonly #decisions: ExtAuthzMetrics['decisions'];
  readonly #allow: HistogramCell;
  readonly #deny: HistogramCell;

  constructor(metrics: Pick<ExtAuthzMetrics, 'decisions' | 'checkDuration'>) {
    this.#decisions = metrics.decisions;
    this.#allow = metrics.checkDuration.cell('allow');
    this.#deny = metrics.checkDuration.cell('deny');
  }

  record(request: CheckInput, verdict: Verdict, latencyMs: number): void {
    // Target names come from the generated Envoy config, so they are bounded by sluice.yaml.
    const target = verdict.target ?? request.target ?? NONE;
    if (verdict.kind === 'allow') {
      this.#decisions.cell(target, 'allow', NONE).inc();
      this.#allow.observe(latencyMs / 1000);
    } else {
      this.#decisions.cell(target, 'deny', verdict.code).inc();
      this.#deny.observe(latencyMs / 1000);
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
