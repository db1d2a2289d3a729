import assert from 'node:assert/strict';
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
