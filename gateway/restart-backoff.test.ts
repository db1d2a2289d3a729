import test from 'node:test';
import assert from 'node:assert/strict';
import { RestartBackoff } from './restart-backoff.ts';

test('delays double up to the cap while a child keeps crashing at once', () => {
  let now = 0;
  const backoff = new RestartBackoff({ initialMs: 100, maxMs: 1000, stableMs: 10_000, now: () => now });
  const delays: number[] = [];
  for (let i = 0; i < 6; i++) {
    backoff.started();
    now += 50;
    const delay = backoff.exited();
    delays.push(delay);
    now += delay;
  }
  assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000]);
  assert.equal(backoff.failures, 6);
});

test('a run that lasted stableMs resets the delay', () => {
  let now = 0;
  const backoff = new RestartBackoff({ initialMs: 100, maxMs: 1000, stableMs: 10_000, now: () => now });
  backoff.started();
  assert.equal(backoff.exited(), 100);
  backoff.started();
  assert.equal(backoff.exited(), 200);
  backoff.started();
  now += 10_000;
  assert.equal(backoff.exited(), 100, 'a crash after a long healthy run starts over');
});
