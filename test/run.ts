/**
 * Runs the test tiers with node's test runner: `unit` (beside the code), `integration`
 * (test/integration) and `e2e` (test/e2e, through real Envoy). No argument runs all three in one
 * runner so the closing summary covers everything.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const SOURCE_DIRS = ['common', 'ext-authz', 'ext-proc', 'envoy', 'gateway', 'cli', 'dev'];
const TIERS: Record<string, string[]> = {
  unit: SOURCE_DIRS,
  integration: ['test/integration'],
  e2e: ['test/e2e'],
};

function findTests(dir: string): string[] {
  const full = path.join(root, dir);
  let entries: string[];
  try {
    entries = readdirSync(full);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const rel = path.join(dir, name);
    if (name === 'node_modules') return [];
    if (statSync(path.join(root, rel)).isDirectory()) return findTests(rel);
    return name.endsWith('.test.ts') ? [rel] : [];
  });
}

const wanted = process.argv.slice(2);
const tiers = wanted.length > 0 ? wanted : Object.keys(TIERS);
const files = tiers.flatMap((tier) => {
  const dirs = TIERS[tier];
  if (!dirs) throw new Error(`unknown test tier "${tier}" (known: ${Object.keys(TIERS).join(', ')})`);
  return dirs.flatMap(findTests);
}).sort();
if (files.length === 0) throw new Error('no test files found');

const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
