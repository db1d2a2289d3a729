import { AggregatorRegistry, type Registry } from 'prom-client';

/** What `registry.getMetricsAsJSON()` gives (and `GET /metrics?format=json` serves): one entry per family. */
export type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/**
 * One Prometheus text page from several services' JSON metrics (a supervisor's children), each
 * family printed once with one HELP and TYPE.
 *
 * Built on prom-client's AggregatorRegistry.aggregate, which groups samples by family, then by
 * sample name and labels. The JSON carries each registry's default labels, so samples of
 * different services never group together and all survive as they are; only samples with equal
 * labels (two children claiming the same service) are combined, by the family's aggregator (sum
 * for Sluice's and most of prom-client's). One exception: aggregate drops families whose
 * aggregator is `omit` (process_start_time_seconds), which is right for cluster workers with no
 * label to tell them apart, but here each sample already has its service, so such families are
 * kept (`first` for equal labels).
 */
export async function mergeMetrics(parts: readonly MetricsJson[]): Promise<string> {
  const kept = parts.map((part) => part.map((family) => (family.aggregator === 'omit' ? { ...family, aggregator: 'first' as const } : family)));
  return AggregatorRegistry.aggregate(kept).metrics();
}
