import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DemoUpstream } from './demo-upstream.ts';

test('the demo upstream shows a fingerprint of the credential it received, never the value; a rotation changes it', async () => {
  const upstream = await DemoUpstream.start();
  try {
    const seen = async (secret: string) => {
      const res = await fetch(`http://127.0.0.1:${upstream.address.port}/api/hello`, { headers: { authorization: `Bearer ${secret}` } });
      const body = await res.text();
      assert.ok(!body.includes(secret), 'the value is never echoed');
      return (JSON.parse(body) as { headers: Record<string, string> }).headers.authorization!;
    };
    const before = await seen('demo-secret-one');
    const after = await seen('demo-secret-two');
    assert.match(before, /^\[received, fingerprint sha256:[0-9a-f]{12}\]$/);
    assert.notEqual(before, after, 'a different credential shows a different fingerprint');
    assert.equal(await seen('demo-secret-one'), before, 'the same credential, the same fingerprint');
  } finally {
    await upstream.close();
  }
});
