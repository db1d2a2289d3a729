import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `probe` until it returns a truthy value or `timeoutMs` passes; returns the value and the time taken. */
export async function waitFor<T>(probe: () => Promise<T> | T, timeoutMs: number, intervalMs = 50): Promise<{ value: T; elapsedMs: number }> {
  const started = Date.now();
  let last: T | undefined;
  while (Date.now() - started <= timeoutMs) {
    last = await probe();
    if (last) return { value: last, elapsedMs: Date.now() - started };
    await sleep(intervalMs);
  }
  throw new Error(`condition not met within ${timeoutMs} ms (last value: ${JSON.stringify(last)})`);
}
