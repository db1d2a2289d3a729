import type { MetricFamily } from './service-client.ts';

export interface DecisionSample {
  at: number;
  /** target → [allowed, denied] since the process started (the counter's value). */
  totals: Map<string, [number, number]>;
}

export interface DecisionBucket {
  at: number;
  allowed: number;
  denied: number;
}

/**
 * Decisions per target over time, from ext-authz's own `sluice_authz_decisions_total` counter:
 * the counter is read every `intervalMs` and the differences kept for the last `keep` intervals.
 * Nothing is stored per request, so the picture costs a few numbers per target, whatever the
 * traffic; it starts empty when the process starts (Prometheus keeps the long history).
 */
export class DecisionHistory {
  readonly #samples: DecisionSample[] = [];
  readonly #keep: number;

  constructor(private readonly read: () => Promise<MetricFamily[]>, options: { keep?: number } = {}) {
    this.#keep = (options.keep ?? 30) + 1;
  }

  async sample(at: number): Promise<void> {
    const family = (await this.read()).find((f) => f.name === 'sluice_authz_decisions_total');
    const totals = new Map<string, [number, number]>();
    for (const { labels, value } of family?.values ?? []) {
      const target = String(labels.target ?? 'none');
      const pair = totals.get(target) ?? [0, 0];
      pair[labels.effect === 'allow' ? 0 : 1] += value;
      totals.set(target, pair);
    }
    this.#samples.push({ at, totals });
    while (this.#samples.length > this.#keep) this.#samples.shift();
  }

  /** Per target, one bucket per interval, oldest first; the last bucket runs up to `now` when a live sample is given. */
  buckets(live?: DecisionSample): Map<string, DecisionBucket[]> {
    const samples = live ? [...this.#samples, live] : this.#samples;
    const out = new Map<string, DecisionBucket[]>();
    const targets = new Set(samples.flatMap((s) => [...s.totals.keys()]));
    for (const target of targets) {
      const buckets: DecisionBucket[] = [];
      for (let i = 1; i < samples.length; i++) {
        const before = samples[i - 1]!.totals.get(target) ?? [0, 0];
        const after = samples[i]!.totals.get(target) ?? [0, 0];
        // A counter that went down was reset (a restarted child): count from zero.
        const delta = (a: number, b: number) => (b >= a ? b - a : b);
        buckets.push({ at: samples[i]!.at, allowed: delta(before[0], after[0]), denied: delta(before[1], after[1]) });
      }
      out.set(target, buckets);
    }
    return out;
  }
}

/** Denials by code, from the same counter (the `code` label of every non-allow decision). */
export function denialsByCode(families: MetricFamily[]): { label: string; value: number }[] {
  return sumBy(families, 'sluice_authz_decisions_total', 'code', (labels) => labels.effect !== 'allow');
}

/** Masked values by recognizer, from ext-proc's `sluice_masking_matches_total`. */
export function maskingByRecognizer(families: MetricFamily[]): { label: string; value: number }[] {
  return sumBy(families, 'sluice_masking_matches_total', 'recognizer', () => true);
}

function sumBy(families: MetricFamily[], name: string, label: string, keep: (labels: Record<string, string | number>) => boolean): { label: string; value: number }[] {
  const sums = new Map<string, number>();
  for (const { labels, value } of families.find((f) => f.name === name)?.values ?? []) {
    if (!keep(labels) || value === 0) continue;
    const key = String(labels[label] ?? 'none');
    sums.set(key, (sums.get(key) ?? 0) + value);
  }
  return [...sums].map(([l, value]) => ({ label: l, value })).sort((a, b) => b.value - a.value || (a.label < b.label ? -1 : 1));
}
