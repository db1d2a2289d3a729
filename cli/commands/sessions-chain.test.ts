import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { silentLogger } from '../../common/logger.ts';
import { FileSessionStore } from '../../ext-proc/sessions/file-store.ts';
import { decodeFrameMeta, decodeFrameRecord, encodeFrame } from '../../ext-proc/sessions/frame.ts';
import { PostgresSessionStore } from '../../ext-proc/sessions/postgres-store.ts';
import { sessionRecord, T0 } from '../../ext-proc/sessions/store-suite.ts';
import type { SessionRecord } from '../../ext-proc/sessions/types.ts';
import { runSessionsPurge, runSessionsVerify } from './sessions-chain.ts';
import { capturingIo as io } from './sessions-test-io.ts';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

/** A file store with `count` records, one per segment (small segments), one second apart from T0. */
async function fileStore(count: number, chainKey?: Buffer): Promise<{ dir: string; records: SessionRecord[] }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sluice-cli-chain-'));
  dirs.push(dir);
  const records = Array.from({ length: count }, (_, i) => sessionRecord({}, i));
  const store = await FileSessionStore.open({ dir, maxFileBytes: 1024, fsync: 'off', logger: silentLogger(), ...(chainKey === undefined ? {} : { chainKey }) });
  for (const record of records) await store.append(record);
  await store.close();
  return { dir, records };
}

/** Changes a record's subject in place, keeping its link and fixing its checksum, as an intruder would. */
async function alterSubject(dir: string, id: string): Promise<void> {
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.log'))) {
    const file = path.join(dir, name);
    const bytes = await readFile(file);
    const meta = decodeFrameMeta(bytes);
    if (meta?.id !== id) continue;
    await writeFile(file, encodeFrame({ ...decodeFrameRecord(bytes)!, subject: 'mallory' }, meta.link));
    return;
  }
  throw new Error(`no segment holds ${id}`);
}

describe('sluice sessions verify', () => {
  test('a chained store verifies: per-partition count and head, exit 0; --json carries the same', async () => {
    const { dir } = await fileStore(3);
    const out = io();
    assert.equal(await runSessionsVerify(['--dir', dir], out), 0, out.stderr());
    assert.match(out.stdout(), /^partition file sha256: 3 verified \(seq 1\.\.3\), head 3 [0-9a-f]{64}$/m);
    assert.match(out.stdout(), /^verify: OK; 3 records verified in 1 partition$/m);
    const json = io();
    assert.equal(await runSessionsVerify(['--dir', dir, '--json'], json), 0);
    const report = JSON.parse(json.stdout()) as { ok: boolean; verified: number; partitions: { head: { seq: number; hash: string } }[] };
    assert.equal(report.ok, true);
    assert.equal(report.verified, 3);
    assert.ok(out.stdout().includes(report.partitions[0]!.head.hash));
  });

  test('an altered record is named with its position, expected and found; exit 1', async () => {
    const { dir, records } = await fileStore(4);
    await alterSubject(dir, records[1]!.id);
    const out = io();
    assert.equal(await runSessionsVerify(['--dir', dir], out), 1);
    const text = out.stdout();
    assert.match(text, /BROKEN at seq 2: a record was altered/);
    assert.match(text, new RegExp(`record   ${records[1]!.id} at sessions-\\d{8}\\.log@0`));
    assert.match(text, /expected hash [0-9a-f]{64} \(of the content as stored\)/);
    assert.match(text, /found    hash [0-9a-f]{64} \(recorded when it was written\)/);
    assert.match(text, /^verify: FAILED: 1 of 1 partition broken; 1 record verified/m);
  });

  test('a keyed store needs --key-file: without it exit 1 and the key id named; with it exit 0; a short key is usage', async () => {
    // A text key, as the secret stores hold one: the key is the UTF-8 bytes of the secret's value.
    const secret = randomBytes(24).toString('base64');
    const { dir } = await fileStore(2, Buffer.from(secret, 'utf8'));
    const without = io();
    assert.equal(await runSessionsVerify(['--dir', dir], without), 1);
    assert.match(without.stdout(), /hmac-sha256 key k1:[0-9a-f]{16}: 0 verified/);
    assert.match(without.stdout(), /the partition is keyed: pass its key with --key-file/);
    const keyFile = `${dir}.key`;
    dirs.push(keyFile);
    await writeFile(keyFile, `${secret}\n`);
    const withKey = io();
    assert.equal(await runSessionsVerify(['--dir', dir, '--key-file', keyFile], withKey), 0, withKey.stdout() + withKey.stderr());
    assert.match(withKey.stdout(), /verify: OK; 2 records verified/);
    await writeFile(keyFile, 'short');
    const bad = io();
    assert.equal(await runSessionsVerify(['--dir', dir, '--key-file', keyFile], bad), 2);
    assert.match(bad.stderr(), /at least 16 bytes/);
    assert.doesNotMatch(bad.stderr(), /short/, 'the key never reaches the output');
    assert.doesNotMatch(without.stdout() + withKey.stdout(), new RegExp(secret.replace(/[+/]/g, '.')));
  });

  test('--help says what is checked, the exit codes and the head to anchor', async () => {
    const out = io();
    assert.equal(await runSessionsVerify(['--help'], out), 0);
    for (const phrase of ['usage: sluice sessions verify', 'altered, removed or reordered', 'Exit status', 'head', 'unchained', '--key-file']) assert.ok(out.stdout().includes(phrase), phrase);
  });
});

