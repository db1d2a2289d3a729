import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { parseConfig } from '../common/config.ts';
import { silentLogger } from '../common/logger.ts';
import { recoverInterrupted, startRecording } from './recording-setup.ts';
import { FileSessionStore, PostgresSessionStore, httpResponseOf, type SessionStore } from './sessions/index.ts';
import { OpenJournal, readJournal } from './sessions/open-journal.ts';
import { RecordingQueue } from './sessions/queue.ts';
import { SessionError } from './sessions/errors.ts';
import { sessionRecord } from './sessions/store-suite.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const SECRET = 'upstream-secret-value-0001';
const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sluice-journal-recovery-'));
  dirs.push(dir);
  return dir;
}

/** Runs the crash child until it says ready, then SIGKILLs it. */
async function crashChild(configFile: string, instance: string, ids: string[]): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'test/harness/journal-crash-child.ts'), configFile, instance, SECRET], {
    cwd: root, env: { ...process.env, JOURNAL_CHILD_IDS: JSON.stringify(ids) }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
    void exited.then((how) => reject(new Error(`the child exited (${how}) before it was ready: ${stderr}`)));
  });
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
}

describe('open-exchange journal: an ext-proc killed mid-exchange', () => {
  test('the next start records the exchanges it was killed in as incomplete, keeps the completed one, and writes each once', async () => {
    const dir = await tempDir();
    const configFile = path.join(dir, 'sluice.yaml');
    await writeFile(configFile, [
      'targets:',
      '  - { name: orders-api, endpoints: ["127.0.0.1:9"], http: { pathPrefix: /orders-api/ } }',
      'extProc:',
      '  credentials: [{ target: orders-api, secret: orders-key }]',
      '  masking:',
      '    profiles: [{ name: pii, recognizers: [{ use: email, strategy: redact }] }]',
      '    targets: { orders-api: pii }',
      '  sessions: { store: file, dir: sessions, journalDir: journal }',
      '',
    ].join('\n'));
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    const [completed, streaming, waiting] = ids as [string, string, string];
    await crashChild(configFile, 'port-19999', ids);

    // What the dead process left: the two open exchanges, never a credential or an unmasked path.
    const journalFile = path.join(dir, 'journal', 'open-port-19999.journal');
    const left = await readFile(journalFile, 'utf8');
    assert.ok(left.includes(streaming) && left.includes(waiting));
    for (const secret of [SECRET, 'caller-token-never-recorded', 'jane.doe@example.com']) assert.ok(!left.includes(secret), `the journal holds ${secret}`);

    const config = parseConfig(await readFile(configFile, 'utf8'), configFile);
    const recording = (await startRecording(config, silentLogger(), undefined, 'port-19999'))!;
    try {
      await recording.queue.flush();
      await tick();
      const done = await recording.store.get(completed);
      assert.equal(done?.outcome, 'completed');
      const cut = await recording.store.get(streaming);
      assert.equal(cut?.outcome, 'incomplete');
      assert.equal(httpResponseOf(cut!)?.status, 206);
      const error = cut!.events.at(-1)!;
      assert.equal(error.kind === 'error' && error.code, 'ERR_RECORDING_INTERRUPTED');
      assert.equal(cut!.subject, 'alice');
      assert.ok(!JSON.stringify(cut).includes('jane.doe@example.com'), 'the recovered path is the masked one');
      const held = await recording.store.get(waiting);
      assert.equal(held?.outcome, 'incomplete');
      assert.equal(httpResponseOf(held!), undefined);
      assert.equal((await readFile(journalFile, 'utf8')).length, 0, 'the journal is empty once the recovered records are out');
    } finally {
      await recording.close();
    }
    // A second start finds nothing to recover and writes nothing twice.
    const again = (await startRecording(config, silentLogger(), undefined, 'port-19999'))!;
    await again.queue.flush();
    const page = await again.store.list({ limit: 100 });
    assert.deepEqual(page.records.map((s) => s.id).sort(), [...ids].sort());
    await again.close();
  });
});

