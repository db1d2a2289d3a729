import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SluiceError } from '../../common/errors.ts';
import { discoveryResponse } from './generate.ts';
import type { DiscoveryResponse, EnvoyObject, GeneratedConfig, XdsFileName } from './types.ts';

export interface ApplyXdsOptions {
  /** Envoy's admin URL: when given, new clusters must be warm in Envoy before routes name them. */
  envoyAdminUrl?: string;
  /** How long to wait for Envoy to list the new clusters (default 10 s). */
  timeoutMs?: number;
}

export interface ApplyXdsResult {
  /** Files renamed into place, in order (cds.json may appear twice). */
  written: XdsFileName[];
}

/**
 * Hands a generated config to the Envoy(s) watching `dir`, so that no request meets a route to a
 * cluster Envoy does not have:
 *   1. cds.json with the new clusters and every cluster written before (nothing disappears yet);
 *   2. with an admin URL, wait until Envoy lists every new cluster (a route to a cluster still
 *      warming answers 503);
 *   3. rds.json, then lds.json;
 *   4. cds.json with only the new clusters, which removes those no route names any more.
 * Each file is written to a temporary name in `dir` and renamed over the old one: Envoy's
 * watched_directory reacts to the move and never reads half a file. A file whose content did not
 * change is not rewritten, so Envoy sees no update for it.
 */
export async function applyXds(dir: string, generated: GeneratedConfig, opts: ApplyXdsOptions = {}): Promise<ApplyXdsResult> {
  await mkdir(dir, { recursive: true });
  const written: XdsFileName[] = [];
  const write = async (file: XdsFileName, response: DiscoveryResponse) => {
    if (await writeIfChanged(path.join(dir, file), `${JSON.stringify(response)}\n`)) written.push(file);
  };

  const next = generated.files['cds.json'];
  const previous = await readClusters(path.join(dir, 'cds.json'));
  const nextNames = new Set(next.resources.map((c) => c.name as string));
  const union = [...previous.filter((c) => !nextNames.has(c.name as string)), ...next.resources];
  await write('cds.json', discoveryResponse(union));
  if (opts.envoyAdminUrl) await waitForClusters(opts.envoyAdminUrl, nextNames, opts.timeoutMs ?? 10_000);
  await write('rds.json', generated.files['rds.json']);
  await write('lds.json', generated.files['lds.json']);
  await write('cds.json', next);
  return { written };
}

/** Writes the bootstrap Envoy starts from (JSON; Envoy reads it by its .json extension or as YAML). */
export async function writeBootstrap(file: string, generated: GeneratedConfig): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeIfChanged(file, `${JSON.stringify(generated.bootstrap, null, 2)}\n`);
}

async function writeIfChanged(file: string, content: string): Promise<boolean> {
  const current = await readFile(file, 'utf8').catch(() => undefined);
  if (current === content) return false;
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  await writeFile(temp, content);
  await rename(temp, file);
  return true;
}

async function readClusters(file: string): Promise<EnvoyObject[]> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return [];
  try {
    const parsed = JSON.parse(text) as Partial<DiscoveryResponse>;
    return Array.isArray(parsed.resources) ? parsed.resources : [];
  } catch {
    return []; // not ours or damaged: the new clusters replace it
  }
}

async function waitForClusters(adminUrl: string, names: ReadonlySet<string>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let missing = [...names];
  while (true) {
    const listed = await listClusters(adminUrl).catch(() => new Set<string>());
    missing = missing.filter((name) => !listed.has(name));
    if (missing.length === 0) return;
    if (Date.now() > deadline) {
      throw new SluiceError('ERR_ENVOY_RELOAD_TIMEOUT', `envoy at ${adminUrl} did not load ${missing.length} new cluster(s) within ${timeoutMs} ms (first: ${missing[0]})`, {
        details: { missing: missing.slice(0, 20) },
      });
    }
    await sleep(20);
  }
}

async function listClusters(adminUrl: string): Promise<Set<string>> {
  const body = (await (await fetch(`${adminUrl}/clusters?format=json`)).json()) as { cluster_statuses?: { name: string }[] };
  return new Set((body.cluster_statuses ?? []).map((c) => c.name));
}
