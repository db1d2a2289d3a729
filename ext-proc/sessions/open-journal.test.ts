import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { OpenJournal, readJournal } from './open-journal.ts';
import { interruptedRecord } from './interrupted-record.ts';
import { checkRecord } from './prepare-record.ts';
import { isSessionError } from './errors.ts';

const quiet = { info() {}, warn() {}, error() {}, debug() {}, child() { return quiet; } } as never;
const ID_A = '11111111-1111-4111-8111-111111111111';
const ID_B = '22222222-2222-4222-8222-222222222222';

function exchange(id: string, startedAt = 1_700_000_000_000) {
  return { id, requestId: `req-${id.slice(0, 4)}`, subject: 'alice@example.com', issuer: 'https://idp.example', target: 'orders', rule: 'read', startedAt };
}

function dir(): string {
  return mkdtempSync(path.join(tmpdir(), 'sluice-journal-'));
}

test('an exchange opened and noted but not closed is what a later process recovers; a closed one is not', async () => {
  const where = dir();
  const journal = OpenJournal.open({ dir: where, instance: 'port-1', logger: quiet });
  journal.opened(exchange(ID_A));
  journal.opened(exchange(ID_B));
  journal.note(ID_A, { protocol: 'http', method: 'GET', path: '/orders?card=****', at: 1_700_000_000_001 });
  journal.note(ID_A, { status: 200, at: 1_700_000_000_050 });
  journal.closedOne(ID_B);
  await tick();
  // Killed here (no close()): what is in the file is what the next start sees.
  const left = [...readJournal(journal.file).values()];
  assert.equal(left.length, 1);
  assert.deepEqual(left[0], { ...exchange(ID_A), lastAt: 1_700_000_000_050, protocol: 'http', method: 'GET', path: '/orders?card=****', status: 200 });
  journal.close();

  const next = OpenJournal.open({ dir: where, instance: 'port-1', logger: quiet });
  assert.deepEqual(next.recover().map((e) => e.id), [ID_A]);
  next.clear();
  assert.deepEqual(next.recover(), []);
  next.close();
});

test('writes are batched: nothing is written until the turn ends, except a status, written at once', async () => {
  const where = dir();
  const journal = OpenJournal.open({ dir: where, instance: 'batch', logger: quiet });
  journal.opened(exchange(ID_A));
  journal.note(ID_A, { method: 'GET', path: '/', at: 1_700_000_000_005 });
  assert.equal(statSync(journal.file).size, 0);
  await tick();
  assert.equal(readFileSync(journal.file, 'utf8').trim().split('\n').length, 2);
  journal.note(ID_A, { status: 201, at: 1_700_000_000_010 });
  // Before the answer with the status can go back: no turn has passed.
  assert.equal(readJournal(journal.file).get(ID_A)?.status, 201);
  journal.close();
});

test('with no exchange open the file is truncated instead of growing', async () => {
  const where = dir();
  const journal = OpenJournal.open({ dir: where, instance: 'empty', logger: quiet });
  journal.opened(exchange(ID_A));
  await tick();
  assert.ok(statSync(journal.file).size > 0);
  journal.closedOne(ID_A);
  await tick();
  assert.equal(statSync(journal.file).size, 0);
  // Opened and closed within one turn: never written at all.
  journal.opened(exchange(ID_B));
  journal.closedOne(ID_B);
  await tick();
  assert.equal(statSync(journal.file).size, 0);
  journal.close();
});

test('past maxBytes the file is rewritten with only the open entries (their notes kept)', async () => {
  const where = dir();
  const journal = OpenJournal.open({ dir: where, instance: 'big', maxBytes: 4096, logger: quiet });
  journal.opened(exchange(ID_A));
  journal.note(ID_A, { status: 206, at: 1_700_000_000_100 });
  await tick();
  for (let i = 0; i < 100; i++) {
    const id = `33333333-3333-4333-8333-${String(i).padStart(12, '0')}`;
    journal.opened(exchange(id));
    journal.closedOne(id);
    await tick();
  }
  assert.ok(statSync(journal.file).size <= 4096, `journal is ${statSync(journal.file).size} bytes`);
  const left = [...readJournal(journal.file).values()];
  assert.deepEqual(left.map((e) => [e.id, e.status]), [[ID_A, 206]]);
  journal.close();
});

test('a torn last line (killed mid-write) and garbage lines are ignored', () => {
  const where = dir();
  const file = OpenJournal.fileOf(where, 'torn');
  const open = (id: string) => `${JSON.stringify({ op: 'open', ...exchange(id), lastAt: 1_700_000_000_000 })}\n`;
  writeFileSync(file, open(ID_A) + 'not json\n' + JSON.stringify({ op: 'open', id: ID_B }) + '\n');
  appendFileSync(file, open(ID_B).slice(0, 40));
  assert.deepEqual([...readJournal(file).keys()], [ID_A]);
});

test('two instances never share a file, and a second process of one instance is refused while the first lives', () => {
  const where = dir();
  const a = OpenJournal.open({ dir: where, instance: 'port-18080', logger: quiet });
  const b = OpenJournal.open({ dir: where, instance: 'port-18081', logger: quiet });
  assert.notEqual(a.file, b.file);
  assert.throws(() => OpenJournal.open({ dir: where, instance: 'port-18080', logger: quiet }), (err) => isSessionError(err, 'ERR_SESSION_STORE_LOCKED'));
  // A lock whose holder is alive (our parent, here) is refused too.
  a.close();
  writeFileSync(`${a.file}.lock`, `${process.ppid}\n`);
  assert.throws(() => OpenJournal.open({ dir: where, instance: 'port-18080', logger: quiet }), (err) => isSessionError(err, 'ERR_SESSION_STORE_LOCKED'));
  // One left by a process that is gone is taken over.
  writeFileSync(`${a.file}.lock`, '2147483646\n');
  OpenJournal.open({ dir: where, instance: 'port-18080', logger: quiet }).close();
  b.close();
  assert.throws(() => OpenJournal.fileOf(where, '../etc'), (err) => isSessionError(err, 'ERR_SESSION_INVALID'));
});

test('interrupted records pass the store checks, with and without a response status', () => {
  const withStatus = interruptedRecord({ ...exchange(ID_A), lastAt: 1_700_000_000_050, protocol: 'http', method: 'POST', path: '/orders', status: 200 });
  assert.deepEqual(checkRecord(withStatus), []);
  assert.equal(withStatus.outcome, 'incomplete');
  assert.equal(withStatus.endedAt, 1_700_000_000_050);
  const last = withStatus.events.at(-1)!;
  assert.equal(last.kind === 'error' && last.code, 'ERR_RECORDING_INTERRUPTED');
  assert.deepEqual(withStatus.events.map((e) => e.kind), ['http.request', 'http.response', 'error']);
  const bare = interruptedRecord({ ...exchange(ID_B), lastAt: 1_700_000_000_000 });
  assert.deepEqual(checkRecord(bare), []);
  assert.deepEqual(bare.events.map((e) => e.kind), ['error']);
});
