import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Gateway } from '../harness/gateway.ts';

const FIXTURE_POLICIES = fileURLToPath(new URL('../fixtures/policies/', import.meta.url));

/**
 * Envoy ends each ext_proc stream with an RST_STREAM. Node's HTTP/2 server (nghttp2's rapid-reset
 * guard: a burst of 1000 resets, then 33/s) answers a steady flow of them with GOAWAY and refuses
 * the streams in flight, so callers got a 500 every few thousand requests. Without the fixes
 * (ext-proc ending each stream itself once the exchange is done, and Envoy recycling the
 * connection every 500 exchanges) this test saw 5 of 6,000 fail.
 */
describe('many exchanges through ext-proc in a burst', () => {
  let gw: Gateway;

  before(async () => {
    gw = await Gateway.start({ policySource: FIXTURE_POLICIES });
  });
  after(async () => {
    await gw?.stop();
  });

  test('6,000 exchanges at 8 in parallel: every one succeeds', async () => {
    const alice = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'] });
    const statuses = new Map<number, number>();
    let next = 0;
    const worker = async () => {
      while (next < 6000) {
        next += 1;
        const res = await fetch(gw.url('/api/churn'), { headers: { authorization: `Bearer ${alice}` } });
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    assert.deepEqual(Object.fromEntries(statuses), { 200: 6000 });
  });
});
