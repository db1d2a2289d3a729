import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFile, mkdtemp, readdir, readFile, rm, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { silentLogger } from '../../common/logger.ts';
import { FileSessionStore, type FileSessionStoreOptions } from './file-store.ts';
import { decodeFrameMeta, decodeFrameRecord, encodeFrame, encodeFrameFirstDecision, encodeFrameV1, encodeFrameWithoutDecision } from './frame.ts';
import { canonicalJson, chainKey } from './chain.ts';
import { randomUUID } from 'node:crypto';
import { verifyChains } from './chain-verify.ts';
import { chainStoreSuite } from './chain-suite.ts';
import { httpRequestOf } from './http-events.ts';
import { listAll, sessionRecord, sessionStoreSuite, T0 } from './store-suite.ts';
import type { SessionEvent, SessionFilter as SessionFilterArg, SessionRecord } from './types.ts';
import { pgSession, pgStatement, redisSession } from './store-suite-decision.ts';

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sluice-sessions-'));
  dirs.push(dir);
  return dir;
}

/** A logger whose lines the test can read. */
function recordingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

/** The lines of every segment, for tampering the way someone with write access to the directory would. */
async function segmentLinesOf(dir: string): Promise<{ file: string; lines: Buffer[] }[]> {
  const out: { file: string; lines: Buffer[] }[] = [];
  for (const file of await segments(dir)) {
    const bytes = await readFile(file);
    const lines: Buffer[] = [];
    for (let start = 0; start < bytes.byteLength;) {
      const end = bytes.indexOf(0x0a, start) + 1;
      lines.push(bytes.subarray(start, end));
      start = end;
    }
    out.push({ file, lines });
  }
  return out;
}

async function rewrite(dir: string, edit: (files: { file: string; lines: Buffer[] }[]) => void): Promise<void> {
  const files = await segmentLinesOf(dir);
  edit(files);
  for (const { file, lines } of files) {
    if (lines.length === 0) await unlink(file);
    else await writeFile(file, Buffer.concat(lines));
  }
}

function findLine(files: { file: string; lines: Buffer[] }[], id: string): { lines: Buffer[]; i: number } {
  for (const { lines } of files) {
    const i = lines.findIndex((line) => decodeFrameMeta(line)?.id === id);
    if (i >= 0) return { lines, i };
  }
  throw new Error(`no line for ${id}`);
}

chainStoreSuite('FileSessionStore', async () => {
  const dir = await tempDir();
  const keyOf = (key?: Buffer) => (key === undefined ? {} : { chainKey: key });
  return {
    concurrentWriters: false,
    recordsHead: false,
    // Small segments, so that purge (whole segments) has one record per segment to work with.
    writer: (o = {}) => FileSessionStore.open({ dir, maxFileBytes: 1024, fsync: 'off', logger: silentLogger(), ...keyOf(o.chainKey) }),
    writeUnchained: async (records) => {
      await writeFile(path.join(dir, 'sessions-00000001.log'), Buffer.concat(records.map((r) => ('protocol' in r ? encodeFrame(r) : encodeFrameV1(r)))));
    },
    alterSubject: (id, subject) => rewrite(dir, (files) => {
      const { lines, i } = findLine(files, id);
      const meta = decodeFrameMeta(lines[i]!)!;
      lines[i] = encodeFrame({ ...decodeFrameRecord(lines[i]!)!, subject }, meta.link);
    }),
    remove: (id) => rewrite(dir, (files) => {
      const { lines, i } = findLine(files, id);
      lines.splice(i, 1);
    }),
    swap: (a, b) => rewrite(dir, (files) => {
      const x = findLine(files, a);
      const y = findLine(files, b);
      const line = x.lines[x.i]!;
      x.lines[x.i] = y.lines[y.i]!;
      y.lines[y.i] = line;
    }),
    verify: async (o = {}) => {
      const reader = await FileSessionStore.open({ dir, readOnly: true, logger: silentLogger() });
      try {
        return await verifyChains(reader.chainSource(), o.chainKey === undefined ? {} : { keys: [chainKey(o.chainKey)] });
      } finally {
        await reader.close();
      }
    },
    close: async () => undefined,
  };
});

