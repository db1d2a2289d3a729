import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Gateway } from '../harness/gateway.ts';
import { waitFor } from '../harness/wait.ts';
import { approvalsCall, pendingFor } from '../harness/approvals-client.ts';
import { httpResponseOf } from '../../ext-proc/sessions/index.ts';

const FIXTURE_POLICIES = fileURLToPath(new URL('../fixtures/policies/', import.meta.url));

const PII_PROFILE = {
  name: 'pii',
  recognizers: [{ use: 'card', strategy: 'keep-last-4' }],
  binary: 'refuse',
};

/**
 * A session record says what the caller received and when: a response the gateway refused is
 * recorded as that refusal (not as the upstream's 200), and a request held for an approval is
 * recorded from when the caller sent it, with the wait in it.
 */
describe('session records match what the caller got, through real Envoy', () => {
  let gw: Gateway;
  let alice: string;
  let sam: string;

  before(async () => {
    gw = await Gateway.start({
      policySource: FIXTURE_POLICIES,
      masking: { profiles: [PII_PROFILE], targets: { 'demo-api': 'pii' } },
      approvals: { store: 'memory' },
    });
    alice = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'] });
    sam = await gw.issuer.mint({ sub: 'sam', groups: ['sre'] });
  });
  after(async () => {
    await gw?.stop();
  });

  test('a response refused by ext-proc (502 ERR_BODY_REFUSED) is recorded as that refusal', async () => {
    const res = await gw.request('/api/stream?case=fidelity-binary', {
      token: alice,
      headers: { 'x-demo-chunks': JSON.stringify(['\u0000\u0001secret-bytes']), 'x-demo-content-type': 'application/octet-stream' },
    });
    assert.equal(res.status, 502);
    assert.equal(res.json().error.code, 'ERR_BODY_REFUSED');
    const record = await gw.recordFor('case=fidelity-binary', { subject: 'alice' });
    assert.equal(record.outcome, 'refused');
    const response = httpResponseOf(record)!;
    assert.equal(response.status, 502, 'the status the caller got, not the upstream\'s');
    assert.equal(response.headers['content-type'], 'application/json');
    const text = 'text' in response.body ? response.body.text : '';
    assert.equal(JSON.parse(text).error.code, 'ERR_BODY_REFUSED', 'the body the caller got');
    assert.ok(!text.includes('secret-bytes'), 'nothing of the refused body is recorded');
    assert.equal(record.events.at(-1)?.kind, 'error');
    assert.equal((record.events.at(-1) as { code?: string }).code, 'ERR_BODY_REFUSED');
  });

  test('an approved request is recorded from when the caller sent it, with the approval and its wait', async () => {
    const sentAt = Date.now();
    const response = gw.request('/ops/deploy/fidelity?case=fidelity-wait', { method: 'POST', token: alice, body: '{}' });
    const { value: pending } = await waitFor(async () => (await pendingFor(gw.replicas[0]!.approvalsUrl, sam, 'alice')).find((a) => a.path === '/ops/deploy/fidelity'), 5000, 20);
    await new Promise((resolve) => setTimeout(resolve, 800));
    assert.equal((await approvalsCall(gw.replicas[0]!.approvalsUrl, sam, 'POST', `/approvals/${pending.id}/approve`, {})).status, 200);
    const res = await response;
    const receivedAt = Date.now();
    assert.equal(res.status, 200);
    const record = await gw.recordFor('case=fidelity-wait', { subject: 'alice' });
    assert.ok(record.startedAt >= sentAt - 5 && record.startedAt <= sentAt + 200, `starts when the caller sent it (${record.startedAt - sentAt} ms after)`);
    assert.ok(record.endedAt - record.startedAt >= 800, `lasts as long as the caller waited (${record.endedAt - record.startedAt} ms)`);
    assert.ok(record.endedAt <= receivedAt + 50);
    const approval = record.events.find((e) => e.kind === 'approval');
    assert.ok(approval && approval.kind === 'approval', JSON.stringify(record.events.map((e) => e.kind)));
    assert.equal(approval.approvalId, pending.id);
    assert.ok(approval.waitMs >= 800 && approval.waitMs < 5000, `the wait is in the record (${approval.waitMs} ms)`);
    assert.equal(record.events[0]?.kind, 'approval', 'the wait came before the request went upstream');
  });
});
