import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Gateway } from '../harness/gateway.ts';

const FIXTURE_POLICIES = fileURLToPath(new URL('../fixtures/policies/', import.meta.url));

describe('content guardrails through real Envoy', () => {
  let gw: Gateway;
  let alice: string;

  before(async () => {
    gw = await Gateway.start({ policySource: FIXTURE_POLICIES });
    alice = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'] });
  });
  after(async () => {
    await gw?.stop();
  });

  const reached = (marker: string) => gw.upstream.seen.some((r) => r.path.includes(marker));

  test('a request body with a blocked statement is stopped with 403 naming the guardrail; the upstream never sees it', async () => {
    const res = await gw.request('/sql/query?case=drop-body', { method: 'POST', token: alice, body: 'SELECT 1; drop   TABLE users;', headers: { 'content-type': 'text/plain' } });
    assert.equal(res.status, 403);
    const body = res.json();
    assert.equal(body.error.code, 'ERR_GUARDRAIL_BLOCKED');
    assert.equal(body.guardrail, 'no-drop-table');
    assert.equal(reached('case=drop-body'), false);
  });

  test('the same guardrail watches the query string; another watches headers', async () => {
    const query = await gw.request(`/sql/query?case=drop-query&q=${encodeURIComponent('DROP TABLE x')}`, { token: alice });
    assert.equal(query.status, 403);
    assert.equal(query.json().guardrail, 'no-drop-table');
    const header = await gw.request('/sql/query?case=debug-header', { token: alice, headers: { 'x-debug-sql': 'on' } });
    assert.equal(header.status, 403);
    assert.equal(header.json().guardrail, 'no-debug-header');
    assert.equal(reached('case=drop-query') || reached('case=debug-header'), false);
  });

  test('harmless content passes, body intact', async () => {
    const res = await gw.request('/sql/query?case=select', { method: 'POST', token: alice, body: 'SELECT name FROM tables_list', headers: { 'content-type': 'text/plain' } });
    assert.equal(res.status, 200);
    const seen = gw.upstream.seen.find((r) => r.path.includes('case=select'));
    assert.equal(seen?.body, 'SELECT name FROM tables_list');
  });

  test('a body over the route\'s 1 MiB check limit is refused, not passed unchecked', async () => {
    const res = await gw.request('/sql/query?case=huge', { method: 'POST', token: alice, body: 'x'.repeat(1_100_000), headers: { 'content-type': 'text/plain' } });
    assert.equal(res.status, 413);
    assert.equal(reached('case=huge'), false);
  });
});
