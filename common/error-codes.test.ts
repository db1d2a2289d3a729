import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENVOY_STATUS_NAME } from './caller-error.ts';
import { ERROR_CODES, httpStatusOf, type ErrorCodeEntry } from './error-codes.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const SOURCE_DIRS = ['common', 'ext-authz', 'ext-proc', 'envoy', 'gateway', 'cli', 'dev', 'console'];
const table: Readonly<Record<string, ErrorCodeEntry>> = ERROR_CODES;

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [full] : [];
  });
}

/** Codes the source names as string literals (the table itself names them as keys). */
function usedCodes(): Set<string> {
  const used = new Set<string>();
  for (const dir of SOURCE_DIRS) {
    for (const file of sourceFiles(path.join(root, dir))) {
      for (const match of readFileSync(file, 'utf8').matchAll(/['"`](ERR_[A-Z0-9_]+)['"`]/g)) used.add(match[1]!);
    }
  }
  return used;
}

const SECTION_AUDIENCE: Readonly<Record<string, ErrorCodeEntry['audience']>> = {
  'Seen by callers': 'caller',
  'Seen by approvers': 'approver',
  'Seen by operators': 'operator',
};

/** Every `| ERR_... | second column |` row of docs/errors.md, with the audience of its section. */
function documentedRows(): Map<string, { audience: string | undefined; second: string }> {
  const rows = new Map<string, { audience: string | undefined; second: string }>();
  let audience: string | undefined;
  for (const line of readFileSync(path.join(root, 'docs/errors.md'), 'utf8').split('\n')) {
    const heading = /^## (.+)$/.exec(line);
    if (heading) audience = Object.entries(SECTION_AUDIENCE).find(([prefix]) => heading[1]!.startsWith(prefix))?.[1];
    const row = /^\| (ERR_[A-Z0-9_]+) \| ([^|]+) \|/.exec(line);
    if (row) {
      assert.ok(!rows.has(row[1]!), `${row[1]} is documented twice`);
      rows.set(row[1]!, { audience, second: row[2]!.trim() });
    }
  }
  return rows;
}

test('every error code the source uses is in the table (common/error-codes.ts)', () => {
  const used = usedCodes();
  assert.ok(used.size > 10, `found only ${used.size} codes; is the scan broken?`);
  const missing = [...used].filter((code) => !Object.hasOwn(table, code));
  assert.deepEqual(missing, [], 'codes used in the source but missing from common/error-codes.ts');
});

test('the table holds no code the source no longer uses', () => {
  const used = usedCodes();
  assert.deepEqual(Object.keys(table).filter((code) => !used.has(code)), []);
});

test('docs/errors.md lists exactly the table\'s codes, each under its audience with the same status', () => {
  const rows = documentedRows();
  assert.deepEqual([...rows.keys()].sort(), Object.keys(table).sort(), 'docs/errors.md and common/error-codes.ts list different codes');
  for (const [code, entry] of Object.entries(table)) {
    const row = rows.get(code)!;
    assert.equal(row.audience, entry.audience, `${code} is documented in the wrong section`);
    // The operators' table has a "where" column instead of a status.
    if (entry.status !== null) assert.equal(row.second, String(entry.status), `${code}: docs/errors.md says ${row.second}, the table ${entry.status}`);
  }
});

test('caller codes have a status Envoy can send; statuses match their audience', () => {
  for (const [code, entry] of Object.entries(table)) {
    if (entry.audience === 'caller') assert.ok(entry.status in ENVOY_STATUS_NAME, `${code}: ${entry.status} has no Envoy StatusCode name`);
    if (entry.audience === 'operator') assert.equal(entry.status, null, code);
    else assert.ok(entry.status !== null && entry.status >= 400 && entry.status < 600, code);
  }
});

test('httpStatusOf: one status per code; ERR_INTERNAL is 500; unknown and operator-only codes fall back to it', () => {
  assert.equal(httpStatusOf('ERR_INTERNAL'), 500);
  assert.equal(httpStatusOf('ERR_BODY_REFUSED'), 502);
  assert.equal(httpStatusOf('ERR_REQUEST_BODY_REFUSED'), 415);
  assert.equal(httpStatusOf('ERR_APPROVAL_EXPIRED'), 410);
  assert.equal(httpStatusOf('ERR_CONFIG_INVALID'), 500);
  assert.equal(httpStatusOf('ERR_NOT_A_CODE'), 500);
  assert.equal(httpStatusOf('toString'), 500, 'no prototype lookups');
});
