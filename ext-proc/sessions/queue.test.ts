import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { silentLogger } from '../../common/logger.ts';
import { SessionError } from './errors.ts';
import { FileSessionStore } from './file-store.ts';
import { RecordingQueue, type RecordingQueueOptions } from './queue.ts';
import { listAll, sessionRecord } from './store-suite.ts';
import type { SessionPage, SessionRecord, SessionStore } from './types.ts';

/** An in-memory store whose appends take `delayMs`, and fail while `failing` says so. */
class FakeStore implements SessionStore {
  readonly records = new Map<string, SessionRecord>();
  delayMs = 0;
  attempts = 0;
  closed = false;
  failing: (attempt: number) => Error | undefined = () => undefined;

  async append(record: SessionRecord): Promise<void> {
    this.attempts += 1;
    await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    const failure = this.failing(this.attempts);
    if (failure !== undefined) throw failure;
    this.records.set(record.id, record);
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    return this.records.get(id);
  }

  async list(): Promise<SessionPage> {
    return { records: [...this.records.values()] };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

const unavailable = () => new SessionError('ERR_SESSION_STORE_UNAVAILABLE', 'database down');

function recordingLogger() {
  const lines: string[] = [];
  return { logger: pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) }), lines };
}

function queue(store: SessionStore, options: RecordingQueueOptions = {}): RecordingQueue {
  return new RecordingQueue(store, { logger: silentLogger(), retryInitialMs: 5, retryMaxMs: 20, ...options });
}

