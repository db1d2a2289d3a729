import test from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../common/logger.ts';
import { RestartBackoff } from './restart-backoff.ts';
import { Supervised, type ChildRun } from './supervised.ts';
import { waitFor } from '../test/harness/wait.ts';

/** A child that "exits" when the test says so. */
function fakeRun(pid: number): ChildRun & { crash(): void; stopped: boolean } {
  let exit!: (e: { code: number | null; signal: string | null }) => void;
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => (exit = resolve));
  const run = {
    pid,
    exited,
    stopped: false,
    crash: () => exit({ code: 1, signal: null }),
    stop: async () => {
      run.stopped = true;
      exit({ code: 0, signal: 'SIGTERM' });
    },
  };
  return run;
}

const logger = createLogger('test', { level: 'silent' });

test('an exit nobody asked for is followed by a restart; stop() ends the loop', async () => {
  const runs: ReturnType<typeof fakeRun>[] = [];
  const child = new Supervised({
    name: 'svc', logger,
    backoff: new RestartBackoff({ initialMs: 10, maxMs: 20 }),
    start: async () => {
      const run = fakeRun(100 + runs.length);
      runs.push(run);
      return run;
    },
  });
  await child.start();
  assert.equal(child.status().state, 'running');
  runs[0]!.crash();
  await waitFor(() => child.status().state === 'restarting' || runs.length === 2, 1000, 1);
  await waitFor(() => child.status().state === 'running' && runs.length === 2, 1000, 5);
  const status = child.status();
  assert.equal(status.restarts, 1);
  assert.equal(status.pid, 101);
  assert.equal(status.lastExit?.code, 1);
  await child.stop(100);
  assert.equal(runs[1]!.stopped, true);
  assert.equal(child.status().state, 'stopped');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(runs.length, 2, 'a planned stop is not restarted');
});

test('a restart that fails to start is retried with backoff; the first start failing is the caller\'s error', async () => {
  let attempts = 0;
  const child = new Supervised({
    name: 'svc', logger,
    backoff: new RestartBackoff({ initialMs: 5, maxMs: 10 }),
    start: async () => {
      attempts++;
      if (attempts === 2 || attempts === 3) throw new Error('port busy');
      return fakeRun(attempts);
    },
  });
  const first = (await child.start()) as ReturnType<typeof fakeRun>;
  first.crash();
  await waitFor(() => child.status().state === 'running' && attempts === 4, 2000, 5);
  assert.equal(child.status().restarts, 1);
  await child.stop(10);

  const broken = new Supervised({ name: 'svc', logger, start: async () => { throw new Error('bad config'); } });
  await assert.rejects(broken.start(), /bad config/);
});
