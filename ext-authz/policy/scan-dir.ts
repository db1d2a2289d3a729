import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PolicyDirUnreadableError } from './errors.ts';

export interface PolicyFileEntry {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
}

const POLICY_FILE = /^[^.].*\.ya?ml$/;

/**
 * The policy files of a directory, sorted by name (code-unit order, so the load order does not
 * depend on the locale). Hidden files are skipped: editors keep `.#name.yaml` locks and
 * `.name.yaml.swp` files there. Symlinks are followed, which is how Kubernetes mounts ConfigMaps.
 * A file that vanishes between listing and stat (an editor saving by rename) is skipped.
 */
export async function scanPolicyDir(dir: string): Promise<PolicyFileEntry[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new PolicyDirUnreadableError(dir, err);
  }
  names = names.filter((name) => POLICY_FILE.test(name)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const entries: PolicyFileEntry[] = [];
  for (const name of names) {
    const path = join(dir, name);
    try {
      const info = await stat(path);
      if (info.isFile()) entries.push({ path, size: info.size, mtimeMs: info.mtimeMs, ino: info.ino });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new PolicyDirUnreadableError(path, err);
    }
  }
  return entries;
}
