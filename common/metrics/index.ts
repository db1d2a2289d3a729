export { registerMetricsRoute } from './admin-route.ts';
export { CounterCell, CounterFamily, GaugeCell, GaugeFamily, HistogramCell, HistogramFamily, type FamilySpec, type LabelValues } from './families.ts';
export { OVERFLOW } from './label-cells.ts';
export { mergeMetrics, type MetricsJson } from './merge.ts';
export { createServiceRegistry, type ServiceName } from './registry.ts';
export { NONE } from './label-values.ts';
