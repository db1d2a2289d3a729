import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { Gateway, TEST_SECRETS } from '../harness/gateway.ts';
import { waitFor } from '../harness/wait.ts';
import { FileSessionStore, PostgresSessionStore, httpRequestOf, type SessionRecord } from '../../ext-proc/sessions/index.ts';
import { silentLogger } from '../../common/logger.ts';

const FIXTURE_POLICIES = fileURLToPath(new URL('../fixtures/policies/', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const DATABASE_URL = process.env.SLUICE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const run = promisify(execFile);

const CARD_EMAIL = {
  name: 'card-email',
  recognizers: [
    { use: 'card', strategy: 'keep-last-4' },
    { use: 'email', strategy: 'redact' },
  ],
  binary: 'refuse',
};

const ROTATED = 'demo-upstream-secret-0002-rotated';

/** Every plain (unkeyed) hash an auditor might fear a version is: sha1/sha256/md5, hex, base64 and base64url. */
function plainHashes(value: string): string[] {
  return ['sha1', 'sha256', 'md5'].flatMap((algorithm) => {
    const digest = createHash(algorithm).update(value, 'utf8').digest();
    return [digest.toString('hex'), digest.toString('base64'), digest.toString('base64url')];
  });
}

/**
 * The two questions an audit record must answer, asked of records a real Envoy + ext-proc wrote:
 * which credential (and which value of it) was used, and what sensitive data was masked — with
 * bodies not kept at all (maxBodyBytes 0), so the answers come from the record's own fields.
 */
describe('audit records through real Envoy: credential versions and masking counts', () => {
  let gw: Gateway;
  let alice: string;
  let bob: string;
  let sessionsDir: string;
  const cliOutputs: string[] = [];

  before(async () => {
    sessionsDir = mkdtempSync(path.join(tmpdir(), 'sluice-audit-sessions-'));
    gw = await Gateway.start({
      policySource: FIXTURE_POLICIES,
      masking: { profiles: [CARD_EMAIL], targets: { 'demo-api': 'card-email' } },
      sessions: { store: 'file', dir: sessionsDir, maxBodyBytes: 0 },
    });
    alice = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'] });
    bob = await gw.issuer.mint({ sub: 'bob', groups: ['engineering'] });
  });
  after(async () => {
    await gw?.stop();
    rmSync(sessionsDir, { recursive: true, force: true });
  });

  const hit = (marker: string) => gw.upstream.seen.find((r) => r.path.includes(marker));

  async function records(): Promise<SessionRecord[]> {
    await gw.proc!.recordingQueue!.flush();
    const store = await FileSessionStore.open({ dir: sessionsDir, readOnly: true, logger: silentLogger() });
    try {
      return (await store.list({ limit: 1000 })).records;
    } finally {
      await store.close();
    }
  }
  const byMarker = (all: SessionRecord[], marker: string) => all.find((r) => httpRequestOf(r)?.path.includes(marker));

  test('a rotation between two requests: the same secret, two versions, neither a plain hash of either value', async () => {
    const before = await gw.request('/api/items?case=audit-before', { token: alice });
    assert.equal(before.status, 200);
    assert.equal(hit('case=audit-before')?.headers.authorization, `Bearer ${TEST_SECRETS['demo-api-token']}`);

    Gateway.writeSecretsFile(gw.secretsFile, { ...TEST_SECRETS, 'demo-api-token': ROTATED });
    let afterMarker = '';
    await waitFor(async () => {
      afterMarker = `case=audit-after-${randomUUID()}`;
      await gw.request(`/api/items?${afterMarker}`, { token: bob });
      return hit(afterMarker)?.headers.authorization === `Bearer ${ROTATED}`;
    }, 5000, 50);

    const all = await records();
    const first = byMarker(all, 'case=audit-before')!;
    const second = byMarker(all, afterMarker)!;
    assert.ok(first && second, 'both exchanges were recorded');
    assert.equal(first.credential?.kind, 'secret');
    assert.equal(first.credential?.target, 'demo-api');
    assert.equal(first.credential?.secret?.name, 'demo-api-token');
    assert.equal(second.credential?.secret?.name, 'demo-api-token');
    const v1 = first.credential!.secret!.version;
    const v2 = second.credential!.secret!.version;
    assert.match(v1, /^v1:[0-9a-f]{16}$/);
    assert.notEqual(v1, v2, 'a rotated value has a new version');
    assert.equal(v1, gw.proc!.versions.of(TEST_SECRETS['demo-api-token']), 'the version of the value that was injected');
    assert.equal(v2, gw.proc!.versions.of(ROTATED));
    for (const version of [v1, v2]) {
      const digits = version.slice('v1:'.length);
      for (const hash of [...plainHashes(TEST_SECRETS['demo-api-token']), ...plainHashes(ROTATED)]) {
        assert.notEqual(version, hash);
        assert.ok(!hash.includes(digits) && !hash.toLowerCase().includes(digits), `version ${version} is part of a plain hash`);
      }
    }
    // The reload is in the audit trail too: the secret's name and its new version, no value.
    assert.ok(gw.procLogs.text().includes(v2), 'the secrets reload log line names the new version');
  });

  test('a masked response: the record counts exactly what the caller saw masked, with no body kept', async () => {
    const chunks = [
      '{"cards":["4111 1111 1111 1111","5555 5555 ', '5555 4444","4012 8888 8888 1881"],',
      '"not_a_card":"4111 1111 1111 1112","emails":["ada@example.com","grace.hop', 'per@example.org"],"ok":true}',
    ];
    const res = await gw.request('/api/stream?case=audit-masked', { token: alice, headers: { 'x-demo-chunks': JSON.stringify(chunks), 'x-demo-delay-ms': '20' } });
    assert.equal(res.status, 200);
    const seenCards = res.text.match(/\*{4} \*{4} \*{4} \d{4}/g)?.length ?? 0;
    const seenEmails = res.text.match(/\[REDACTED:email\]/g)?.length ?? 0;
    assert.equal(seenCards, 3, res.text);
    assert.equal(seenEmails, 2, res.text);

    const record = byMarker(await records(), 'case=audit-masked')!;
    assert.ok(record);
    assert.deepEqual(record.masking, {
      profile: 'card-email',
      // The demo upstream takes its chunks from a request header: the record masks the values
      // whole in it (two cards, two emails); the pieces of the card split across chunks are no card.
      request: { masked: {}, delivered: false, recordedTruncated: false, headers: { card: 2, email: 2 } },
      response: { masked: { card: seenCards, email: seenEmails }, delivered: true, recordedTruncated: true },
    });
    const response = record.events.find((e) => e.kind === 'http.response');
    assert.ok(response && response.kind === 'http.response' && response.body.bytes > 0 && 'text' in response.body && response.body.text === '', 'the body was not kept, its report was');
  });

  test('the CLI finds who used the secret, by version and by masked recognizer; the PostgreSQL store answers the same filters', async () => {
    await gw.request('/api/items?case=audit-bob-again', { token: bob });
    const all = await records();
    const cli = async (...args: string[]) => {
      const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'cli/sluice.ts', 'sessions', 'list', ...args], { cwd: REPO, env: { ...process.env, SLUICE_DATABASE_URL: DATABASE_URL } });
      cliOutputs.push(stdout, stderr);
      return stdout;
    };
    const used = all.filter((r) => r.credential?.secret?.name === 'demo-api-token');
    const expected = (subject: string) => {
      const mine = used.filter((r) => r.subject === subject);
      return { exchanges: mine.length, firstUsedAt: Math.min(...mine.map((r) => r.startedAt)), lastUsedAt: Math.max(...mine.map((r) => r.startedAt)) };
    };
    const usage = JSON.parse(await cli('--credential', 'demo-api-token', '--json', '--since', '1h', '--dir', sessionsDir)) as { credential: string; rows: { subject: string; target: string; exchanges: number; firstUsedAt: number; lastUsedAt: number; versions: string[] }[] };
    assert.equal(usage.credential, 'demo-api-token');
    assert.deepEqual(usage.rows.map((r) => [r.subject, r.target]).sort(), [['alice', 'demo-api'], ['bob', 'demo-api']]);
    for (const row of usage.rows) assert.deepEqual({ exchanges: row.exchanges, firstUsedAt: row.firstUsedAt, lastUsedAt: row.lastUsedAt }, expected(row.subject), row.subject);
    const rotated = gw.proc!.versions.of(ROTATED);
    // Bob's probes while the rotation propagated may have used the old value: the row lists every
    // version he used, newest use first, and that is the rotated one.
    const bobRow = usage.rows.find((r) => r.subject === 'bob')!;
    assert.deepEqual(new Set(bobRow.versions), new Set(used.filter((r) => r.subject === 'bob').map((r) => r.credential!.secret!.version)));
    assert.equal(bobRow.versions[0], rotated);
    // Alice's first request predates the rotation, her masked one follows it: both versions, newest use first.
    assert.deepEqual(usage.rows.find((r) => r.subject === 'alice')!.versions, [rotated, gw.proc!.versions.of(TEST_SECRETS['demo-api-token'])]);

    const byVersion = JSON.parse(await cli('--credential', 'demo-api-token', '--version', rotated, '--json', '--dir', sessionsDir));
    const afterRotation = used.filter((r) => r.credential?.secret?.version === rotated);
    assert.deepEqual(byVersion.rows.map((r: { subject: string; versions: string[] }) => [r.subject, r.versions]).sort(), [['alice', [rotated]], ['bob', [rotated]]]);
    assert.equal(byVersion.rows.reduce((n: number, r: { exchanges: number }) => n + r.exchanges, 0), afterRotation.length);
    const text = await cli('--credential', 'demo-api-token', '--dir', sessionsDir);
    assert.match(text, /^SUBJECT\s+TARGET\s+FIRST USE\s+LAST USE\s+EXCHANGES\s+VERSIONS\n/);
    const masked = JSON.parse(await cli('--masked', 'card', '--json', '--dir', sessionsDir));
    assert.deepEqual(masked.sessions.map((r: SessionRecord) => r.id), [byMarker(all, 'case=audit-masked')!.id]);

    // The same records in PostgreSQL (a fresh schema): the store and the CLI answer alike.
    const schema = `sluice_audit_e2e_${randomUUID().slice(0, 8)}`;
    const store = await PostgresSessionStore.connect({ connectionString: DATABASE_URL, schema, logger: silentLogger() });
    try {
      for (const record of all) await store.append(record);
      const ids = (rs: SessionRecord[]) => rs.map((r) => r.id).sort();
      assert.deepEqual(ids((await store.list({ credential: 'demo-api-token', limit: 1000 })).records), ids(used));
      assert.deepEqual(ids((await store.list({ version: rotated, limit: 1000 })).records), ids(used.filter((r) => r.credential?.secret?.version === rotated)));
      assert.deepEqual(ids((await store.list({ masked: 'email' })).records), [byMarker(all, 'case=audit-masked')!.id]);
      const fromPg = JSON.parse(await cli('--store', 'postgres', '--schema', schema, '--credential', 'demo-api-token', '--json'));
      assert.deepEqual(fromPg.rows.sort((a: { subject: string }, b: { subject: string }) => a.subject.localeCompare(b.subject)), usage.rows.sort((a, b) => a.subject.localeCompare(b.subject)));
    } finally {
      await store.close();
      const client = new pg.Client({ connectionString: DATABASE_URL });
      await client.connect();
      await client.query(`DROP SCHEMA "${schema}" CASCADE`);
      await client.end();
    }
  });

  test('card numbers and emails in request headers: the upstream gets them as sent, the record masks and counts them, --masked finds it', async () => {
    const CARD = '4111 1111 1111 1111';
    const SECOND = '5500-0000-0000-0004';
    const EMAIL = 'jane.doe@example.com';
    // node:http sends a repeated header as two lines, as a browser or proxy may.
    const res = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>((resolve, reject) => {
      const req = http.request(gw.url('/api/items?case=audit-headers'), {
        headers: { authorization: `Bearer ${alice}`, 'x-card': [CARD, SECOND], 'x-contact': `Jane <${EMAIL}>`, 'x-reflect': 'x-contact' },
      }, (response) => {
        const parts: Buffer[] = [];
        response.on('data', (part: Buffer) => parts.push(part));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(parts).toString('utf8') }));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(res.status, 200);
    const seen = hit('case=audit-headers');
    assert.deepEqual([seen?.headers['x-card'], seen?.headers['x-contact']], [`${CARD}, ${SECOND}`, `Jane <${EMAIL}>`], 'the caller\'s own headers reach the upstream unmasked');
    // Response headers reach the caller as the upstream sent them (the profile masks bodies); the
    // upstream's JSON echo of the headers is a body, so the caller got that masked.
    assert.equal(res.headers['x-reflected'], `Jane <${EMAIL}>`);
    assert.equal(res.text.includes(EMAIL) || res.text.includes(CARD), false, res.text);

    const all = await records();
    const record = byMarker(all, 'case=audit-headers')!;
    assert.ok(record, 'the exchange was recorded');
    const request = httpRequestOf(record)!;
    assert.match(request.headers['x-card'] ?? '', /^\*{4} \*{4} \*{4} 1111, ?\*{4}-\*{4}-\*{4}-0004$/);
    assert.equal(request.headers['x-contact'], 'Jane <[REDACTED:email]>');
    assert.ok([undefined, '[redacted]'].includes(request.headers.authorization), 'the caller\'s token is removed before ext-proc or redacted');
    const response = record.events.find((e) => e.kind === 'http.response');
    assert.ok(response && response.kind === 'http.response');
    assert.equal(response.headers['x-reflected'], 'Jane <[REDACTED:email]>', 'the record masks response headers too');
    assert.deepEqual(record.masking?.request, { masked: {}, delivered: false, recordedTruncated: false, headers: { card: 2, email: 1 } });
    assert.deepEqual(record.masking?.response.headers, { email: 1 });
    const stored = JSON.stringify(record);
    for (const value of [CARD, SECOND, EMAIL, alice]) assert.equal(stored.includes(value), false, `${value} is in the record`);

    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'cli/sluice.ts', 'sessions', 'list', '--masked', 'card', '--json', '--dir', sessionsDir], { cwd: REPO });
    cliOutputs.push(stdout);
    assert.deepEqual(JSON.parse(stdout).sessions.map((r: SessionRecord) => r.id).sort(), [byMarker(all, 'case=audit-masked')!.id, record.id].sort(), 'a card masked only in a header counts');
  });

  test('no record, log line or CLI output contains a secret value', async () => {
    const { stdout: shown } = await run(process.execPath, ['--import', 'tsx', 'cli/sluice.ts', 'sessions', 'show', (await records())[0]!.id, '--dir', sessionsDir], { cwd: REPO });
    cliOutputs.push(shown);
    assert.match(shown, /credential\s+secret demo-api-token v1:[0-9a-f]{16} \(entry demo-api\)/);
    const stored = (await records()).map((r) => JSON.stringify(r)).join('\n');
    const logs = [gw.procLogs.text(), ...gw.replicas.map((r) => `${r.logs.text()}\n${r.decisions.text()}`)].join('\n');
    for (const secret of [...Object.values(TEST_SECRETS), ROTATED]) {
      assert.ok(!stored.includes(secret), 'a secret value is in a record');
      assert.ok(!logs.includes(secret), 'a secret value is in a log line');
      for (const output of cliOutputs) assert.ok(!output.includes(secret), 'a secret value is in CLI output');
    }
    assert.ok(cliOutputs.length >= 8, 'the CLI outputs were collected');
  });
});
