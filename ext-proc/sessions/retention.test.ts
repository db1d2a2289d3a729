import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { SessionError } from './errors.ts';
import type { PurgeOptions } from './purge.ts';
import { retentionMs, startRetention } from './retention.ts';

function recordingLogger() {
  const lines: { level: number; msg: string }[] = [];
  return { logger: pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) }), lines };
}

describe('session retention', () => {
  test('purges before now - keep, on a timer, and stops', async () => {
    const calls: PurgeOptions[] = [];
    const { logger } = recordingLogger();
    const retention = startRetention({
      store: { purge: async (o) => (calls.push(o), { dryRun: false, before: o.before, removed: 1, olderKept: 0, partitions: [] }) },
      keepMs: retentionMs('2d'),
      firstMs: 5,
      everyMs: 5,
      now: () => 10 * 86_400_000,
      logger,
    });
    await sleep(60);
    await retention.stop();
    const seen = calls.length;
    assert.ok(seen >= 2, `${seen} runs`);
    assert.equal(calls[0]!.before, 8 * 86_400_000);
    await sleep(30);
    assert.equal(calls.length, seen, 'no run after stop');
  });

  test('a failed purge is logged, not thrown; a refused one (records removed by hand) at error', async () => {
    const { logger, lines } = recordingLogger();
    let fail: Error = new SessionError('ERR_SESSION_STORE_UNAVAILABLE', 'down');
    const retention = startRetention({ store: { purge: async () => Promise.reject(fail) }, keepMs: 1, firstMs: 60_000, logger });
    assert.equal(await retention.runOnce(), undefined);
    fail = new SessionError('ERR_SESSION_STORE_CORRUPT', 'records were removed outside a purge');
    assert.equal(await retention.runOnce(), undefined);
    await retention.stop();
    assert.deepEqual(lines.map((l) => l.level), [40, 50]);
  });

  test('retention is whole days', () => {
    assert.equal(retentionMs('90d'), 90 * 86_400_000);
    for (const bad of ['0d', '12h', 'd', '1.5d', '']) assert.throws(() => retentionMs(bad), RangeError);
  });
});
