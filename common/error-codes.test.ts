import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const SOURCE_DIRS = ['common', 'ext-authz', 'ext-proc', 'envoy', 'cli', 'dev'];

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [full] : [];
  });
}

test('docs/errors.md lists every error code the source uses', () => {
  const documented = readFileSync(path.join(root, 'docs/errors.md'), 'utf8');
  const used = new Set<string>();
  for (const dir of SOURCE_DIRS) {
    for (const file of sourceFiles(path.join(root, dir))) {
      for (const match of readFileSync(file, 'utf8').matchAll(/['"`](ERR_[A-Z0-9_]+)['"`]/g)) used.add(match[1]!);
    }
  }
  assert.ok(used.size > 10, `found only ${used.size} codes; is the scan broken?`);
  const missing = [...used].filter((code) => !documented.includes(`| ${code} |`));
  assert.deepEqual(missing, [], 'codes used in the source but missing from docs/errors.md');
});