sessionStoreSuite('FileSessionStore', async (policy = {}) => {
  const dir = await tempDir();
  const options: FileSessionStoreOptions = { dir, logger: silentLogger(), ...policy };
  let store = await FileSessionStore.open(options);
  return {
    get store() {
      return store;
    },
    reopen: async () => {
      await store.close();
      store = await FileSessionStore.open(options);
      return store;
    },
    close: () => store.close(),
    writeV1: async (records) => {
      // As the previous version wrote them: into the active segment, old index part and all.
      await store.close();
      const [last] = (await segments(dir)).slice(-1);
      await appendFile(last!, Buffer.concat(records.map(encodeFrameV1)));
      store = await FileSessionStore.open(options);
      return store;
    },
  };
});

async function segments(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith('.log')).sort().map((name) => path.join(dir, name));
}

describe('FileSessionStore after a crash', () => {
  test('a record torn mid-write is absent on reopen, the file is cut back to the last whole record, and appends go on', async () => {
    const dir = await tempDir();
    const records = Array.from({ length: 5 }, (_, i) => sessionRecord({}, i));
    const store = await FileSessionStore.open({ dir, logger: silentLogger() });
    for (const record of records) await store.append(record);
    await store.close();

    const [file] = await segments(dir);
    const whole = (await stat(file!)).size;
    await truncate(file!, whole - 40); // the last record loses its end, as if the machine died mid-write

    const { logger, lines } = recordingLogger();
    const reopened = await FileSessionStore.open({ dir, logger });
    try {
      assert.deepEqual(await listAll(reopened), records.slice(0, 4).reverse());
      assert.equal(await reopened.get(records[4]!.id), undefined);
      const cut = lines.find((line) => String(line.msg).includes('cut off an incomplete last record'));
      assert.ok(cut, 'the repair is logged');
      assert.equal(cut.level, 40);
      const goodEnd = cut.offset as number;
      assert.equal((await stat(file!)).size, goodEnd, 'the torn bytes are gone from the file');

      const next = sessionRecord({}, 9);
      await reopened.append(next);
      await reopened.append(records[4]!); // the lost one can be written again
    } finally {
      await reopened.close();
    }
    const third = await FileSessionStore.open({ dir, logger: silentLogger() });
    try {
      assert.equal((await listAll(third)).length, 6);
      assert.deepEqual(await third.get(records[4]!.id), records[4]);
    } finally {
      await third.close();
    }
  });

  test('a writer killed with SIGKILL mid-stream leaves only whole records; the next writer takes over its lock and goes on', async () => {
    const dir = await tempDir();
    const script = `
      import { FileSessionStore } from './file-store.ts';
      import { sessionRecord } from './store-suite.ts';
      const store = await FileSessionStore.open({ dir: process.env.SESSIONS_DIR, maxFileBytes: 256 * 1024, fsync: 'off' });
      process.stdout.write('ready\\n');
      const body = 'x'.repeat(3000);
      for (let i = 0; ; i += 1) {
        await Promise.all(Array.from({ length: 8 }, (_, j) => store.append(sessionRecord({ request: { headers: {}, body: { text: body, bytes: 3000, truncated: false } } }, i * 8 + j))));
      }`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('.', import.meta.url)),
      env: { ...process.env, SESSIONS_DIR: dir },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await once(child.stdout, 'data');
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    assert.ok((await segments(dir)).length > 1, 'the writer got as far as rotating');
    const store = await FileSessionStore.open({ dir, logger: silentLogger() });
    try {
      const all = await listAll(store, { limit: 1000 });
      assert.ok(all.length > 50, `${all.length} records survived`);
      assert.equal(all.length, store.size, 'every indexed record reads back whole');
      await store.append(sessionRecord({}, 1_000_000));
      assert.equal(await readFile(path.join(dir, 'LOCK'), 'utf8'), `${process.pid}\n`);
    } finally {
      await store.close();
    }
  });

  test('a torn tail at every cut point of the last record is detected: the other records are whole, the torn one absent', async () => {
    const dir = await tempDir();
    const first = sessionRecord({}, 0);
    const last = sessionRecord({ request: { headers: {}, body: { text: 'ünïcødé ✓', bytes: 14, truncated: false } } }, 1);
    const frameA = encodeFrame(first);
    const frameB = encodeFrame(last);
    const file = path.join(dir, 'sessions-00000001.log');
    for (let cut = 0; cut < frameB.byteLength; cut += 7) {
      await writeFile(file, Buffer.concat([frameA, frameB.subarray(0, cut)]));
      const store = await FileSessionStore.open({ dir, logger: silentLogger(), readOnly: cut % 2 === 0 });
      try {
        assert.deepEqual(ids(await listAll(store)), [first.id], `cut at ${cut}`);
      } finally {
        await store.close();
      }
    }
  });

  test('garbage after the last record (zeros, half a record with its newline) is cut off too', async () => {
    const dir = await tempDir();
    const store = await FileSessionStore.open({ dir, logger: silentLogger() });
    const record = sessionRecord();
    await store.append(record);
    await store.close();
    const [file] = await segments(dir);
    const good = (await stat(file!)).size;
    const half = encodeFrame(sessionRecord());
    await appendFile(file!, Buffer.concat([Buffer.alloc(300), Buffer.from('\n'), half.subarray(0, 50), Buffer.from('\n'), Buffer.alloc(20)]));
    const reopened = await FileSessionStore.open({ dir, logger: silentLogger() });
    try {
      assert.deepEqual(ids(await listAll(reopened)), [record.id]);
      assert.equal((await stat(file!)).size, good);
    } finally {
      await reopened.close();
    }
  });

  test('a damaged record between whole ones is skipped and logged at error; the file is not cut', async () => {
    const dir = await tempDir();
    const records = Array.from({ length: 3 }, (_, i) => sessionRecord({}, i));
    const store = await FileSessionStore.open({ dir, logger: silentLogger() });
    for (const record of records) await store.append(record);
    await store.close();
    const [file] = await segments(dir);
    const bytes = await readFile(file!);
    const second = bytes.indexOf(0x0a) + 1 + 30;
    bytes[second] = bytes[second]! ^ 0x01; // one flipped bit inside the second record
    await writeFile(file!, bytes);

    const { logger, lines } = recordingLogger();
    const reopened = await FileSessionStore.open({ dir, logger });
    try {
      assert.deepEqual(ids(await listAll(reopened)), [records[2]!.id, records[0]!.id]);
      assert.ok(lines.some((line) => line.level === 50 && String(line.msg).includes('damaged record')));
      assert.equal((await stat(file!)).size, bytes.byteLength);
    } finally {
      await reopened.close();
    }
  });

  test('a record damaged after startup reads as ERR_SESSION_STORE_CORRUPT', async () => {
    const dir = await tempDir();
    const store = await FileSessionStore.open({ dir, logger: silentLogger() });
    try {
      const record = sessionRecord();
      await store.append(record);
      const [file] = await segments(dir);
      const bytes = await readFile(file!);
      bytes[40] = bytes[40]! ^ 0x20;
      await writeFile(file!, bytes);
      await assert.rejects(store.get(record.id), { code: 'ERR_SESSION_STORE_CORRUPT' });
    } finally {
      await store.close();
    }
  });
});

