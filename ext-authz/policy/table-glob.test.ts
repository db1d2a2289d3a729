import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTableGlobs } from './table-glob.ts';

test('a table glob without a schema matches the name in any schema; one with a schema only that schema', () => {
  const bare = compileTableGlobs(['users', 'job_*']);
  for (const name of ['users', 'public.users', 'audit.users', 'job_runs', 'x.job_q']) assert.ok(bare.test(name), name);
  for (const name of ['users2', 'public.users_old', 'jobs', 'public.xusers']) assert.ok(!bare.test(name), name);
  const qualified = compileTableGlobs(['public.users', 'audit.*']);
  for (const name of ['public.users', 'audit.log', 'audit.x']) assert.ok(qualified.test(name), name);
  for (const name of ['users', 'other.users', 'public.users2', 'auditx.log']) assert.ok(!qualified.test(name), name);
});
