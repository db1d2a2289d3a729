import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The Grafana dashboard shipped for operators. */
export const DASHBOARD_FILE = fileURLToPath(new URL('../../deploy/grafana/sluice.json', import.meta.url));

interface Panel {
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { expr: string; datasource?: { type: string; uid: string } }[];
  panels?: Panel[];
}

export interface Dashboard {
  schemaVersion: number;
  templating: { list: { name: string; type: string; query: unknown }[] };
  panels: Panel[];
}

export function readDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
}

/** Every panel, rows' children included. */
export function allPanels(dashboard: Dashboard): Panel[] {
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Every PromQL expression of every panel. */
export function dashboardExprs(dashboard: Dashboard): string[] {
  return allPanels(dashboard).flatMap((p) => (p.targets ?? []).map((t) => t.expr));
}

/**
 * The metric names the dashboard's queries read, as written (a histogram's `_bucket` included).
 * Sluice's and Envoy's names all start with their prefix, which no PromQL function or label does
 * outside a `{...}` matcher, so matchers are cut away first.
 */
export function dashboardMetricNames(dashboard: Dashboard = readDashboard()): Set<string> {
  const names = new Set<string>();
  for (const expr of dashboardExprs(dashboard)) {
    const withoutMatchers = expr.replace(/\{[^}]*\}/g, '').replace(/\bby \([^)]*\)/g, '');
    for (const m of withoutMatchers.matchAll(/\b(?:sluice|envoy)_[a-zA-Z0-9_]+/g)) names.add(m[0]);
  }
  return names;
}

/**
 * Whether `name`, as a query writes it, is served by one of `families` (name → type): the family
 * itself, or a histogram's `_bucket`, `_sum` or `_count` series.
 */
export function isServed(name: string, families: ReadonlyMap<string, string>): boolean {
  if (families.has(name)) return true;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return base !== name && families.get(base)?.toLowerCase() === 'histogram';
}