describe('FileSessionStore line format', () => {
  test('a Redis record is stored as its canonical JSON (made once, for the hash and the line); an HTTP record keeps its headers\' order; both verify', async () => {
    const dir = await tempDir();
    const store = await FileSessionStore.open({ dir, logger: silentLogger() });
    const http = sessionRecord({ request: { headers: { 'x-zeta': '1', accept: '*/*', 'content-type': 'application/json' } } }, 1);
    const redis: SessionRecord = {
      version: 2, id: randomUUID(), requestId: '', protocol: 'redis', subject: 'w1', issuer: 'dev', target: 'cache', rule: 'workers/redis', decision: 'allow',
      startedAt: T0, endedAt: T0 + 5, outcome: 'completed', summary: '1 command',
      events: [{ at: T0, kind: 'redis.login', outcome: 'ok', subject: 'w1', issuer: 'dev' }, { at: T0 + 1, kind: 'redis.command', command: 'SET', keys: ['jobs:1'], args: 2, bytes: 33, outcome: 'sent', rule: 'workers/jobs' }, { at: T0 + 5, kind: 'end' }],
    };
    try {
      await store.append(http);
      await store.append(redis);
    } finally {
      await store.close();
    }
    const lines = (await segmentLinesOf(dir)).flatMap((f) => f.lines);
    const body = (line: Buffer) => line.toString('utf8', line.indexOf(0x09) + 1, line.length - 1);
    const redisLine = lines.find((l) => l.includes(redis.id))!;
    assert.equal(body(redisLine), canonicalJson(JSON.parse(body(redisLine))), 'stored in canonical form');
    assert.deepEqual(decodeFrameRecord(redisLine), redis);
    const httpLine = lines.find((l) => l.includes(http.id))!;
    const stored = decodeFrameRecord(httpLine)!;
    const request = stored.events.find((e) => e.kind === 'http.request') as Extract<SessionEvent, { kind: 'http.request' }>;
    assert.deepEqual(Object.keys(request.headers), ['x-zeta', 'accept', 'content-type'], 'headers in the order they came');
    const reader = await FileSessionStore.open({ dir, readOnly: true, logger: silentLogger() });
    try {
      const report = await verifyChains(reader.chainSource(), {});
      assert.equal(report.ok, true, JSON.stringify(report));
    } finally {
      await reader.close();
    }
  });
});

