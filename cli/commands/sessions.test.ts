import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '../../common/logger.ts';
import { FileSessionStore } from '../../ext-proc/sessions/file-store.ts';
import { encodeFrameV1 } from '../../ext-proc/sessions/frame.ts';
import { sessionRecord, sessionRecordV1, T0 } from '../../ext-proc/sessions/store-suite.ts';
import { upgradeRecord } from '../../ext-proc/sessions/upgrade-record.ts';
import type { SessionRecord } from '../../ext-proc/sessions/types.ts';
import { parseWhen, runSessionsList, runSessionsReplay, runSessionsShow } from './sessions.ts';
import { capturingIo as io } from './sessions-test-io.ts';

let dir: string;
let records: SessionRecord[];


async function snapshot(): Promise<Record<string, { size: number; mtimeMs: number; bytes: string }>> {
  const files: Record<string, { size: number; mtimeMs: number; bytes: string }> = {};
  for (const name of await readdir(dir)) {
    const file = path.join(dir, name);
    const info = await stat(file);
    files[name] = { size: info.size, mtimeMs: info.mtimeMs, bytes: (await readFile(file)).toString('base64') };
  }
  return files;
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sluice-cli-sessions-'));
  records = [
    sessionRecord({ subject: 'alice', request: { headers: { authorization: 'Bearer sekrit-token', accept: 'application/json' }, body: { text: 'line one\nline two\u001b[31m', bytes: 22, truncated: false } } }, 0),
    sessionRecord({ subject: 'bob', target: 'billing-db', decision: 'deny', status: 403, response: { headers: { 'content-type': 'image/png' }, body: { base64: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]).toString('base64'), bytes: 5000, truncated: true } } }, 60),
    sessionRecord({ subject: 'alice', status: null }, 120),
  ];
  // Refused by the gateway: the caller got its 502, and the record says so.
  const refused = records[1]!;
  refused.outcome = 'refused';
  refused.events.splice(-1, 1, { at: T0 + 60_042, kind: 'error', code: 'ERR_BODY_REFUSED', reason: 'the upstream response cannot be delivered' });
  const store = await FileSessionStore.open({ dir, logger: silentLogger() });
  for (const record of records) await store.append(record);
  await store.close();
  // A record written before version 2 (cut mid-response), then a torn tail, as if ext-proc
  // crashed mid-write: the CLI reads both and must not repair anything.
  const old = sessionRecordV1({ subject: 'carol', status: null, events: undefined, response: { headers: { 'content-type': 'text/plain' }, body: { text: 'hal', bytes: 99, truncated: true } } }, 180);
  records.push(upgradeRecord(old));
  const [segment] = (await readdir(dir)).filter((name) => name.endsWith('.log'));
  await appendFile(path.join(dir, segment!), Buffer.concat([encodeFrameV1(old), Buffer.from('0badc0de {"half a rec')]));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sluice sessions', () => {
  test('list prints newest first, filters, pages and emits JSON; the store is left untouched', async () => {
    const before = await snapshot();

    const all = io();
    assert.equal(await runSessionsList(['--dir', dir], all), 0, all.stderr());
    const lines = all.stdout().trim().split('\n');
    assert.match(lines[0]!, /^STARTED\s+ID\s+SUBJECT\s+TARGET\s+SUMMARY\s+OUTCOME\s+DECISION\s+TIME$/);
    assert.deepEqual(lines.slice(1).map((line) => line.split(/\s+/)[1]), [records[3]!.id, records[2]!.id, records[1]!.id, records[0]!.id]);
    assert.match(lines[1]!, /carol \(corp\)\s+orders-api\s+POST \/orders\/180\?expand=items → no response\s+incomplete\s+allow\s+42 ms$/, 'a version 1 record lists too');
    assert.match(lines[3]!, /bob \(corp\)\s+billing-db\s+POST \/orders\/60\?expand=items → 403\s+refused\s+deny\s+42 ms$/);

    const outcome = io();
    assert.equal(await runSessionsList(['--dir', dir, '--outcome', 'incomplete', '--protocol', 'http'], outcome), 0, outcome.stderr());
    assert.deepEqual(outcome.stdout().trim().split('\n').slice(1).map((line) => line.split(/\s+/)[1]), [records[3]!.id, records[2]!.id]);

    const alice = io();
    assert.equal(await runSessionsList(['--dir', dir, '--subject', 'alice', '--limit', '1', '--json'], alice), 0);
    const page = JSON.parse(alice.stdout()) as { sessions: SessionRecord[]; next_cursor: string | null };
    assert.deepEqual(page.sessions.map((r) => r.id), [records[2]!.id]);
    assert.ok(page.next_cursor);
    const next = io();
    assert.equal(await runSessionsList(['--dir', dir, '--subject', 'alice', '--limit', '1', '--cursor', page.next_cursor, '--json'], next), 0);
    assert.deepEqual((JSON.parse(next.stdout()) as { sessions: SessionRecord[] }).sessions.map((r) => r.id), [records[0]!.id]);

    // now() is T0 + 10 min: "9m" reaches back to T0 + 1 min, where record 1 starts.
    const since = io();
    assert.equal(await runSessionsList(['--dir', dir, '--since', '9m', '--until', new Date(T0 + 120_000).toISOString()], since), 0);
    assert.deepEqual(since.stdout().trim().split('\n').slice(1).map((line) => line.split(/\s+/)[1]), [records[1]!.id]);

    const none = io();
    assert.equal(await runSessionsList(['--dir', dir, '--target', 'nothing'], none), 0);
    assert.equal(none.stdout(), 'no recorded sessions match\n');

    assert.deepEqual(await snapshot(), before, 'no LOCK file, no repair, no write');
  });

  test('show prints the record with masked credentials and safe bodies', async () => {
    const out = io();
    assert.equal(await runSessionsShow([records[0]!.id, '--dir', dir], out), 0, out.stderr());
    const text = out.stdout();
    assert.match(text, /^session {5}[0-9a-f-]{36}$/m);
    assert.match(text, /^subject {5}alice \(issuer corp\)$/m);
    assert.match(text, /^summary {5}POST \/orders\/0\?expand=items → 201$/m);
    assert.match(text, /^outcome {5}completed$/m);
    assert.match(text, /── \[\+0 ms\] request: POST \/orders\/0\?expand=items\nauthorization: \[redacted\]\naccept: application\/json\n/);
    assert.ok(!text.includes('sekrit-token'));
    assert.match(text, /── request body \(22 bytes\)\nline one\nline two \[31m\n/);
    assert.match(text, /── \[\+40 ms\] response: 201 Created\ncontent-type: application\/json\n/);
    assert.match(text, /── \[\+42 ms\] end\n$/);
    assert.ok(!text.includes('\u001b'), 'no escape sequences reach the terminal');

    const binary = io();
    assert.equal(await runSessionsShow([records[1]!.id, '--dir', dir], binary), 0);
    assert.match(binary.stdout(), /── response body \(binary, base64, 7 of 5000 bytes recorded, truncated\)\niVBORwABAg==\n/);
    assert.match(binary.stdout(), /── \[\+42 ms\] error ERR_BODY_REFUSED: the upstream response cannot be delivered\n$/);

    const old = io();
    assert.equal(await runSessionsShow([records[3]!.id, '--dir', dir], old), 0);
    assert.match(old.stdout(), /response: \(status not recorded\)\ncontent-type: text\/plain\n── response body \(3 of 99 bytes recorded, truncated\)\nhal\n/);

    const json = io();
    assert.equal(await runSessionsShow([records[1]!.id, '--dir', dir, '--json'], json), 0);
    assert.deepEqual(JSON.parse(json.stdout()), records[1]);
  });

  test('replay prints the event timeline in order, with offsets and the outcome', async () => {
    const out = io();
    assert.equal(await runSessionsReplay([records[0]!.id, '--dir', dir], out), 0, out.stderr());
    const text = out.stdout();
    const order = [
      `replay of session ${records[0]!.id}: alice (corp) → orders-api, rule prod/allow-orders, allow, http`,
      '[+0 ms] request',
      '> POST /orders/0?expand=items',
      '> authorization: [redacted]',
      '[+1 ms] request body: 22 bytes',
      '> line one',
      '[+40 ms] response',
      '< 201 Created',
      '< content-type: application/json',
      '[+41 ms] response body: 8 bytes',
      '< {"id":7}',
      '[+42 ms] end',
      'outcome: completed, 42 ms',
    ];
    let at = -1;
    for (const line of order) {
      const next = text.indexOf(`${line}\n`, at + 1);
      assert.ok(next > at, `"${line}" after the line before it in:\n${text}`);
      at = next;
    }

    const plain = io();
    assert.equal(await runSessionsReplay([records[1]!.id, '--dir', dir], plain), 0);
    assert.match(plain.stdout(), /> POST \/orders\/60\?expand=items\n([>[].*\n)*\[\+40 ms\] response\n< 403 Forbidden\n< content-type: image\/png\n\[\+41 ms\] response body: 5000 bytes\n<\n< iVBORwABAg==\n< \[truncated: 7 of 5000 bytes recorded\]\n\[\+42 ms\] error ERR_BODY_REFUSED: the upstream response cannot be delivered\noutcome: refused, 42 ms\n$/);

    const noResponse = io();
    assert.equal(await runSessionsReplay([records[2]!.id, '--dir', dir], noResponse), 0);
    assert.doesNotMatch(noResponse.stdout(), /\] response/);
    assert.match(noResponse.stdout(), /\[\+42 ms\] error the exchange ended before a response\noutcome: incomplete, 42 ms\n$/);
  });

  test('errors: unknown session 1, missing store 1 with its code, bad usage 2', async () => {
    const unknown = io();
    assert.equal(await runSessionsShow(['6b1d6a43-3c3e-4a8e-9d53-000000000000', '--dir', dir], unknown), 1);
    assert.match(unknown.stderr(), /no recorded session/);

    const missing = io();
    assert.equal(await runSessionsList(['--dir', path.join(dir, 'nope')], missing), 1);
    assert.match(missing.stderr(), /^sluice: ERR_SESSION_STORE_UNAVAILABLE: no session store in /);

    for (const args of [['--since', 'yesterday'], ['--limit', '0'], ['--store', 'redis'], ['--bogus'], ['--protocol', 'ftp'], ['--outcome', 'fine']]) {
      const bad = io();
      assert.equal(await runSessionsList(['--dir', dir, ...args], bad), 2, args.join(' '));
      assert.ok(bad.stderr().startsWith('sluice: '), bad.stderr());
    }
    const noId = io();
    assert.equal(await runSessionsReplay(['--dir', dir], noId), 2);
    assert.match(noId.stderr(), /usage: sluice sessions replay <id>/);
  });

  test('parseWhen takes ISO times and ages', () => {
    assert.equal(parseWhen('2025-01-01T00:00:00Z', 0), T0);
    assert.equal(parseWhen('15m', 1_000_000), 100_000);
    assert.equal(parseWhen('2h', 10_000_000), 10_000_000 - 7_200_000);
    assert.equal(parseWhen('soon', 0), null);
    assert.equal(parseWhen('12', 0), null);
  });
});

