/**
 * How long the answer that completes a recorded HTTP exchange is held (onFull: deny), side by
 * side in one run on the real file store behind the recording queue: waiting for the record to
 * leave the process (the queue's `out` hook, what ext-proc does) vs waiting for a flush of the
 * queue and its group-commit fsync (what it did before). Alternating, one record at a time.
 *
 *   npm run bench:recording-wait [-- --records 400]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { silentLogger } from '../common/logger.ts';
import { FileSessionStore } from '../ext-proc/sessions/file-store.ts';
import { RecordingQueue } from '../ext-proc/sessions/queue.ts';
import { sessionRecord } from '../ext-proc/sessions/store-suite.ts';
import { median } from './lib/stats.ts';

const { values } = parseArgs({ options: { records: { type: 'string', default: '400' }, help: { type: 'boolean', default: false } } });
if (values.help) {
  console.log('usage: npm run bench:recording-wait [-- --records N]\nTimes the hold on a recorded exchange\'s last answer: record out of the process vs queue flush with fsync.');
  process.exit(0);
}
const count = Number.parseInt(values.records!, 10);

function p99(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))]!;
}

const dir = await mkdtemp(path.join(tmpdir(), 'sluice-bench-recording-'));
const store = await FileSessionStore.open({ dir, logger: silentLogger() });
const queue = new RecordingQueue(store, { logger: silentLogger() });
const out: number[] = [];
const flushed: number[] = [];
try {
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const viaOut = i % 2 === 0;
    await new Promise<void>((resolve) => {
      if (viaOut) queue.offer(sessionRecord({}, i), resolve);
      else {
        queue.offer(sessionRecord({}, i));
        void queue.flush().then(resolve);
      }
    });
    (viaOut ? out : flushed).push(performance.now() - started);
    // Spaced like exchanges finishing one after another, not a burst.
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
} finally {
  await queue.close();
  await rm(dir, { recursive: true, force: true });
}
const row = (name: string, samples: number[]) => `${name.padEnd(34)} p50 ${median(samples).toFixed(2).padStart(6)} ms   p99 ${p99(samples).toFixed(2).padStart(6)} ms`;
console.log(row('record out of the process (now)', out));
console.log(row('queue flush + fsync (before)', flushed));
console.log(`ratio p50 flush/out: ${(median(flushed) / median(out)).toFixed(1)}x   (${count / 2} records each, file store, group commit 10 ms)`);
