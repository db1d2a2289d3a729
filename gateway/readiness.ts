import type { EnvoyPublisher } from '../envoy/publisher.ts';
import type { ReadinessCheck } from '../common/readiness.ts';
import type { ChildRun, Supervised } from './supervised.ts';
import type { EnvoyRun } from './envoy-child.ts';

interface ChildReport {
  status?: string;
  checks?: { name?: string; ok?: boolean; detail?: string }[];
}

/**
 * A child service is ready when it is running and its own /readyz says so; when it is not, the
 * detail names the child's failing checks (their details are free of secrets by contract).
 */
export function childReadiness(child: Supervised<ChildRun>, adminUrl: string): ReadinessCheck {
  return async () => {
    const status = child.status();
    if (status.state !== 'running') {
      const exit = status.lastExit ? ` (last exit: code ${status.lastExit.code}, signal ${status.lastExit.signal})` : '';
      return { ok: false, detail: `${status.state}${exit}` };
    }
    const answer = await fetch(`${adminUrl}/readyz`, { signal: AbortSignal.timeout(1500) });
    const report = (await answer.json()) as ChildReport;
    if (answer.ok) return { ok: true };
    const failing = (report.checks ?? []).filter((c) => c.ok !== true).map((c) => `${c.name}: ${c.detail ?? 'not ready'}`);
    return { ok: false, detail: failing.join('; ') || `not ready (${answer.status})` };
  };
}

/**
 * Envoy is ready when it runs, reports LIVE (its first config is loaded and warm), the latest
 * config Sluice generated was published (an edit Envoy would reject is never written), and the
 * version Envoy reports for its clusters and listeners is the one last written.
 */
export function envoyReadiness(envoy: Supervised<EnvoyRun>, publisher: EnvoyPublisher): ReadinessCheck {
  return async () => {
    const run = envoy.run;
    if (!run) return { ok: false, detail: envoy.status().state };
    const live = (await (await fetch(`${run.adminUrl}/ready`, { signal: AbortSignal.timeout(1500) })).text()).trim();
    if (live !== 'LIVE') return { ok: false, detail: `envoy reports ${live}` };
    const last = publisher.lastResult;
    if (last && !last.ok) return { ok: false, detail: `the latest config was not published (${last.error.code}); the previous one is live` };
    const expected = publisher.current;
    if (!expected) return { ok: false, detail: 'no config published yet' };
    const versions = await envoyVersions(run.adminUrl);
    const stale = (['cds', 'rds', 'lds'] as const).filter((kind) => versions[kind] !== expected.files[`${kind}.json`].version_info);
    if (stale.length > 0) return { ok: false, detail: `envoy has not taken the latest ${stale.join(' and ')} yet` };
    return { ok: true, detail: `config ${expected.files['cds.json'].version_info.slice(0, 12)} accepted` };
  };
}

/** The version of each resource file Envoy last accepted (the file's version_info). */
async function envoyVersions(adminUrl: string): Promise<{ cds?: string; rds?: string; lds?: string }> {
  const url = `${adminUrl}/stats?format=json&filter=${encodeURIComponent('version_text$')}`;
  const body = (await (await fetch(url, { signal: AbortSignal.timeout(1500) })).json()) as { stats?: { name?: string; value?: unknown }[] };
  const out: { cds?: string; rds?: string; lds?: string } = {};
  for (const stat of body.stats ?? []) {
    if (stat.name === 'cluster_manager.cds.version_text') out.cds = String(stat.value);
    else if (stat.name === 'listener_manager.lds.version_text') out.lds = String(stat.value);
    // One route configuration, shared by the HTTP listener's connection manager.
    else if (stat.name !== undefined && /^http\..*\.rds\..*\.version_text$/.test(stat.name)) out.rds = String(stat.value);
  }
  return out;
}
