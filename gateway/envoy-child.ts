import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningEnvoy } from '../common/envoy-process.ts';
import type { ChildRun } from './supervised.ts';

export interface EnvoyRun extends ChildRun {
  adminUrl: string;
  listeners: Record<string, number>;
  logFile: string;
}

/** A running Envoy as one supervised run (its exit code becomes the run's exit). */
export function envoyRun(envoy: RunningEnvoy): EnvoyRun {
  return {
    pid: envoy.pid,
    adminUrl: envoy.adminUrl,
    listeners: envoy.listeners,
    logFile: envoy.logFile,
    exited: envoy.exited.then((code) => ({ code, signal: null })),
    stop: () => envoy.stop(),
  };
}

/**
 * In-flight HTTP requests on every listener Sluice generates (their HTTP connection managers).
 * Envoy's own admin listener counts too (`http.admin.`, the very request asking): left out.
 */
const ACTIVE_REQUESTS = '^http\\..*\\.downstream_rq_active$';
const ADMIN_STATS = 'http.admin.';

export interface DrainResult {
  /** True when every in-flight request finished before the deadline. */
  drained: boolean;
  /** Requests still in flight when the wait ended. */
  active: number;
  waitedMs: number;
}

/**
 * The first half of a graceful stop: Envoy closes its listeners (no new connections; those open
 * keep being served), then we wait until no request is in flight or the deadline passes. The
 * caller then stops Envoy, which cuts whatever is left.
 */
export async function drainEnvoy(adminUrl: string, deadlineMs: number): Promise<DrainResult> {
  const started = Date.now();
  await fetch(`${adminUrl}/drain_listeners`, { method: 'POST', signal: AbortSignal.timeout(2000) });
  let active = await activeRequests(adminUrl);
  while (active > 0 && Date.now() - started < deadlineMs) {
    await sleep(100);
    active = await activeRequests(adminUrl);
  }
  return { drained: active === 0, active, waitedMs: Date.now() - started };
}

export async function activeRequests(adminUrl: string): Promise<number> {
  const url = `${adminUrl}/stats?format=json&filter=${encodeURIComponent(ACTIVE_REQUESTS)}`;
  const body = (await (await fetch(url, { signal: AbortSignal.timeout(2000) })).json()) as { stats?: { name?: string; value?: number }[] };
  return (body.stats ?? []).reduce((sum, stat) => sum + (typeof stat.value === 'number' && !stat.name?.startsWith(ADMIN_STATS) ? stat.value : 0), 0);
}
