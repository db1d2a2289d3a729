import { readFile } from 'node:fs/promises';
import type { PolicyContext } from './compile.ts';
import { compilePolicySources, type PolicySource } from './compile-sources.ts';
import { PolicyDirUnreadableError } from './errors.ts';
import type { CompiledPolicySet } from './policy-set.ts';
import { scanPolicyDir } from './scan-dir.ts';

/**
 * Loads every `*.yaml` / `*.yml` file of a directory, in name order, into one bundle. Throws a
 * PolicyError (ERR_POLICY_INVALID with every issue, or ERR_POLICY_DIR_UNREADABLE). An empty
 * directory is a valid bundle that denies everything; warning about it is the caller's call.
 */
export async function loadPolicyDir(dir: string, context: PolicyContext = {}): Promise<CompiledPolicySet> {
  const entries = await scanPolicyDir(dir);
  const sources: PolicySource[] = [];
  for (const entry of entries) {
    try {
      sources.push({ file: entry.path, text: await readFile(entry.path, 'utf8') });
    } catch (err) {
      // Deleted since the scan: the bundle is what is on disk now.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new PolicyDirUnreadableError(entry.path, err);
    }
  }
  return compilePolicySources(sources, context);
}