describe('FileSessionStore segments, locking and modes', () => {
  test('segments rotate by size; every record stays readable, before and after a reopen', async () => {
    const dir = await tempDir();
    const options: FileSessionStoreOptions = { dir, logger: silentLogger(), maxFileBytes: 8 * 1024 };
    const records = Array.from({ length: 60 }, (_, i) => sessionRecord({}, i));
    const store = await FileSessionStore.open(options);
    for (let i = 0; i < records.length; i += 10) await Promise.all(records.slice(i, i + 10).map((r) => store.append(r)));
    const files = await segments(dir);
    assert.ok(files.length >= 5, `${files.length} segments`);
    for (const file of files) assert.ok((await stat(file)).size <= 8 * 1024, file);
    assert.equal((await listAll(store)).length, 60);
    await store.close();

    const reopened = await FileSessionStore.open(options);
    try {
      assert.equal(reopened.size, 60);
      for (const record of records) assert.deepEqual(await reopened.get(record.id), record);
    } finally {
      await reopened.close();
    }
  });

  test('one writer per directory: a second open is ERR_SESSION_STORE_LOCKED; a lock left by a dead process is taken over', async () => {
    const dir = await tempDir();
    const store = await FileSessionStore.open({ dir, logger: silentLogger() });
    await assert.rejects(FileSessionStore.open({ dir, logger: silentLogger() }), { code: 'ERR_SESSION_STORE_LOCKED' });
    const reader = await FileSessionStore.open({ dir, logger: silentLogger(), readOnly: true });
    await reader.close();
    await store.close();

    await writeFile(path.join(dir, 'LOCK'), `${process.ppid}\n`); // alive: our parent
    await assert.rejects(FileSessionStore.open({ dir, logger: silentLogger() }), { code: 'ERR_SESSION_STORE_LOCKED' });
    await writeFile(path.join(dir, 'LOCK'), '999999999\n'); // no such process
    const takeover = await FileSessionStore.open({ dir, logger: silentLogger() });
    assert.equal(await readFile(path.join(dir, 'LOCK'), 'utf8'), `${process.pid}\n`);
    await takeover.close();
    assert.deepEqual((await readdir(dir)).filter((name) => name === 'LOCK'), [], 'close releases the lock');
  });

  test('read-only: refuses appends, creates and repairs nothing, sees what the writer wrote before it opened', async () => {
    const dir = await tempDir();
    await assert.rejects(FileSessionStore.open({ dir: path.join(dir, 'missing'), readOnly: true, logger: silentLogger() }), { code: 'ERR_SESSION_STORE_UNAVAILABLE' });
    const writer = await FileSessionStore.open({ dir, logger: silentLogger() });
    const record = sessionRecord();
    await writer.append(record);
    const [file] = await segments(dir);
    await appendFile(file!, 'half a rec');
    const before = await readFile(file!);
    const reader = await FileSessionStore.open({ dir, readOnly: true, logger: silentLogger() });
    try {
      assert.deepEqual(await reader.get(record.id), record);
      await assert.rejects(reader.append(sessionRecord()), { code: 'ERR_SESSION_STORE_UNAVAILABLE' });
      assert.deepEqual(await readFile(file!), before, 'the file is untouched');
    } finally {
      await reader.close();
      await writer.close();
    }
  });

  test('fsync always and off both store records', async () => {
    for (const fsync of ['always', 'off'] as const) {
      const dir = await tempDir();
      const store = await FileSessionStore.open({ dir, fsync, logger: silentLogger() });
      const records = Array.from({ length: 10 }, (_, i) => sessionRecord({}, i));
      await Promise.all(records.map((r) => store.append(r)));
      await store.close();
      const reopened = await FileSessionStore.open({ dir, readOnly: true, logger: silentLogger() });
      assert.equal(reopened.size, 10, fsync);
      await reopened.close();
    }
  });

  test('lines written before the decision keys (seven-element index part) filter by rule, approval and refusals from their records', async () => {
    const dir = await tempDir();
    const older = [
      sessionRecord({ rule: 'prod/allow-orders', events: [{ at: T0, kind: 'approval', approvalId: 'ap-1', waitMs: 5 }, ...sessionRecord({}, 0).events] }, 0),
      pgSession(1, { rule: 'prod/db-read' }, (at) => [pgStatement(at + 1, { outcome: 'refused', code: 'ERR_STATEMENT_DENIED' })]),
    ];
    const oldLines = Buffer.concat(older.map(encodeFrameWithoutDecision));
    assert.equal((JSON.parse(oldLines.toString('utf8', 9, oldLines.indexOf(9))) as unknown[]).length, 7, 'the old index part');
    await writeFile(path.join(dir, 'sessions-00000001.log'), oldLines);
    const store = await FileSessionStore.open({ dir, logger: silentLogger() });
    try {
      const newer = sessionRecord({ rule: 'staging/allow-orders' }, 2);
      await store.append(newer);
      const list = async (filter: SessionFilterArg) => (await store.list(filter)).records.map((r) => r.id);
      assert.deepEqual(await list({ rule: 'prod/*' }), [older[1]!.id, older[0]!.id]);
      assert.deepEqual(await list({ approval: true }), [older[0]!.id]);
      assert.deepEqual(await list({ refusals: true }), [older[1]!.id]);
      assert.deepEqual(await list({ refusals: false, approval: false }), [newer.id]);
    } finally {
      await store.close();
    }
  });

  test('Redis lines written before refused commands counted as refusals (three-element decision part) get their refusals from their records', async () => {
    const dir = await tempDir();
    const refused = redisSession(0, { outcome: 'refused', code: 'ERR_REDIS_COMMAND_DENIED' });
    const clean = redisSession(1, { outcome: 'sent' });
    const oldLines = Buffer.concat([refused, clean].map((r) => encodeFrameFirstDecision(r)));
    assert.deepEqual((JSON.parse(oldLines.toString('utf8', 9, oldLines.indexOf(9))) as unknown[])[7], ['workers/redis', false, false], 'the old decision part said no refusal');
    await writeFile(path.join(dir, 'sessions-00000001.log'), oldLines);
    const store = await FileSessionStore.open({ dir, logger: silentLogger() });
    try {
      const newer = redisSession(2, { outcome: 'refused', code: 'ERR_REDIS_NOT_LOGGED_IN' });
      await store.append(newer);
      const list = async (filter: SessionFilterArg) => (await store.list(filter)).records.map((r) => r.id);
      assert.deepEqual(await list({ refusals: true }), [newer.id, refused.id]);
      assert.deepEqual(await list({ refusals: false }), [clean.id]);
    } finally {
      await store.close();
    }
  });

  test('bad options are ERR_CONFIG_INVALID, all named at once', async () => {
    await assert.rejects(FileSessionStore.open({ dir: '', maxFileBytes: 10, fsync: 'sometimes' as 'off', redactHeaders: ['bad header'] }), (err: { code: string; message: string }) => {
      assert.equal(err.code, 'ERR_CONFIG_INVALID');
      for (const name of ['dir', 'maxFileBytes', 'fsync']) assert.ok(err.message.includes(name), name);
      return true;
    });
    await assert.rejects(FileSessionStore.open({ dir: await tempDir(), redactHeaders: ['bad header'] }), { code: 'ERR_CONFIG_INVALID' });
  });
});

function ids(records: readonly { id: string }[]): string[] {
  return records.map((r) => r.id);
}
