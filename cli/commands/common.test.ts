import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseConfig } from '../../common/config.ts';
import { DECISION_LOG_FLUSH_MS, serviceLoggers } from './common.ts';

test('the decision log is a path from the config file\'s folder, and a line reaches it within the flush delay', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-decision-log-'));
  try {
    const config = parseConfig('log: { decisionLog: audit/decisions.log }\n', path.join(dir, 'sluice.yaml'));
    const { decisionLog } = serviceLoggers(config, 'test');
    decisionLog.info({ request_id: 'r-1', effect: 'allow' }, 'decision');
    const file = path.join(dir, 'audit', 'decisions.log');
    const deadline = Date.now() + DECISION_LOG_FLUSH_MS + 1000;
    while (!(existsSync(file) && readFileSync(file, 'utf8').includes('"request_id":"r-1"')) && Date.now() < deadline) await sleep(50);
    assert.match(readFileSync(file, 'utf8'), /"request_id":"r-1"/, 'one line, far below the 4 KiB buffer, was written without a shutdown');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a line logged just before a crash (an uncaught exception, well inside the flush delay) is in the file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-decision-log-crash-'));
  try {
    const script = [
      `import { parseConfig } from ${JSON.stringify(new URL('../../common/config.ts', import.meta.url).href)};`,
      `import { serviceLoggers } from ${JSON.stringify(new URL('./common.ts', import.meta.url).href)};`,
      `const config = parseConfig('log: { decisionLog: decisions.log }\\n', ${JSON.stringify(path.join(dir, 'sluice.yaml'))});`,
      "serviceLoggers(config, 'test').decisionLog.info({ request_id: 'r-crash', effect: 'deny' }, 'decision');",
      "setTimeout(() => { throw new Error('crash'); }, 10);",
    ].join('\n');
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.notEqual(result.status, 0, 'the child crashed');
    assert.match(result.stderr, /Error: crash/);
    assert.match(readFileSync(path.join(dir, 'decisions.log'), 'utf8'), /"request_id":"r-crash"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
