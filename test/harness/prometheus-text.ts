import parsePrometheusTextFormat, { type PrometheusFamily } from 'parse-prometheus-text-format';
import type { Registry } from 'prom-client';

export type { PrometheusFamily, PrometheusSample } from 'parse-prometheus-text-format';

/**
 * Reads a /metrics page as Prometheus would, with an independent parser (not prom-client's own
 * code), so a page that only prom-client could read fails the tests. One limit of this parser
 * (1.1.1): a histogram's labelled series are folded into one sample without their labels, count
 * or sum, so histogram values are read from the text with histogramSample instead.
 */
export function parsePrometheus(text: string): PrometheusFamily[] {
  return parsePrometheusTextFormat(text);
}

/** A registry's page as a scrape would see it, without the HTTP hop (unit tests). */
export async function readRegistry(registry: Registry): Promise<PrometheusFamily[]> {
  return parsePrometheus(await registry.metrics());
}

/** GETs a Prometheus text page and parses it; throws on a non-200 answer. */
export async function scrape(url: string): Promise<{ text: string; families: PrometheusFamily[]; contentType: string | null }> {
  const res = await fetch(url);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${text.slice(0, 200)}`);
  return { text, families: parsePrometheus(text), contentType: res.headers.get('content-type') };
}

/** The family of that name; throws naming what there is when it is missing. */
export function family(families: readonly PrometheusFamily[], name: string): PrometheusFamily {
  const found = families.find((f) => f.name === name);
  if (!found) throw new Error(`no metric family ${name}; have ${families.map((f) => f.name).filter((n) => n.startsWith('sluice_')).join(', ')}`);
  return found;
}

/** The value of the sample whose labels include `labels`, summed over matching samples; 0 when none. */
export function sampleValue(families: readonly PrometheusFamily[], name: string, labels: Record<string, string> = {}): number {
  const found = families.find((f) => f.name === name);
  if (!found) return 0;
  if (found.type === 'HISTOGRAM') throw new Error(`${name} is a histogram: read it with histogramSample`);
  return found.metrics
    .filter((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v))
    .reduce((sum, s) => sum + Number(s.value ?? s.count ?? 0), 0);
}

/** Every label value and sample value on a page, for "nothing secret in here" checks. */
export function everyString(families: readonly PrometheusFamily[]): string[] {
  const out: string[] = [];
  for (const f of families) {
    out.push(f.name, f.help);
    for (const s of f.metrics) {
      out.push(...Object.keys(s.labels ?? {}), ...Object.values(s.labels ?? {}));
      for (const v of [s.value, s.count, s.sum]) if (v !== undefined) out.push(v);
    }
  }
  return out;
}

/**
 * A histogram series read from the page text: its `_count`, `_sum` and cumulative buckets, summed
 * over the series whose labels include `labels` (label values here never need escapes).
 */
export function histogramSample(text: string, name: string, labels: Record<string, string> = {}): { count: number; sum: number; buckets: Record<string, number> } {
  const out = { count: 0, sum: 0, buckets: {} as Record<string, number> };
  const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
  for (const raw of text.split('\n')) {
    const m = line.exec(raw);
    if (!m) continue;
    const [, sampleName, labelText = '', value] = m;
    const set = Object.fromEntries([...labelText.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    if (!Object.entries(labels).every(([k, v]) => set[k] === v)) continue;
    if (sampleName === `${name}_count`) out.count += Number(value);
    else if (sampleName === `${name}_sum`) out.sum += Number(value);
    else if (sampleName === `${name}_bucket`) out.buckets[set.le!] = (out.buckets[set.le!] ?? 0) + Number(value);
  }
  return out;
}
