import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { compilePolicySources } from '../ext-authz/policy/compile-sources.ts';
import { sessionRecord } from '../ext-proc/sessions/store-suite.ts';
import type { ConsoleUser } from './browser-sessions.ts';
import { sessionsPage } from './pages/sessions-page.ts';
import { apiQuery, readFilters, ruleChoices } from './session-filters.ts';

const user = { id: 'u', identity: { issuerName: 'dev', issuer: 'https://dev', subject: 'carol', groups: ['auditors'], claims: {}, expiresAt: 0 }, idToken: 't', csrf: 'c', expiresAt: 0 } as unknown as ConsoleUser;

describe('sessions page: decision filters', () => {
  it('reads rule, approval and refusals and sends them to the sessions API as they are', () => {
    const filters = readFilters(new URLSearchParams('rule=engineers-read%2F*&approval=yes&refusals=no'));
    assert.deepEqual([filters.rule, filters.approval, filters.refusals], ['engineers-read/*', 'yes', 'no']);
    assert.equal(apiQuery(filters).toString(), 'limit=50&rule=engineers-read%2F*&approval=yes&refusals=no');
    assert.equal(apiQuery(readFilters(new URLSearchParams('rule=&approval='))).toString(), 'limit=50', 'empty means any');
    for (const query of ['rule=engineers-read', 'rule=engineers-read%2Fread-*', 'approval=true', 'refusals=maybe']) {
      assert.throws(() => readFilters(new URLSearchParams(query)), { code: 'ERR_CONSOLE_INVALID' }, query);
    }
  });

  it('suggests policy/* and the rules that can let a session in, from the live bundle', () => {
    const text = readFileSync(new URL('../test/fixtures/policies/demo.yaml', import.meta.url), 'utf8');
    const choices = ruleChoices(compilePolicySources([{ file: 'demo.yaml', text }]));
    assert.deepEqual(choices.slice(0, 4), ['engineers-read/*', 'engineers-read/read-api', 'orders-writers/*', 'orders-writers/create-order']);
    assert.ok(!choices.some((c) => c.startsWith('no-deletes/')), 'a policy of deny rules only lets nothing in');
  });

  it('renders labelled controls holding the current values, and the suggestions escaped', () => {
    const filters = readFilters(new URLSearchParams('rule=engineers-read%2Fread-api&approval=no&refusals=yes'));
    const page = sessionsPage(user, filters, { records: [sessionRecord()] }, ['demo-api'], ['engineers-read/*', '"><script>']);
    assert.match(page, /<label for="rule">Rule \(policy\/rule or policy\/\*\)<\/label><input id="rule" name="rule" type="text" list="rule-choices" value="engineers-read\/read-api">/);
    assert.match(page, /<label for="approval">Waited for approval<\/label>\s*<select id="approval" name="approval"><option value="">any<\/option><option>yes<\/option><option selected>no<\/option><\/select>/);
    assert.match(page, /<label for="refusals">Statements refused<\/label>\s*<select id="refusals" name="refusals"><option value="">any<\/option><option selected>yes<\/option><option>no<\/option><\/select>/);
    assert.match(page, /<datalist id="rule-choices"><option value="engineers-read\/\*"><\/option><option value="&quot;&gt;&lt;script&gt;"><\/option><\/datalist>/);
  });
});
