import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { SluiceError } from './errors.ts';

export interface ChromiumBinary {
  path: string;
  source: 'env' | 'path' | 'apt';
  version: string;
}

const NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

/**
 * Finds the browser the console's tests drive, the way common/envoy-bin.ts finds Envoy:
 * `CHROMIUM_BIN`, else a Chromium on PATH, else Debian's `chromium` package installed with
 * apt-get (CI runs as root; nothing is downloaded from anywhere else, and playwright-core's own
 * browser download is never used). The result is checked by running `--version`.
 */
export function resolveChromium(env: NodeJS.ProcessEnv = process.env): ChromiumBinary {
  if (env.CHROMIUM_BIN) return probe(env.CHROMIUM_BIN, 'env');
  const found = findOnPath(env.PATH ?? '');
  if (found) return probe(found, 'path');
  aptInstall();
  const installed = findOnPath(env.PATH ?? '') ?? '/usr/bin/chromium';
  return probe(installed, 'apt');
}

function findOnPath(searchPath: string): string | undefined {
  for (const name of NAMES) {
    for (const dir of searchPath.split(path.delimiter)) {
      if (dir && existsSync(path.join(dir, name))) return path.join(dir, name);
    }
  }
  return undefined;
}

function aptInstall(): void {
  if (process.getuid?.() !== 0) {
    throw new SluiceError('ERR_CHROMIUM_NOT_FOUND', 'no Chromium found (CHROMIUM_BIN, PATH); install Debian\'s chromium package (apt-get install chromium) or set CHROMIUM_BIN');
  }
  const run = (args: string[]) => spawnSync('apt-get', args, { encoding: 'utf8', timeout: 900_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  let result = run(['install', '-y', '--no-install-recommends', 'chromium']);
  // A fresh machine may have no package lists yet.
  if (result.status !== 0) {
    run(['update']);
    result = run(['install', '-y', '--no-install-recommends', 'chromium']);
  }
  if (result.status !== 0) {
    throw new SluiceError('ERR_CHROMIUM_NOT_FOUND', 'apt-get install chromium failed; set CHROMIUM_BIN to a Chromium binary', { details: { stderr: (result.stderr ?? '').slice(-1000) } });
  }
}

function probe(binary: string, source: ChromiumBinary['source']): ChromiumBinary {
  const result = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  const match = /(\d+\.\d+\.\d+\.\d+)/.exec(result.stdout ?? '');
  if (result.status !== 0 || !match?.[1]) {
    throw new SluiceError('ERR_CHROMIUM_NOT_FOUND', `${binary} (from ${source}) did not report a Chromium version`, { details: { stderr: (result.stderr ?? '').slice(0, 500) } });
  }
  return { path: binary, source, version: match[1] };
}