describe('sluice sessions: credential and masking', () => {
  let auditDir: string;
  let audit: SessionRecord[];
  const secret = (version: string) => ({ target: 'orders-api', kind: 'secret' as const, secret: { name: 'orders-token', version } });
  const masking = (response: Record<string, number>) => ({ profile: 'pii', request: { masked: {}, delivered: false, recordedTruncated: false }, response: { masked: response, delivered: true, recordedTruncated: true } });

  before(async () => {
    auditDir = await mkdtemp(path.join(tmpdir(), 'sluice-cli-audit-'));
    audit = [
      sessionRecord({ subject: 'alice', credential: secret('v1:00000000000000aa'), masking: masking({ card: 2 }) }, 0),
      sessionRecord({ subject: 'alice', credential: secret('v1:00000000000000bb'), masking: masking({}) }, 60),
      sessionRecord({ subject: 'bob', credential: secret('v1:00000000000000bb'), masking: masking({ email: 1 }) }, 120),
      sessionRecord({ subject: 'carol', target: 'other', masking: { profile: 'pii', request: { masked: {}, delivered: false, recordedTruncated: false, headers: { email: 1 } }, response: { masked: {}, delivered: true, recordedTruncated: false } } }, 180),
    ];
    const store = await FileSessionStore.open({ dir: auditDir, logger: silentLogger() });
    for (const record of audit) await store.append(record);
    await store.close();
  });
  after(() => rm(auditDir, { recursive: true, force: true }));

  test('--credential lists who used it: one row per subject and target, first and last use, exchanges, versions', async () => {
    const out = io();
    assert.equal(await runSessionsList(['--dir', auditDir, '--credential', 'orders-token', '--json'], out), 0);
    assert.deepEqual(JSON.parse(out.stdout()), {
      credential: 'orders-token',
      rows: [
        { subject: 'bob', issuer: 'corp', target: 'orders-api', firstUsedAt: audit[2]!.startedAt, lastUsedAt: audit[2]!.startedAt, exchanges: 1, versions: ['v1:00000000000000bb'] },
        { subject: 'alice', issuer: 'corp', target: 'orders-api', firstUsedAt: audit[0]!.startedAt, lastUsedAt: audit[1]!.startedAt, exchanges: 2, versions: ['v1:00000000000000bb', 'v1:00000000000000aa'] },
      ],
    });
    const text = io();
    assert.equal(await runSessionsList(['--dir', auditDir, '--credential', 'orders-token', '--version', 'v1:00000000000000aa'], text), 0);
    assert.match(text.stdout(), /^SUBJECT\s+TARGET\s+FIRST USE\s+LAST USE\s+EXCHANGES\s+VERSIONS\nalice \(corp\)\s+orders-api\s+\S+\s+\S+\s+1\s+v1:00000000000000aa\n$/);
    const none = io();
    assert.equal(await runSessionsList(['--dir', auditDir, '--credential', 'nope'], none), 0);
    assert.equal(none.stdout(), 'no recorded session used nope\n');
  });

  test('--masked lists sessions where a recognizer masked something; --since takes ages', async () => {
    const out = io();
    assert.equal(await runSessionsList(['--dir', auditDir, '--masked', 'card', '--json'], out), 0);
    assert.deepEqual(JSON.parse(out.stdout()).sessions.map((r: SessionRecord) => r.id), [audit[0]!.id]);
    const recent = io();
    assert.equal(await runSessionsList(['--dir', auditDir, '--credential', 'orders-token', '--since', '9m', '--json'], recent), 0);
    assert.deepEqual(JSON.parse(recent.stdout()).rows.map((r: { subject: string }) => r.subject), ['bob', 'alice']);
    const older = io();
    assert.equal(await runSessionsList(['--dir', auditDir, '--credential', 'orders-token', '--since', '8m', '--json'], older), 0);
    assert.deepEqual(JSON.parse(older.stdout()).rows.map((r: { exchanges: number }) => r.exchanges), [1]);
  });

  test('show prints the credential and the masking report', async () => {
    const out = io();
    assert.equal(await runSessionsShow(['--dir', auditDir, audit[0]!.id], out), 0);
    assert.match(out.stdout(), /credential\s+secret orders-token v1:00000000000000aa \(entry orders-api\)\n/);
    assert.match(out.stdout(), /masking\s+profile pii\n\s+request\s+nothing masked\n\s+response\s+masked card 2 \(as delivered\), recorded body truncated\n/);
    const bare = io();
    assert.equal(await runSessionsShow(['--dir', auditDir, audit[3]!.id], bare), 0);
    assert.match(bare.stdout(), /credential\s+none recorded\n/);
    assert.match(bare.stdout(), /\s+request\s+nothing masked; headers: masked email 1 \(in the record only\)\n/);
  });
});