describe('sluice sessions purge', () => {
  test('needs --before and --yes (or --dry-run); a dry run counts and changes nothing; a purge keeps verify passing', async () => {
    const { dir, records } = await fileStore(5);
    const noBefore = io();
    assert.equal(await runSessionsPurge(['--dir', dir, '--yes'], noBefore), 2);
    const badBefore = io();
    assert.equal(await runSessionsPurge(['--dir', dir, '--before', 'yesterday', '--yes'], badBefore), 2);
    assert.match(badBefore.stderr(), /ISO time/);
    const noYes = io();
    assert.equal(await runSessionsPurge(['--dir', dir, '--before', '2025-01-01T00:00:02Z'], noYes), 2);
    assert.match(noYes.stderr(), /add --yes to do it, or --dry-run/);
    const dry = io();
    assert.equal(await runSessionsPurge(['--dir', dir, '--before', '2025-01-01T00:00:02Z', '--dry-run'], dry), 0, dry.stderr());
    assert.match(dry.stdout(), /^purge: would remove 2 records that started before 2025-01-01T00:00:02.000Z \(dry run: nothing changed\)$/m);
    const still = await FileSessionStore.open({ dir, readOnly: true, logger: silentLogger() });
    assert.equal(still.size, 5);
    await still.close();

    const done = io();
    assert.equal(await runSessionsPurge(['--dir', dir, '--before', '2025-01-01T00:00:02Z', '--yes', '--json'], done), 0, done.stderr());
    const report = JSON.parse(done.stdout()) as { removed: number; partitions: { purgedSeq: number }[] };
    assert.equal(report.removed, 2);
    assert.equal(report.partitions[0]!.purgedSeq, 2);
    const verify = io();
    assert.equal(await runSessionsVerify(['--dir', dir], verify), 0, verify.stdout());
    assert.match(verify.stdout(), /3 verified \(seq 3\.\.5\)/);
    assert.match(verify.stdout(), /purged up to seq 2 \(records before 2025-01-01T00:00:02.000Z/);

    // An age is measured from now (the fake clock is T0 + 10 min): 5m ago is after every record.
    const byAge = io();
    assert.equal(await runSessionsPurge(['--dir', dir, '--before', '5m', '--dry-run'], byAge), 0);
    assert.match(byAge.stdout(), /would remove 3 records/);
    const left = await FileSessionStore.open({ dir, readOnly: true, logger: silentLogger() });
    assert.equal(await left.get(records[1]!.id), undefined);
    assert.equal((await left.get(records[2]!.id))?.id, records[2]!.id);
    await left.close();
  });

  test('a keyed file store is purged with its --key-file; without it the writer refuses (ERR_SESSION_CHAIN_KEY) and nothing goes', async () => {
    const secret = randomBytes(24).toString('base64');
    const { dir } = await fileStore(3, Buffer.from(secret, 'utf8'));
    const keyFile = `${dir}.key`;
    dirs.push(keyFile);
    await writeFile(keyFile, secret);
    const without = io();
    assert.equal(await runSessionsPurge(['--dir', dir, '--before', '2025-01-01T00:00:01Z', '--yes'], without), 1);
    assert.match(without.stderr(), /ERR_SESSION_CHAIN_KEY: .* is chained with key k1:[0-9a-f]{16}, and this store was given no key/);
    const withKey = io();
    assert.equal(await runSessionsPurge(['--dir', dir, '--before', '2025-01-01T00:00:01Z', '--yes', '--key-file', keyFile], withKey), 0, withKey.stderr());
    assert.match(withKey.stdout(), /removed 1 record /);
    const verify = io();
    assert.equal(await runSessionsVerify(['--dir', dir, '--key-file', keyFile], verify), 0, verify.stdout());
    assert.match(verify.stdout(), /2 verified \(seq 2\.\.3\)/);
  });

  test('--help names the confirmation, the dry run and the file store lock', async () => {
    const out = io();
    assert.equal(await runSessionsPurge(['--help'], out), 0);
    for (const phrase of ['usage: sluice sessions purge', '--before', '--dry-run', '--yes', 'purge point', 'ERR_SESSION_STORE_LOCKED']) assert.ok(out.stdout().includes(phrase), phrase);
  });

  test('a file store that ext-proc holds cannot be purged (its lock), but can be dry-run', async () => {
    const { dir } = await fileStore(2);
    const writer = await FileSessionStore.open({ dir, logger: silentLogger() });
    try {
      const out = io();
      assert.equal(await runSessionsPurge(['--dir', dir, '--before', '2025-01-01T00:00:01Z', '--yes'], out), 1);
      assert.match(out.stderr(), /ERR_SESSION_STORE_LOCKED/);
      const dry = io();
      assert.equal(await runSessionsPurge(['--dir', dir, '--before', '2025-01-01T00:00:01Z', '--dry-run'], dry), 0, dry.stderr());
      assert.match(dry.stdout(), /would remove 1 record /);
    } finally {
      await writer.close();
    }
  });
});

describe('sluice sessions verify and purge on PostgreSQL', () => {
  const url = process.env.SLUICE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const schema = `sluice_test_cli_${randomUUID().slice(0, 8)}`;
  after(async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  });

  test('after a key rotation each partition is checked with the key it recorded (--key-file repeated)', async () => {
    const keySchema = `${schema}_keys`;
    const secrets = [randomBytes(24).toString('base64'), randomBytes(24).toString('base64')];
    const files: string[] = [];
    for (const [i, secret] of secrets.entries()) {
      const store = await PostgresSessionStore.connect({ connectionString: url, schema: keySchema, logger: silentLogger(), chainKey: Buffer.from(secret, 'utf8') });
      await store.append(sessionRecord({}, i));
      await store.close();
      const dir = await mkdtemp(path.join(tmpdir(), 'sluice-cli-key-'));
      dirs.push(dir);
      files.push(path.join(dir, 'key'));
      await writeFile(files[i]!, secret);
    }
    const flags = ['--store', 'postgres', '--database-url', url, '--schema', keySchema];
    try {
      const one = io();
      assert.equal(await runSessionsVerify([...flags, '--key-file', files[0]!], one), 1);
      assert.match(one.stdout(), /FAILED: 1 of 2 partitions broken/);
      const both = io();
      assert.equal(await runSessionsVerify([...flags, '--key-file', files[0]!, '--key-file', files[1]!], both), 0, both.stdout());
      assert.match(both.stdout(), /verify: OK; 2 records verified in 2 partitions/);
    } finally {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${keySchema}" CASCADE`);
      await client.end();
    }
  });

  test('verify counts partitions and names a row deleted by hand after a purge', async () => {
    for (let writer = 0; writer < 2; writer += 1) {
      const store = await PostgresSessionStore.connect({ connectionString: url, schema, logger: silentLogger() });
      for (let i = 0; i < 3; i += 1) await store.append(sessionRecord({}, writer * 10 + i));
      await store.close();
    }
    const flags = ['--store', 'postgres', '--database-url', url, '--schema', schema];
    const ok = io();
    assert.equal(await runSessionsVerify(flags, ok), 0, ok.stdout() + ok.stderr());
    assert.match(ok.stdout(), /verify: OK; 6 records verified in 2 partitions/);
    const purge = io();
    assert.equal(await runSessionsPurge([...flags, '--before', new Date(T0 + 2000).toISOString(), '--yes'], purge), 0, purge.stderr());
    assert.match(purge.stdout(), /removed 2 records/);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const victim = await client.query<{ id: string }>(`DELETE FROM "${schema}".sluice_sessions WHERE started_at = $1 RETURNING id`, [new Date(T0 + 2000)]);
    await client.end();
    assert.equal(victim.rowCount, 1);
    const broken = io();
    assert.equal(await runSessionsVerify(flags, broken), 1);
    // The deleted row was the last of its partition: the head its writer recorded is further on.
    assert.match(broken.stdout(), /BROKEN at seq 3: records were removed from the end/);
  });
});
