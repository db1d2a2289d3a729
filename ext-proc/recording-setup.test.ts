import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { parseConfig } from '../common/config/load.ts';
import { silentLogger } from '../common/logger.ts';
import { chainKeyId } from './sessions/chain.ts';
import { verifyChains } from './sessions/chain-verify.ts';
import { fileChainSource } from './sessions/file-chain.ts';
import { sessionRecord } from './sessions/store-suite.ts';
import { startRecording } from './recording-setup.ts';
import type { SecretStore } from './secrets/types.ts';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

function secrets(values: Record<string, string>): SecretStore {
  return { get: (name) => values[name], close: async () => undefined };
}

async function configWith(chainKeySecret: string, retention = '') {
  const dir = await mkdtemp(path.join(tmpdir(), 'sluice-recording-'));
  dirs.push(dir);
  const sessions = path.join(dir, 'sessions');
  const config = parseConfig(`extProc:\n  sessions:\n    store: file\n    dir: ${sessions}\n    chainKeySecret: "${chainKeySecret}"\n    retention: "${retention}"\n`, path.join(dir, 'sluice.yaml'));
  return { config, sessions };
}

describe('startRecording: the chain key', () => {
  test('extProc.sessions.chainKeySecret keys the store chain with the secret (its id in CHAIN, never the value)', async () => {
    const value = 'a chain key of more than sixteen bytes';
    const { config, sessions } = await configWith('session-chain');
    const recording = await startRecording(config, silentLogger(), secrets({ 'session-chain': value }));
    assert.ok(recording);
    await recording.close();
    const state = await readFile(path.join(sessions, 'CHAIN'), 'utf8');
    assert.equal(JSON.parse(state).keyId, chainKeyId(Buffer.from(value, 'utf8')));
    assert.ok(!state.includes(value));
  });

  test('a missing or short secret is ERR_CONFIG_INVALID naming the setting', async () => {
    const { config } = await configWith('session-chain');
    await assert.rejects(startRecording(config, silentLogger(), secrets({})), { code: 'ERR_CONFIG_INVALID', message: /extProc\.sessions\.chainKeySecret: secret "session-chain" is in no secret store/ });
    await assert.rejects(startRecording(config, silentLogger(), secrets({ 'session-chain': 'short' })), { code: 'ERR_CONFIG_INVALID', message: /at least 16 bytes/ });
  });

  test('unset: the chain is unkeyed SHA-256', async () => {
    const { config, sessions } = await configWith('');
    const recording = await startRecording(config, silentLogger());
    await recording!.close();
    assert.equal(JSON.parse(await readFile(path.join(sessions, 'CHAIN'), 'utf8')).alg, 'sha256');
  });
});

describe('startRecording: retention', () => {
  test('extProc.sessions.retention purges what started longer ago, inside the writer, and the chain still verifies', async () => {
    const { config, sessions } = await configWith('', '30d');
    const recording = await startRecording(config, silentLogger());
    assert.ok(recording?.retention);
    const old = [sessionRecord({}, 0), sessionRecord({}, 1)];
    for (const record of old) assert.ok(recording.queue.offer(record));
    await recording.queue.flush();
    // The file store purges whole segments: here the active one, every record in it too old.
    const report = await recording.retention.runOnce();
    assert.equal(report?.removed, 2);
    assert.equal(await recording.store.get(old[0]!.id), undefined);
    // The writer carries on in a new segment, chained after the purge point.
    const fresh = sessionRecord({ startedAt: Date.now() - 60_000 }, 2);
    assert.ok(recording.queue.offer(fresh));
    await recording.queue.flush();
    assert.equal((await recording.store.get(fresh.id))?.id, fresh.id);
    assert.equal((await recording.retention.runOnce())?.removed, 0);
    await recording.close();
    const verified = await verifyChains(fileChainSource(sessions));
    assert.equal(verified.ok, true, JSON.stringify(verified));
    assert.equal(verified.verified, 1);
    assert.equal(verified.partitions[0]!.purged?.seq, 2);
  });

  test('a retention that is not whole days is rejected with the config', async () => {
    await assert.rejects(configWith('', '12h'), { code: 'ERR_CONFIG_INVALID' });
  });
});