test('a redis session shows and replays as a command log: logins, commands with keys and masked values, reply sizes, refusals; a command whose reply was not read is "sent"', async () => {
  const { replaySession, showSession } = await import('./sessions.ts');
  const { prepareRecord } = await import('../../ext-proc/sessions/prepare-record.ts');
  const record: SessionRecord = {
    version: 2, id: '00000000-0000-4000-8000-00000000abcd', requestId: '', protocol: 'redis', subject: 'worker-1', issuer: 'dev', target: 'jobs',
    rule: 'workers/redis', decision: 'allow', startedAt: T0, endedAt: T0 + 10, outcome: 'completed', summary: '3 commands, 1 refused',
    events: [
      { at: T0, kind: 'redis.login', outcome: 'ok', subject: 'worker-1', issuer: 'dev' },
      { at: T0 + 1, kind: 'redis.command', command: 'SET', keys: ['jobs:1'], values: ['card ****1111'], args: 2, bytes: 40, outcome: 'ok', replyBytes: 5, rule: 'workers/jobs', durationMs: 0.5 },
      { at: T0 + 2, kind: 'redis.command', command: 'GET', keys: ['secrets:x'], args: 1, bytes: 30, outcome: 'refused', code: 'ERR_REDIS_COMMAND_DENIED' },
      { at: T0 + 3, kind: 'redis.command', command: 'HSET', keys: ['jobs:h'], args: 3, bytes: 30, outcome: 'error', error: 'WRONGTYPE Operation against a key holding the wrong kind of value', replyBytes: 68 },
      // recording: commands: forwarded, no reply read.
      { at: T0 + 4, kind: 'redis.command', command: 'INCR', keys: ['jobs:n'], args: 1, bytes: 28, outcome: 'sent', rule: 'workers/jobs' },
      { at: T0 + 10, kind: 'end' },
    ],
  };
  const stored = prepareRecord(record, { maxBodyBytes: 1024, redactHeaders: new Set() });
  assert.deepEqual(stored.events, record.events, 'the store keeps every redis field');
  const replay = replaySession(stored);
  assert.match(replay, /\[\+0 ms\] AUTH as worker-1 \(dev\)/);
  assert.match(replay, /> SET "jobs:1" "card \*\*\*\*1111" → ok, 5 bytes/);
  assert.match(replay, /> GET "secrets:x" → refused ERR_REDIS_COMMAND_DENIED/);
  assert.match(replay, /> HSET "jobs:h" \[2 values not recorded\] → error: WRONGTYPE/);
  assert.match(replay, /> INCR "jobs:n" → sent\n/);
  assert.match(showSession(stored), /── \[\+1 ms\] SET "jobs:1"/);
  assert.throws(() => prepareRecord({ ...record, protocol: 'postgres' }, { maxBodyBytes: 1024, redactHeaders: new Set() }), /redis.login belongs to redis sessions/);
});
