/**
 * Runs the test tiers with node's test runner: `unit` (beside the code), `integration`
 * (test/integration) and `e2e` (test/e2e, through real Envoy). No argument runs all three in one
 * runner so the closing summary covers everything.
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const SOURCE_DIRS = ['common', 'ext-authz', 'ext-proc', 'envoy', 'gateway', 'cli', 'dev', 'console'];
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

// A test that hangs fails on its own after TEST_TIMEOUT_MS, with its name. A file whose tests all
// ended but whose process stays alive (a server left open) would still keep the runner waiting,
// so the whole run has a deadline too: it is killed, and fails, long before CI's own limit.
const TEST_TIMEOUT_MS = Number(process.env.SLUICE_TEST_TIMEOUT_MS ?? 5 * 60_000);
const RUN_DEADLINE_MS = Number(process.env.SLUICE_TEST_DEADLINE_MS ?? 50 * 60_000);

const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', `--test-timeout=${TEST_TIMEOUT_MS}`, ...files], {
  cwd: root,
  stdio: 'inherit',
  detached: true,
});
const deadline = setTimeout(() => {
  console.error(`# test run exceeded its ${Math.round(RUN_DEADLINE_MS / 60_000)} min deadline: a test file did not exit (look for the last files without a result above); stopping`);
  try { process.kill(-child.pid!, 'SIGKILL'); } catch { child.kill('SIGKILL'); }
  process.exitCode = 1;
}, RUN_DEADLINE_MS);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => { try { process.kill(-child.pid!, signal); } catch { /* already gone */ } });
}
child.on('exit', (code, signal) => {
  clearTimeout(deadline);
  process.exit(process.exitCode ?? code ?? (signal ? 1 : 0));
});