describe('RecordingQueue', () => {
  test('a slow store fills the queue; deny mode stops admitting before the bound, refuses at it, and recovers once drained', async () => {
    const store = new FakeStore();
    store.delayMs = 30;
    const { logger, lines } = recordingLogger();
    const q = queue(store, { maxRecords: 10, admitHeadroom: 0.2, concurrency: 1, logger });
    const records = Array.from({ length: 11 }, (_, i) => sessionRecord({}, i));
    for (let i = 0; i < 8; i += 1) {
      assert.equal(q.canAccept(), true, `admits with ${i} held`);
      assert.equal(q.offer(records[i]!), true);
    }
    assert.equal(q.canAccept(), false, 'near full: new exchanges are refused');
    assert.equal(q.offer(records[8]!), true, 'exchanges admitted before still find room');
    assert.equal(q.offer(records[9]!), true);
    assert.equal(q.offer(records[10]!), false, 'at the bound the record is refused');
    assert.deepEqual({ ...q.stats(), bytes: 0 }, { queued: 10, inFlight: 1, bytes: 0, written: 0, dropped: 1, failedWrites: 0, rejected: 0 });
    const dropped = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.msg === 'session record dropped');
    assert.equal(dropped?.sessionId, records[10]!.id);
    assert.equal(dropped?.level, 50, 'deny mode: a lost record of an admitted exchange is an error');

    await q.flush();
    assert.equal(q.canAccept(), true);
    assert.equal(q.stats().written, 10);
    assert.equal(q.stats().queued, 0);
    assert.equal(q.stats().bytes, 0);
    assert.equal(store.records.size, 10);
    await q.close();
    assert.equal(store.closed, true);
  });

  test('drop mode keeps admitting, drops what does not fit, counts it, and logs the session id at warn, never the body', async () => {
    const store = new FakeStore();
    store.delayMs = 20;
    const { logger, lines } = recordingLogger();
    const q = queue(store, { maxRecords: 5, onFull: 'drop', concurrency: 1, logger });
    const secret = 'card=4111111111111111';
    const records = Array.from({ length: 20 }, (_, i) => sessionRecord({ request: { headers: {}, body: { text: secret, bytes: secret.length, truncated: false } } }, i));
    const accepted = records.filter((r) => {
      assert.equal(q.canAccept(), true);
      return q.offer(r);
    });
    assert.equal(accepted.length, 5);
    assert.equal(q.stats().dropped, 15);
    const warnings = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.msg === 'session record dropped');
    assert.equal(warnings.length, 15);
    assert.ok(warnings.every((w) => w.level === 40));
    assert.deepEqual(warnings.map((w) => w.sessionId), records.slice(5).map((r) => r.id));
    assert.ok(!lines.join('').includes('4111111111111111'), 'bodies never reach the log');

    await q.flush();
    assert.equal(q.stats().written, 5);
    assert.equal(q.offer(sessionRecord({}, 99)), true, 'room again once drained');
    await q.close();
    assert.equal(store.records.size, 6);
  });

  test('the byte bound holds too', async () => {
    const store = new FakeStore();
    store.delayMs = 20;
    const big = 'x'.repeat(10_000);
    const record = (i: number) => sessionRecord({ response: { headers: {}, body: { text: big, bytes: big.length, truncated: false } } }, i);
    const probe = queue(new FakeStore());
    probe.offer(record(0));
    const size = probe.stats().bytes;
    assert.ok(size > 10_000 && size < 12_000, `a record counts ${size} bytes`);
    await probe.close();
    const q = queue(store, { maxBytes: Math.floor(size * 2.5), admitHeadroom: 0.3, concurrency: 1 });
    assert.equal(q.offer(record(0)), true);
    assert.equal(q.offer(record(1)), true);
    assert.equal(q.canAccept(), false);
    assert.equal(q.offer(record(2)), false);
    assert.equal(q.stats().bytes, 2 * size);
    await q.close();
    assert.equal(store.records.size, 2);
  });

  test('while the store is unavailable records are held and retried with backoff; all are written once it is back', async () => {
    const store = new FakeStore();
    let down = true;
    store.failing = () => (down ? unavailable() : undefined);
    const { logger, lines } = recordingLogger();
    const q = queue(store, { logger, concurrency: 4 });
    const records = Array.from({ length: 30 }, (_, i) => sessionRecord({}, i));
    for (const record of records) assert.equal(q.offer(record), true);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const during = q.stats();
    assert.equal(during.written, 0);
    assert.equal(during.queued, 30);
    assert.ok(during.failedWrites >= 3, `${during.failedWrites} failed writes`);
    assert.ok(during.failedWrites < 60, `backoff keeps retries few: ${during.failedWrites}`);
    assert.ok(during.inFlight <= 4);
    down = false;
    await q.flush(AbortSignal.timeout(2000));
    assert.equal(q.stats().written, 30);
    assert.equal(store.records.size, 30);
    const messages = lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
    assert.equal(messages.filter((m) => m.startsWith('session store unavailable')).length, 1, 'the outage is logged once');
    assert.ok(messages.some((m) => m.startsWith('session store available again')));
    await q.close();
  });

  test('a record the store refuses for good is counted as rejected and not retried', async () => {
    const store = new FakeStore();
    store.failing = (attempt) => (attempt === 1 ? new SessionError('ERR_SESSION_INVALID', 'nope') : undefined);
    const q = queue(store, { concurrency: 1 });
    q.offer(sessionRecord({}, 0));
    q.offer(sessionRecord({}, 1));
    await q.flush();
    assert.deepEqual({ ...q.stats(), bytes: 0 }, { queued: 0, inFlight: 0, bytes: 0, written: 1, dropped: 0, failedWrites: 0, rejected: 1 });
    assert.equal(store.attempts, 2);
    await q.close();
  });

  test('offer checks the record at once; close drains; after close nothing is admitted', async () => {
    const store = new FakeStore();
    store.delayMs = 2;
    const q = queue(store);
    assert.throws(() => q.offer({ ...sessionRecord(), id: 'x' }), { code: 'ERR_SESSION_INVALID' });
    for (let i = 0; i < 50; i += 1) q.offer(sessionRecord({}, i));
    await q.close();
    assert.equal(store.records.size, 50);
    assert.equal(store.closed, true);
    assert.equal(q.canAccept(), false);
    assert.equal(q.offer(sessionRecord()), false);
    assert.equal(q.stats().dropped, 1);
  });

  test('close gives up when its signal aborts: what is left is dropped and counted, and the store is closed', async () => {
    const store = new FakeStore();
    store.failing = () => unavailable();
    const q = queue(store, { concurrency: 2 });
    for (let i = 0; i < 10; i += 1) q.offer(sessionRecord({}, i));
    const flushing = q.flush(AbortSignal.timeout(30));
    await assert.rejects(flushing, { name: 'TimeoutError' });
    await q.close(AbortSignal.timeout(50));
    assert.equal(q.stats().dropped, 10);
    assert.equal(q.stats().queued, 0);
    assert.equal(store.closed, true);
  });

  test('bad options are ERR_CONFIG_INVALID', () => {
    assert.throws(() => new RecordingQueue(new FakeStore(), { maxRecords: 0, onFull: 'block' as 'drop', admitHeadroom: 1 }), (err: { code: string; message: string }) => {
      assert.equal(err.code, 'ERR_CONFIG_INVALID');
      for (const name of ['maxRecords', 'onFull', 'admitHeadroom']) assert.ok(err.message.includes(name), name);
      return true;
    });
  });

  test('over the file store: 300 records offered at once are all written and listed', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sluice-queue-'));
    try {
      const store = await FileSessionStore.open({ dir, logger: silentLogger() });
      const q = queue(store);
      const records = Array.from({ length: 300 }, (_, i) => sessionRecord({}, i));
      for (const record of records) assert.equal(q.offer(record), true);
      await q.close();
      const reader = await FileSessionStore.open({ dir, readOnly: true, logger: silentLogger() });
      assert.equal((await listAll(reader, { limit: 1000 })).length, 300);
      await reader.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('an offerer hears once when its record left the process: at the store\'s written point, before the fsync, or when the record is given up', async () => {
    // The real file store: `written` comes before its group-commit fsync resolves append().
    const dir = await mkdtemp(path.join(tmpdir(), 'sluice-queue-out-'));
    try {
      const store = await FileSessionStore.open({ dir, fsyncIntervalMs: 300, logger: silentLogger() });
      const q = queue(store);
      const events: string[] = [];
      const started = performance.now();
      assert.equal(q.offer(sessionRecord({}, 1), () => events.push(`out ${Math.round(performance.now() - started)}`)), true);
      await new Promise((resolve) => setTimeout(resolve, 150));
      assert.equal(events.length, 1, 'out is called once the record is written, not after the 300 ms group commit');
      await q.flush();
      assert.equal(events.length, 1, 'and only once');
      assert.equal((await listAll(store)).length, 1);
      await q.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }

    // A record the store refuses, and one still queued when the queue closes, are given up: out is called too.
    const refusing = new FakeStore();
    refusing.failing = () => new SessionError('ERR_SESSION_INVALID', 'bad');
    const q2 = queue(refusing);
    let refusedOut = 0;
    q2.offer(sessionRecord({}, 2), () => (refusedOut += 1));
    await q2.flush();
    assert.equal(refusedOut, 1);
    const down = new FakeStore();
    down.failing = () => unavailable();
    const q3 = queue(down, { concurrency: 1 });
    let droppedOut = 0;
    q3.offer(sessionRecord({}, 3), () => (droppedOut += 1));
    q3.offer(sessionRecord({}, 4), () => (droppedOut += 1));
    await q3.close(AbortSignal.timeout(50));
    assert.equal(droppedOut, 2, 'both records given up at close are reported out');
  });
});

