import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { REDACTED_PATHS, silentLogger, type Logger } from '../../common/logger.ts';
import { SecretVersions, secretVersion } from './secret-versions.ts';
import { loadVersionKey } from './version-key.ts';
import { FileSecretStore } from './file-secret-store.ts';
import { ChainSecretStore } from './chain-secret-store.ts';
import { EnvSecretStore } from './env-secret-store.ts';

const KEY = Buffer.from('k'.repeat(32));
const tempDir = () => mkdtempSync(path.join(tmpdir(), 'sluice-versions-test-'));

/** Every plain hash an attacker might try against a version, hex and base64, whole and cut. */
function plainHashes(value: string): string[] {
  return ['sha256', 'sha1', 'md5', 'sha512'].flatMap((alg) => {
    const digest = createHash(alg).update(value, 'utf8').digest();
    return [digest.toString('hex'), digest.toString('base64'), digest.toString('base64url')];
  });
}

function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino({ redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, { write: (line: string) => void lines.push(line) });
  return { logger, lines };
}

describe('secretVersion', () => {
  it('is v1: and 16 hex digits, stable for a value and different after rotation', () => {
    const v = secretVersion(KEY, 'hunter2');
    assert.match(v, /^v1:[0-9a-f]{16}$/);
    assert.equal(secretVersion(KEY, 'hunter2'), v);
    assert.notEqual(secretVersion(KEY, 'hunter3'), v);
    assert.notEqual(secretVersion(Buffer.from('x'.repeat(32)), 'hunter2'), v, 'another gateway key, another version');
  });

  it('never equals, contains or is contained in a plain hash of the value', () => {
    for (const value of ['1234', 'hunter2', 'sk_live_abcdefghijklmnop', 'é😀']) {
      const digits = secretVersion(KEY, value).slice(3);
      for (const h of plainHashes(value)) {
        assert.ok(!h.includes(digits) && !h.startsWith(digits) && h !== digits, `version of ${value} matches a plain hash`);
      }
    }
  });

  it('SecretVersions answers per name from the store, undefined when no store has it', () => {
    const versions = new SecretVersions(new EnvSecretStore({ SLUICE_SECRET_API_TOKEN: 'tok-1' }), KEY);
    assert.equal(versions.version('api-token'), secretVersion(KEY, 'tok-1'));
    assert.equal(versions.version('nope'), undefined);
    assert.equal(versions.of('tok-1'), versions.version('api-token'));
    assert.throws(() => new SecretVersions(new EnvSecretStore({}), Buffer.from('short')), { code: 'ERR_CONFIG_INVALID' });
  });
});

describe('loadVersionKey', () => {
  it('generates a 32-byte key once, mode 0600, and reuses it', async () => {
    const file = path.join(tempDir(), '.sluice', 'version-key');
    const options = { secrets: new EnvSecretStore({}), secretName: '', file, logger: silentLogger() };
    const first = await loadVersionKey(options);
    assert.equal(first.length, 32);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(path.dirname(file)).mode & 0o077, 0, 'the folder is private too');
    const again = await loadVersionKey(options);
    assert.ok(again.equals(first), 'a restart keeps the key, so versions stay stable');
    assert.equal(readFileSync(file, 'utf8').trim(), first.toString('hex'));
  });

  it('concurrent first starts agree on one key', async () => {
    const file = path.join(tempDir(), 'version-key');
    const options = { secrets: new EnvSecretStore({}), secretName: '', file, logger: silentLogger() };
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadVersionKey(options)));
    for (const k of keys) assert.equal(k.toString('hex'), readFileSync(file, 'utf8').trim());
    assert.deepEqual(readdirSync(path.dirname(file)), ['version-key'], 'no temporary file left behind');
  });

  it('warns about a key file others can read, and refuses a broken one', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'version-key');
    writeFileSync(file, `${'ab'.repeat(32)}\n`);
    chmodSync(file, 0o644);
    const { logger, lines } = capturingLogger();
    await loadVersionKey({ secrets: new EnvSecretStore({}), secretName: '', file, logger });
    assert.ok(lines.some((l) => l.includes('readable by others')));
    writeFileSync(file, 'not hex');
    await assert.rejects(loadVersionKey({ secrets: new EnvSecretStore({}), secretName: '', file, logger }), { code: 'ERR_CONFIG_INVALID' });
  });

  it('takes the configured secret over the file, and names the option when it is missing or short', async () => {
    const file = path.join(tempDir(), 'version-key');
    const secrets = new EnvSecretStore({ SLUICE_SECRET_VKEY: 'v'.repeat(24), SLUICE_SECRET_SHORT: 'abc' });
    const key = await loadVersionKey({ secrets, secretName: 'vkey', file, logger: silentLogger() });
    assert.equal(key.toString(), 'v'.repeat(24));
    assert.throws(() => statSync(file), { code: 'ENOENT' }, 'no key file when a secret is configured');
    await assert.rejects(loadVersionKey({ secrets, secretName: 'gone', file, logger: silentLogger() }), (err: any) => err.code === 'ERR_CONFIG_INVALID' && /extProc\.versionKeySecret/.test(err.message));
    await assert.rejects(loadVersionKey({ secrets, secretName: 'short', file, logger: silentLogger() }), { code: 'ERR_CONFIG_INVALID' });
  });
});

describe('FileSecretStore reload log', () => {
  it('names each added, changed and removed secret with its version, never a value', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'secrets.yaml');
    const write = (text: string) => { writeFileSync(`${file}.tmp`, text); renameSync(`${file}.tmp`, file); };
    write('secrets:\n  api-token: first-value-1\n  old-key: retired-value-9\n  same: unchanged-value-5\n  version-key: kkkkkkkkkkkkkkkkkkkkkkkk\n');
    const { logger, lines } = capturingLogger();
    const store = await FileSecretStore.open(file, { logger, pollIntervalMs: 50, debounceMs: 10 });
    try {
      // The key may live in the very file whose changes it versions.
      const secrets = new ChainSecretStore([store]);
      const versions = new SecretVersions(secrets, await loadVersionKey({ secrets, secretName: 'version-key', file: path.join(dir, 'unused'), logger }));
      store.reportVersions((value) => versions.of(value));
      const before = versions.version('api-token');
      const reloaded = new Promise<boolean>((resolve) => store.onReload(resolve));
      write('secrets:\n  api-token: rotated-value-2\n  new-key: brand-new-value-3\n  same: unchanged-value-5\n  version-key: kkkkkkkkkkkkkkkkkkkkkkkk\n');
      assert.equal(await reloaded, true);
      const after = versions.version('api-token');
      assert.notEqual(after, before);

      const line = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'secrets reloaded');
      assert.ok(line, 'a reload line');
      assert.deepEqual(line.changes, [
        { name: 'api-token', change: 'changed', version: after, previousVersion: before },
        { name: 'new-key', change: 'added', version: versions.of('brand-new-value-3') },
        { name: 'old-key', change: 'removed', previousVersion: versions.of('retired-value-9') },
      ]);
      const log = lines.join('');
      for (const value of ['first-value-1', 'rotated-value-2', 'brand-new-value-3', 'retired-value-9', 'unchanged-value-5', 'kkkkkkkk']) {
        assert.ok(!log.includes(value), `the log holds the value ${value}`);
        for (const h of plainHashes(value)) assert.ok(!log.includes(h.slice(0, 16)), `the log holds a plain hash of ${value}`);
      }
    } finally {
      await store.close();
    }
  });
});
