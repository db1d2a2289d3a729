import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { EXT_PROC_ENV, EXT_PROC_NODE_FLAGS } from './ext-proc-runtime.ts';

test('npm run ext-proc runs ext-proc with the same Node.js flags and environment as sluice gateway', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
  const script = pkg.scripts['ext-proc']!;
  const env = Object.entries(EXT_PROC_ENV).map(([k, v]) => `${k}=${v}`).join(' ');
  assert.equal(script, `${env} node ${EXT_PROC_NODE_FLAGS.join(' ')} --import tsx cli/sluice.ts ext-proc`);
});
