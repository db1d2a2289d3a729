import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseSecrets, FileSecretStore } from './file-secret-store.ts';
import { EnvSecretStore, envName } from './env-secret-store.ts';
import { ChainSecretStore } from './chain-secret-store.ts';
import { silentLogger } from '../../common/logger.ts';

describe('parseSecrets', () => {
  it('reads name: value pairs', () => {
    assert.deepEqual([...parseSecrets('secrets:\n  a-key: one\n  b.key: "two"\n', 's.yaml')], [['a-key', 'one'], ['b.key', 'two']]);
  });

  it('reports syntax errors with file, line and column but never the secret text', () => {
    assert.throws(() => parseSecrets('secrets:\n  token: "hunter2-very-secret\n  other: [x\n', 's.yaml'), (err: any) => {
      assert.equal(err.code, 'ERR_SECRETS_INVALID');
      assert.match(err.message, /^s\.yaml:\d+:\d+: YAML syntax error/);
      assert.ok(!err.message.includes('hunter2'));
      assert.ok(!JSON.stringify(err.details).includes('hunter2'));
      return true;
    });
  });

  it('rejects unknown keys, bad names and non-string values, naming the line', () => {
    assert.throws(() => parseSecrets('secret:\n  a: b\n', 's.yaml'), { code: 'ERR_SECRETS_INVALID' });
    assert.throws(() => parseSecrets('secrets:\n  Bad Name: x\n', 's.yaml'), /s\.yaml:2:3/);
    assert.throws(() => parseSecrets('secrets:\n  ok: x\n  n: 42\n', 's.yaml'), (err: any) => /s\.yaml:3:3: secret "n" must be a non-empty string/.test(err.message) && !err.message.includes('42'));
  });
});

describe('EnvSecretStore and ChainSecretStore', () => {
  it('maps secret names to SLUICE_SECRET_* variables', () => {
    assert.equal(envName('demo-api.token'), 'SLUICE_SECRET_DEMO_API_TOKEN');
    const env = new EnvSecretStore({ SLUICE_SECRET_DEMO_API_TOKEN: 'from-env', SLUICE_SECRET_EMPTY: '' });
    assert.equal(env.get('demo-api.token'), 'from-env');
    assert.equal(env.get('empty'), undefined, 'an empty variable is no secret');
  });

  it('asks stores in order', () => {
    const first = { get: (n: string) => (n === 'a' ? '1' : undefined), close: async () => {} };
    const second = { get: (n: string) => (n === 'a' || n === 'b' ? '2' : undefined), close: async () => {} };
    const chain = new ChainSecretStore([first, second]);
    assert.deepEqual([chain.get('a'), chain.get('b'), chain.get('c')], ['1', '2', undefined]);
  });
});

describe('FileSecretStore', () => {
  it('swaps in an edited file and keeps the last good secrets when an edit is broken', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-secrets-test-'));
    const file = path.join(dir, 'secrets.yaml');
    const write = (text: string) => { writeFileSync(`${file}.tmp`, text); renameSync(`${file}.tmp`, file); };
    write('secrets:\n  k: v1\n');
    const store = await FileSecretStore.open(file, { logger: silentLogger(), pollIntervalMs: 50, debounceMs: 10 });
    try {
      assert.equal(store.get('k'), 'v1');
      const reloaded = new Promise<boolean>((resolve) => store.onReload(resolve));
      write('secrets:\n  k: v2\n');
      assert.equal(await reloaded, true);
      assert.equal(store.get('k'), 'v2');
      const rejected = new Promise<boolean>((resolve) => store.onReload(resolve));
      write('secrets: [\n');
      assert.equal(await rejected, false);
      assert.equal(store.get('k'), 'v2', 'the last good value stays live');
    } finally {
      await store.close();
    }
  });

  it('refuses to start on a broken file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-secrets-test-'));
    const file = path.join(dir, 'secrets.yaml');
    writeFileSync(file, 'secrets: {\n');
    await assert.rejects(FileSecretStore.open(file, { logger: silentLogger() }), { code: 'ERR_SECRETS_INVALID' });
  });
});
