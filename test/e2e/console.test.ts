import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { Gateway, TEST_SECRETS } from '../harness/gateway.ts';
import { waitFor } from '../harness/wait.ts';
import { axe, launchBrowser, newPerson, screenshot, signIn, tabOrder } from '../harness/browser.ts';

const FIXTURE_POLICIES = fileURLToPath(new URL('../fixtures/policies/', import.meta.url));
const CARD = '4111 1111 1111 1111';

/**
 * The operator console in a real browser (headless Chromium driven by playwright-core) against a
 * real gateway: Envoy, ext-authz with the console on its admin server, ext-proc with the sessions
 * API, the dev issuer's sign-in form. Every page a test opens is also searched for the callers'
 * tokens, the upstream's real credentials and the unmasked card number.
 */
describe('operator console in a browser', () => {
  let gw: Gateway;
  let browser: Browser;
  let consoleUrl: string;
  let alice: string;
  let erin: string;
  const secrets: string[] = [];
  const pagesSeen: string[] = [];

  async function collect(page: Page): Promise<string> {
    const text = await page.content();
    pagesSeen.push(text);
    return text;
  }

  before(async () => {
    gw = await Gateway.start({
      policySource: FIXTURE_POLICIES,
      console: { auditors: [{ groups: ['auditors'] }], policyAuthors: [{ groups: ['engineering', 'sre', 'auditors'] }] },
      masking: { profiles: [{ name: 'pii', recognizers: [{ use: 'card', strategy: 'keep-last-4' }] }], targets: { 'demo-api': 'pii' } },
    });
    consoleUrl = gw.replicas[0]!.approvalsUrl;
    alice = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'] });
    erin = await gw.issuer.mint({ sub: 'erin', groups: ['engineering', 'sre'] });
    secrets.push(alice, erin, ...Object.values(TEST_SECRETS));
    browser = await launchBrowser();
  });

  after(async () => {
    // Nothing any page showed may carry a token, a real credential or the unmasked card.
    for (const html of pagesSeen) {
      for (const secret of secrets) assert.equal(html.includes(secret), false, 'a page showed a token or a secret');
      assert.equal(html.includes(CARD), false, 'a page showed an unmasked card number');
    }
    await browser?.close();
    await gw?.stop();
  });

  test('a signed-out browser gets the sign-in page, with a strict CSP and no console data', async () => {
    const response = await fetch(`${consoleUrl}/console/approvals`);
    assert.equal(response.status, 401);
    const csp = response.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    const { page, context } = await newPerson(browser);
    await page.goto(`${consoleUrl}/console/sessions`);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Sign in');
    assert.equal(await page.locator('nav').count(), 0, 'no navigation before signing in');
    await collect(page);
    const events = await fetch(`${consoleUrl}/console/approvals/events`);
    assert.equal(events.status, 401);
    assert.equal((await events.json()).error.code, 'ERR_CONSOLE_SIGNIN_REQUIRED');
    await context.close();
  });

  test('sign in through the dev issuer (code + PKCE); the session cookie is HttpOnly, SameSite=Lax, short-lived', async () => {
    const { page, context } = await newPerson(browser);
    await signIn(page, consoleUrl, 'sam', ['sre']);
    assert.match((await page.locator('.who').textContent()) ?? '', /Signed in as sam/);
    const cookie = (await context.cookies()).find((c) => c.name === 'sluice_console');
    assert.ok(cookie, 'a session cookie');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Lax');
    assert.equal(cookie.secure, false, 'plain HTTP on loopback: Secure only where TLS');
    assert.ok(cookie.expires - Date.now() / 1000 <= 900 + 5, 'expires within the 15-minute sign-in');
    assert.equal(cookie.value.includes('.'), false, 'the cookie is an opaque id, not a token');
    await collect(page);
    // Signing out ends it: the next page is the sign-in page again.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${consoleUrl}/console/signed-out`);
    await page.goto(`${consoleUrl}/console/approvals`);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Sign in');
    await context.close();
  });

  test('a sign-in callback with a state this browser did not start is refused', async () => {
    const response = await fetch(`${consoleUrl}/console/callback?code=x&state=forged`, { redirect: 'manual' });
    assert.equal(response.status, 401);
    assert.match(await response.text(), /Sign-in failed/);
  });

  test('a held request appears on an open approvals page within 1 s; approve releases it (200, one upstream hit)', async () => {
    const { page, context } = await newPerson(browser);
    await signIn(page, consoleUrl, 'sam', ['sre']);
    await page.goto(`${consoleUrl}/console/approvals`);
    await page.locator('#feed-state.live').waitFor();
    const started = Date.now();
    const held = gw.request('/ops/deploy/web?case=console-approve', { method: 'POST', token: alice, body: '{}', headers: { 'x-sluice-reason': 'ship the fix' } });
    const row = page.locator('#pending tr', { hasText: '/ops/deploy/web' });
    await row.waitFor({ timeout: 5000 });
    const appearedMs = Date.now() - started;
    assert.ok(appearedMs < 1000, `appeared after ${appearedMs} ms`);
    const cells = await row.locator('td').allTextContents();
    assert.match(cells[0]!, /alice/);
    assert.equal(cells[1], 'ops-api');
    assert.match(cells[2]!, /POST \/ops\/deploy\/web/);
    assert.equal(cells[3], 'ops/deploy');
    assert.equal(cells[4], 'ship the fix');
    assert.match(cells[6]!, /0 approvals · needs any one \(sre\)/);
    await screenshot(page, 'console-approvals');
    assert.deepEqual((await axe(page)).map((v) => `${v.id}: ${v.help}`), [], 'no accessibility violations on the approvals page');
    await collect(page);
    await row.getByLabel('Reason').fill('looks good');
    await row.getByRole('button', { name: /^Approve/ }).click();
    const res = await held;
    assert.equal(res.status, 200);
    assert.equal(gw.upstream.seen.filter((r) => r.path.includes('case=console-approve')).length, 1, 'exactly one upstream hit');
    await page.locator('#vote-status', { hasText: 'approved' }).waitFor();
    await row.waitFor({ state: 'detached' });
    await context.close();
  });

  test('deny with a reason: the held caller gets 403 with that reason', async () => {
    const { page, context } = await newPerson(browser);
    await signIn(page, consoleUrl, 'sam', ['sre']);
    await page.goto(`${consoleUrl}/console/approvals`);
    const held = gw.request('/ops/deploy/db?case=console-deny', { method: 'POST', token: alice, body: '{}' });
    const row = page.locator('#pending tr', { hasText: '/ops/deploy/db' });
    await row.waitFor({ timeout: 5000 });
    // A denial without a reason is stopped on the page, before anything is sent.
    await row.getByRole('button', { name: /^Deny/ }).click();
    assert.match((await row.locator('.row-error').textContent()) ?? '', /needs a reason/);
    await row.getByLabel('Reason').fill('change freeze until Monday');
    await row.getByRole('button', { name: /^Deny/ }).click();
    const res = await held;
    assert.equal(res.status, 403);
    assert.equal(res.json().error.code, 'ERR_APPROVAL_DENIED');
    assert.match(res.json().error.message, /change freeze until Monday/);
    assert.equal(gw.upstream.seen.filter((r) => r.path.includes('case=console-deny')).length, 0);
    await context.close();
  });

  test('self-approval is refused on the page, which says why', async () => {
    const { page, context } = await newPerson(browser);
    await signIn(page, consoleUrl, 'erin', ['engineering', 'sre']);
    await page.goto(`${consoleUrl}/console/approvals`);
    const held = gw.request('/ops/deploy/self?case=console-self', { method: 'POST', token: erin, body: '{}' });
    const row = page.locator('#pending tr', { hasText: '/ops/deploy/self' });
    await row.waitFor({ timeout: 5000 });
    await row.getByRole('button', { name: /^Approve/ }).click();
    const error = row.locator('.row-error');
    await error.filter({ hasText: 'ERR_APPROVAL_SELF' }).waitFor();
    assert.match((await error.textContent()) ?? '', /cannot vote on their own request/);
    await screenshot(page, 'console-self-approval');
    await collect(page);
    // Someone else ends it, so the held request does not wait out its hold.
    const { page: sam, context: samContext } = await newPerson(browser);
    await signIn(sam, consoleUrl, 'sam', ['sre']);
    await sam.goto(`${consoleUrl}/console/approvals`);
    const samRow = sam.locator('#pending tr', { hasText: '/ops/deploy/self' });
    await samRow.getByLabel('Reason').fill('not by yourself');
    await samRow.getByRole('button', { name: /^Deny/ }).click();
    assert.equal((await held).status, 403);
    assert.equal(gw.upstream.seen.filter((r) => r.path.includes('case=console-self')).length, 0);
    await samContext.close();
    await context.close();
  });

  test('state-changing requests without the CSRF token, or from another origin, are refused', async () => {
    const { page, context } = await newPerson(browser);
    await signIn(page, consoleUrl, 'sam', ['sre']);
    const csrf = await page.locator('meta[name="sluice-csrf"]').getAttribute('content');
    assert.ok(csrf && csrf.length >= 32);
    const without = await page.request.post(`${consoleUrl}/console/approvals/some-id/approve`, { data: { reason: 'x' } });
    assert.equal(without.status(), 403);
    assert.equal((await without.json()).error.code, 'ERR_CONSOLE_CSRF');
    const wrong = await page.request.post(`${consoleUrl}/console/approvals/some-id/approve`, { data: { reason: 'x' }, headers: { 'x-csrf-token': 'A'.repeat(csrf.length) } });
    assert.equal((await wrong.json()).error.code, 'ERR_CONSOLE_CSRF');
    const foreign = await page.request.post(`${consoleUrl}/console/approvals/some-id/approve`, { data: { reason: 'x' }, headers: { 'x-csrf-token': csrf, origin: 'http://evil.example' } });
    assert.equal((await foreign.json()).error.code, 'ERR_CONSOLE_CSRF');
    const logout = await page.request.post(`${consoleUrl}/console/logout`, { form: { nothing: '1' }, maxRedirects: 0 });
    assert.equal(logout.status(), 403, 'signing out needs the token too');
    // With the token, the request reaches the approvals API (which knows no such approval).
    const real = await page.request.post(`${consoleUrl}/console/approvals/some-id/approve`, { data: { reason: 'x' }, headers: { 'x-csrf-token': csrf } });
    assert.equal((await real.json()).error.code, 'ERR_APPROVAL_NOT_FOUND');
    await context.close();
  });

  test('an auditor finds a session by filter and replays it: timeline, masked body, redacted credentials, JSON download', async () => {
    const res = await gw.request('/api/stream?case=console-replay', { token: alice, headers: { 'x-demo-chunks': JSON.stringify(['{"card":"4111 1111 ', '1111 1111","ok":true}']) } });
    assert.equal(res.status, 200);
    assert.equal(res.text.includes(CARD), false, 'masked on the wire too');
    await gw.proc!.recordingQueue!.flush();
    const { page, context } = await newPerson(browser);
    // Not an auditor: refused.
    await signIn(page, consoleUrl, 'sam', ['sre']);
    const refused = await page.goto(`${consoleUrl}/console/sessions`);
    assert.equal(refused?.status(), 403);
    assert.match(await collect(page), /ERR_CONSOLE_FORBIDDEN/);
    await context.close();

    const auditor = await newPerson(browser);
    await signIn(auditor.page, consoleUrl, 'carol', ['auditors']);
    await auditor.page.goto(`${consoleUrl}/console/sessions`);
    await auditor.page.getByLabel('Subject').fill('alice');
    await auditor.page.getByLabel('Target').selectOption('demo-api');
    await auditor.page.getByRole('button', { name: 'Filter' }).click();
    await auditor.page.waitForURL(/subject=alice/);
    await screenshot(auditor.page, 'console-sessions');
    assert.deepEqual((await axe(auditor.page)).map((v) => `${v.id}: ${v.help}`), [], 'no accessibility violations on the sessions list');
    await collect(auditor.page);
    // Filtered server-side by the rule that let it in: another policy's rules find nothing, its own finds it.
    await auditor.page.getByLabel('Rule (policy/rule or policy/*)').fill('orders-writers/*');
    await auditor.page.getByRole('button', { name: 'Filter' }).click();
    await auditor.page.waitForURL(/rule=orders-writers%2F\*/);
    assert.match((await auditor.page.locator('table.sessions tbody').textContent()) ?? '', /No sessions match/);
    await auditor.page.getByLabel('Rule (policy/rule or policy/*)').fill('engineers-read/read-api');
    await auditor.page.getByLabel('Waited for approval').selectOption('no');
    await auditor.page.getByRole('button', { name: 'Filter' }).click();
    await auditor.page.waitForURL(/rule=engineers-read%2Fread-api&approval=no/);
    assert.equal(await auditor.page.getByLabel('Subject').inputValue(), 'alice', 'the other filters are kept');
    await auditor.page.getByRole('link', { name: /GET \/api\/stream/ }).first().click();
    await auditor.page.locator('ol.timeline').waitFor();
    const text = (await auditor.page.locator('main').textContent()) ?? '';
    assert.match(text, /Request GET \/api\/stream\?case=console-replay/);
    assert.match(text, /Response 200/);
    assert.match(text, /1111/, 'the last four digits are kept');
    assert.equal(text.includes(CARD), false);
    assert.match(text, /card ×1/, 'the masking report counts it');
    const headersText = await auditor.page.locator('table.headers').allTextContents();
    assert.equal(headersText.join(' ').includes(TEST_SECRETS['demo-api-token']), false);
    await auditor.page.locator('li.http-response details summary').click();
    await screenshot(auditor.page, 'console-replay');
    assert.deepEqual((await axe(auditor.page)).map((v) => `${v.id}: ${v.help}`), [], 'no accessibility violations on the replay');
    await collect(auditor.page);
    const download = auditor.page.waitForEvent('download');
    await auditor.page.getByRole('link', { name: /Download the record/ }).click();
    const file = await (await download).path();
    const { readFile } = await import('node:fs/promises');
    const json = await readFile(file, 'utf8');
    pagesSeen.push(json);
    const record = JSON.parse(json).session;
    assert.equal(record.subject, 'alice');
    assert.ok(record.events.some((e: any) => e.kind === 'http.response'));
    await auditor.context.close();
  });

  test('the explain form answers as sluice policy explain does; a pasted token is not shown again', async () => {
    const { page, context } = await newPerson(browser);
    await signIn(page, consoleUrl, 'alice', ['engineering']);
    await page.goto(`${consoleUrl}/console/explain`);
    await page.getByLabel('Target').selectOption('ops-api');
    await page.getByLabel('Method').selectOption('POST');
    await page.getByLabel('Path').fill('/ops/deploy/web');
    await page.getByLabel(/Or paste a token/).fill(alice);
    await page.getByRole('button', { name: 'Explain' }).click();
    await page.waitForLoadState();
    await page.locator('section.result').waitFor();
    assert.equal(await page.locator('#result-h').textContent(), 'APPROVE');
    assert.equal(await page.locator('[data-rule]').textContent(), 'ops/deploy');
    assert.equal(await page.getByLabel(/Or paste a token/).inputValue(), '');
    await screenshot(page, 'console-explain');
    assert.deepEqual((await axe(page)).map((v) => `${v.id}: ${v.help}`), []);
    await collect(page);
    await page.getByLabel('Method').selectOption('DELETE');
    await page.getByLabel(/Or paste a token/).fill('');
    await page.getByRole('button', { name: 'Explain' }).click();
    await page.locator('section.result').waitFor();
    assert.equal(await page.locator('#result-h').textContent(), 'DENY');
    await context.close();
  });

  test('overview pictures: decisions per target, denials by code, approvals waiting, masking hits', async () => {
    const { page, context } = await newPerson(browser);
    await signIn(page, consoleUrl, 'sam', ['sre']);
    const labels = await page.locator('svg[role=img]').evaluateAll((svgs) => svgs.map((s) => s.getAttribute('aria-label') ?? ''));
    assert.ok(labels.some((l) => /Denials by code: .*ERR_APPROVAL_DENIED \d/.test(l)), labels.join(' | '));
    assert.ok(labels.some((l) => /Masked values by recognizer: card \d/.test(l)), labels.join(' | '));
    assert.ok(labels.some((l) => /Decisions per target over time: .*ops-api \d+ allowed/.test(l)), labels.join(' | '));
    await screenshot(page, 'console-overview');
    assert.deepEqual((await axe(page)).map((v) => `${v.id}: ${v.help}`), []);
    await collect(page);
    await context.close();
  });

  test('every control is reachable by keyboard and labelled', async () => {
    const { page, context } = await newPerson(browser);
    await signIn(page, consoleUrl, 'sam', ['sre']);
    const held = gw.request('/ops/deploy/keys?case=console-keys', { method: 'POST', token: alice, body: '{}' });
    await page.goto(`${consoleUrl}/console/approvals`);
    const row = page.locator('#pending tr', { hasText: '/ops/deploy/keys' });
    await row.waitFor({ timeout: 5000 });
    for (const path of ['/console/approvals', '/console/explain', '/console']) {
      if (path !== '/console/approvals') await page.goto(`${consoleUrl}${path}`);
      else await row.waitFor();
      const { reached, controls } = await tabOrder(page);
      assert.deepEqual(controls.filter((c) => !reached.includes(c)), [], `${path}: every control is reached by Tab`);
      const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
        .filter((el) => !(el as HTMLInputElement).labels?.length && !el.getAttribute('aria-label') && !(el.textContent ?? '').trim())
        .map((el) => el.outerHTML.slice(0, 80)));
      assert.deepEqual(unlabelled, [], `${path}: every control has a label`);
    }
    // Decide by keyboard alone: focus the reason, type, Tab to Approve, Enter.
    await page.goto(`${consoleUrl}/console/approvals`);
    await row.getByLabel('Reason').focus();
    await page.keyboard.type('by keyboard');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    assert.equal((await held).status, 200);
    await context.close();
  });
});