/** Recovery when the real record did make it to the store but its close line did not. */
async function keepsStoredRecord(store: SessionStore, dir: string): Promise<void> {
  const real = sessionRecord({ id: randomUUID(), status: 200 });
  await store.append(real);
  const journal = OpenJournal.open({ dir, instance: 'idem', logger: silentLogger() });
  const other = randomUUID();
  journal.opened({ id: real.id, requestId: real.requestId, subject: real.subject, issuer: real.issuer, target: real.target, rule: real.rule, startedAt: real.startedAt });
  journal.opened({ id: other, requestId: 'r', subject: 'bob', issuer: 'dev', target: 'orders', rule: 'p/r', startedAt: real.startedAt });
  journal.flushNow();
  journal.close();
  const next = OpenJournal.open({ dir, instance: 'idem', logger: silentLogger() });
  const queue = new RecordingQueue(store, { logger: silentLogger() });
  assert.equal(recoverInterrupted(next, queue, silentLogger()), 2);
  // Until their records are out, the recovered exchanges stay open in the new journal.
  assert.equal(next.size, 2);
  assert.deepEqual([...readJournal(next.file).keys()].sort(), [real.id, other].sort());
  await queue.flush();
  assert.equal(next.size, 0);
  next.close();
  assert.equal((await store.get(real.id))?.outcome, 'completed', 'the real record is kept');
  assert.equal((await store.get(other))?.outcome, 'incomplete');
  const page = await store.list({ limit: 100 });
  assert.equal(page.records.filter((s) => s.id === real.id).length, 1);
}

describe('recovery never duplicates a record that was stored', () => {
  test('file store', async () => {
    const dir = await tempDir();
    const store = await FileSessionStore.open({ dir: path.join(dir, 'sessions'), logger: silentLogger() });
    try {
      await keepsStoredRecord(store, path.join(dir, 'journal'));
    } finally {
      await store.close();
    }
  });

  test('PostgreSQL store', async () => {
    const url = process.env.SLUICE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
    const schema = `sluice_test_journal_${randomUUID().slice(0, 8)}`;
    const store = await PostgresSessionStore.connect({ connectionString: url, schema, logger: silentLogger() });
    try {
      await keepsStoredRecord(store, path.join(await tempDir(), 'journal'));
    } finally {
      await store.close();
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    }
  });
});

test('a store that is down at start does not stop it: the recovered exchange stays journaled until the store takes it', async () => {
  const dir = path.join(await tempDir(), 'journal');
  const journal = OpenJournal.open({ dir, instance: 'down', logger: silentLogger() });
  const id = randomUUID();
  journal.opened({ id, requestId: 'r', subject: 'bob', issuer: 'dev', target: 'orders', rule: 'p/r', startedAt: 1_700_000_000_000 });
  journal.flushNow();
  journal.close();

  let up = false;
  const written: string[] = [];
  const store = {
    append: async (record: { id: string }) => {
      if (!up) throw new SessionError('ERR_SESSION_STORE_UNAVAILABLE', 'down');
      written.push(record.id);
    },
    get: async () => undefined, list: async () => ({ records: [] }), close: async () => undefined,
  } as unknown as SessionStore;
  const next = OpenJournal.open({ dir, instance: 'down', logger: silentLogger() });
  const queue = new RecordingQueue(store, { retryInitialMs: 5, retryMaxMs: 10, logger: silentLogger() });
  assert.equal(recoverInterrupted(next, queue, silentLogger()), 1);
  await new Promise((resolve) => setTimeout(resolve, 30));
  await tick();
  assert.deepEqual([...readJournal(next.file).keys()], [id], 'still journaled while the store is down');
  up = true;
  await queue.flush();
  await tick();
  assert.deepEqual(written, [id]);
  assert.equal(readJournal(next.file).size, 0);
  next.close();
});
