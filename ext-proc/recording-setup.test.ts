import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { parseConfig } from '../common/config/load.ts';
import { silentLogger } from '../common/logger.ts';
import { chainKeyId } from './sessions/chain.ts';
import { startRecording } from './recording-setup.ts';
import type { SecretStore } from './secrets/types.ts';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

function secrets(values: Record<string, string>): SecretStore {
  return { get: (name) => values[name], close: async () => undefined };
}

async function configWith(chainKeySecret: string) {
  const dir = await mkdtemp(path.join(tmpdir(), 'sluice-recording-'));
  dirs.push(dir);
  const sessions = path.join(dir, 'sessions');
  const config = parseConfig(`extProc:\n  sessions:\n    store: file\n    dir: ${sessions}\n    chainKeySecret: "${chainKeySecret}"\n`, path.join(dir, 'sluice.yaml'));
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
