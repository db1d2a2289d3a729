import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Gateway } from '../harness/gateway.ts';

const FIXTURE_POLICIES = fileURLToPath(new URL('../fixtures/policies/', import.meta.url));

/**
 * Long-lived streams: no total time limit on a route (a 30 s route timeout used to cut every
 * SSE stream and every download longer than that); silence is what ends a stream. Here the idle
 * timeout is 2 s so the test can show both within seconds.
 */
describe('long-lived streams through real Envoy + ext-proc', () => {
  let gw: Gateway;
  let alice: string;

  before(async () => {
    gw = await Gateway.start({
      policySource: FIXTURE_POLICIES,
      routeIdleTimeout: '2s',
      masking: { profiles: [{ name: 'pii', recognizers: [{ use: 'email', strategy: 'redact' }] }], targets: { 'demo-api': 'pii' } },
    });
    alice = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'] });
  });
  after(async () => {
    await gw?.stop();
  });

  async function sse(events: number, gapMs: number): Promise<{ status: number; text: string; failed: boolean }> {
    const response = await fetch(gw.url('/api/stream?case=long-lived'), {
      headers: {
        authorization: `Bearer ${alice}`, 'x-demo-content-type': 'text/event-stream', 'x-demo-delay-ms': String(gapMs),
        'x-demo-chunks': JSON.stringify(Array.from({ length: events }, (_, i) => `data: {"n":${i},"email":"u${i}@example.com"}\n\n`)),
      },
    });
    let text = '';
    try {
      for await (const chunk of response.body!) text += Buffer.from(chunk as Uint8Array).toString('utf8');
      return { status: response.status, text, failed: false };
    } catch {
      return { status: response.status, text, failed: true };
    }
  }

  test('a stream that keeps talking outlives the idle timeout many times over, masked throughout', async () => {
    const started = performance.now();
    const run = await sse(7, 1000); // ~7 s, one event a second, idle timeout 2 s
    assert.equal(run.failed, false, 'the stream completed');
    assert.ok(performance.now() - started > 6000);
    assert.equal(run.text.match(/data: /g)?.length, 7);
    assert.ok(!/u\d@example\.com/.test(run.text), 'every event masked');
  });

  test('a stream silent for longer than the idle timeout is cut', async () => {
    const run = await sse(2, 3500);
    assert.ok(run.failed || !run.text.includes('"n":1'), `the second event (after 3.5 s of silence) must not arrive: ${run.text}`);
  });
});
