import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import pg from 'pg';
import { freePort } from '../../common/free-port.ts';
import { Gateway } from '../harness/gateway.ts';
import { axe, launchBrowser, newPerson, screenshot, signIn } from '../harness/browser.ts';
import { startPostgresServer, type PostgresServer } from '../harness/postgres-server.ts';

const CARD = '4111 1111 1111 1111';
const EMAIL = 'jane@example.com';

/** psql with the token as the password (as the README shows), every -c in one session, in order. */
function psql(port: number, token: string, commands: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const args = [`host=127.0.0.1 port=${port} user=postgres dbname=test connect_timeout=10`, '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=0'];
  for (const c of commands) args.push('-c', c);
  return new Promise((resolve) => {
    execFile('psql', args, { timeout: 30_000, env: { ...process.env, PGPASSWORD: token, PGAPPNAME: 'console-replay' } }, (err, stdout, stderr) => {
      resolve({ code: err ? 1 : 0, stdout, stderr });
    });
  });
}

/**
 * The console and PostgreSQL, in a real browser against a real gateway: the repo's demo-db target
 * and its policy (policies/database.yaml), here in front of a throwaway SCRAM server with a real
 * password the gateway holds and masking on the results. The explain form explains statement
 * texts; an auditor replays a psql session. Every page and download is searched for the token,
 * the database password and the unmasked values.
 */
describe('operator console: PostgreSQL explain and replay in a browser', () => {
  let db: PostgresServer;
  let gw: Gateway;
  let browser: Browser;
  let consoleUrl: string;
  let dbPort: number;
  let alice: string;
  const seen: string[] = [];

  async function collect(page: Page): Promise<string> {
    const text = await page.content();
    seen.push(text);
    return text;
  }

  before(async () => {
    db = await startPostgresServer({ auth: 'scram-sha-256', user: 'app_user' });
    await db.sql('CREATE DATABASE test OWNER app_user');
    const owner = new pg.Client({ host: db.host, port: db.port, user: db.user, password: db.password, database: 'test' });
    await owner.connect();
    await owner.query(`CREATE TABLE public.customers (id int, name text, card text, email text);
      INSERT INTO public.customers VALUES (1, 'jane', '${CARD}', '${EMAIL}'), (2, 'joe', '5500 0000 0000 0004', 'joe@example.org')`);
    await owner.end();
    dbPort = await freePort();
    gw = await Gateway.start({
      targets: [{ name: 'demo-db', protocol: 'postgres', endpoints: [`127.0.0.1:${db.port}`], postgres: { port: dbPort } }],
      credentials: [{ target: 'demo-db', secret: 'demo-db-password', postgres: { user: 'app_user' } }],
      secrets: { 'demo-db-password': db.password },
      masking: { profiles: [{ name: 'pii', recognizers: [{ use: 'card', strategy: 'keep-last-4' }, { use: 'email', strategy: 'redact' }] }], targets: { 'demo-db': 'pii' } },
      console: { auditors: [{ groups: ['auditors'] }], policyAuthors: [{ groups: ['engineering'] }] },
    });
    consoleUrl = gw.replicas[0]!.approvalsUrl;
    alice = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'] });
    browser = await launchBrowser();
  });

  after(async () => {
    for (const text of seen) {
      for (const secret of [alice, db.password]) assert.equal(text.includes(secret), false, 'a page showed the token or the database password');
      assert.equal(text.includes(CARD), false, 'a page showed an unmasked card number');
      assert.equal(text.includes(EMAIL), false, 'a page showed an unmasked email');
    }
    await browser?.close();
    await gw?.stop();
    await db?.stop();
  });

  async function explainSql(page: Page, sql: string): Promise<void> {
    await page.getByLabel('SQL text', { exact: false }).fill(sql);
    await page.getByRole('button', { name: 'Explain' }).click();
    await page.locator('section.result').waitFor();
  }

  test('the explain form asks a postgres target for a login and SQL: DDL is denied by its rule, a write needs approval, an unparsable text says so', async () => {
    const { page, context } = await newPerson(browser);
    await signIn(page, consoleUrl, 'alice', ['engineering']);
    await page.goto(`${consoleUrl}/console/explain`);
    const http = page.locator('fieldset[data-protocol=http]');
    const postgres = page.locator('fieldset[data-protocol=postgres]');
    await page.getByLabel('Target').selectOption('demo-api');
    assert.equal(await postgres.isVisible(), false, 'an HTTP target shows the HTTP fields only');
    assert.equal(await http.isVisible(), true);
    await page.getByLabel('Target').selectOption('demo-db');
    assert.equal(await http.isVisible(), false);
    assert.equal(await postgres.isVisible(), true);
    await page.getByLabel('Database user').fill('postgres');
    await page.getByLabel('Database', { exact: true }).fill('test');
    // A pasted token: its claims decide, and it is not shown again.
    await page.getByLabel(/Or paste a token/).fill(alice);
    await explainSql(page, 'drop table orders');
    assert.equal(await page.locator('#result-h').textContent(), 'DENY');
    assert.equal(await page.locator('[data-rule]').textContent(), 'demo-db-engineers/no-ddl');
    assert.equal(await page.locator('[data-code]').textContent(), 'ERR_STATEMENT_DENIED');
    assert.deepEqual(await page.locator('table.statements tbody tr').first().locator('td').allTextContents(), ['1', 'ddl', 'DROP TABLE', 'orders ']);
    assert.equal(await page.getByLabel(/Or paste a token/).inputValue(), '');
    assert.equal(await postgres.isVisible(), true, 'the answer comes back with the postgres fields shown');
    assert.match((await page.locator('ol.trace').textContent()) ?? '', /no-ddl: ddl \(DROP TABLE\) on orders: matches \(deny\); this rule decides/);
    await collect(page);

    await explainSql(page, "begin; delete from orders where note = 'x'; commit");
    assert.equal(await page.locator('#result-h').textContent(), 'APPROVE');
    assert.equal(await page.locator('[data-rule]').textContent(), 'demo-db-engineers/writes');
    assert.deepEqual(await page.locator('table.statements tbody tr td:nth-child(3)').allTextContents(), ['BEGIN', 'DELETE', 'COMMIT']);
    assert.equal(await page.locator('[data-normalized]').textContent(), 'begin; delete from orders where note = $1; commit');
    assert.match((await page.locator('section.result').textContent()) ?? '', /Approval\s*by sre, quorum any/);
    await collect(page);

    await explainSql(page, 'selec 1');
    assert.equal(await page.locator('#result-h').textContent(), 'DENY');
    assert.equal(await page.locator('[data-code]').textContent(), 'ERR_STATEMENT_UNPARSABLE');
    assert.match((await page.locator('[data-message]').textContent()) ?? '', /syntax error at or near "selec"/);
    assert.equal(await page.locator('table.statements').count(), 0);
    await screenshot(page, 'console-explain-postgres');
    assert.deepEqual((await axe(page)).map((v) => `${v.id}: ${v.help}`), [], 'no accessibility violations on the PostgreSQL explain answer');
    await collect(page);

    // A postgres target without the login fields is refused with the field named, not explained as HTTP.
    await page.getByLabel('Database user').fill('');
    await page.getByLabel('SQL text', { exact: false }).fill('select 1');
    await page.getByRole('button', { name: 'Explain' }).click();
    await page.getByText('ERR_CONSOLE_INVALID').waitFor();
    assert.match(await collect(page), /give the database user and the database: demo-db is a PostgreSQL target/);
    await context.close();
  });

  test('without script the form still works: both field sets are shown, the target decides which is read', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    await signIn(page, consoleUrl, 'alice', ['engineering']);
    await page.goto(`${consoleUrl}/console/explain`);
    assert.equal(await page.locator('fieldset[data-protocol=http]').isVisible(), true);
    assert.equal(await page.locator('fieldset[data-protocol=postgres]').isVisible(), true);
    await page.getByLabel('Target').selectOption('demo-db');
    await page.getByLabel('Database user').fill('postgres');
    await page.getByLabel('Database', { exact: true }).fill('test');
    await explainSql(page, 'select * from public.customers');
    assert.equal(await page.locator('#result-h').textContent(), 'ALLOW');
    assert.equal(await page.locator('[data-rule]').textContent(), 'demo-db-engineers/read');
    // The HTTP fields went along (method GET, path /) and were not read: an HTTP target reads them.
    await page.getByLabel('Target').selectOption('demo-api');
    await page.getByRole('button', { name: 'Explain' }).click();
    await page.locator('section.result').waitFor();
    assert.match((await page.locator('section.result p').first().textContent()) ?? '', /GET \/ on demo-api/);
    await collect(page);
    await context.close();
  });

  test('an auditor replays a psql session: statements in order with outcomes, rows, durations, the refusal\'s SQLSTATE and code, values masked', async () => {
    const session = [
      'select id, name, card, email from public.customers order by id',
      `select name from public.customers where card = '${CARD}'`,
      'create table evil (a int)',
      `select '${CARD}'::int`,
      'select count(*) from public.customers',
    ];
    const run = await psql(dbPort, alice, session);
    assert.match(run.stdout, /^1\|jane\|\S+ \S+ \S+ 1111\|/m, run.stderr);
    assert.equal(run.stdout.includes(CARD) || run.stdout.includes(EMAIL), false, 'masked on the wire');
    assert.match(run.stderr, /ERROR: .*ddl \(CREATE TABLE\)/);
    await gw.proc!.recordingQueue!.flush();

    const { page, context } = await newPerson(browser);
    await signIn(page, consoleUrl, 'carol', ['auditors']);
    await page.goto(`${consoleUrl}/console/sessions`);
    await page.getByLabel('Target').selectOption('demo-db');
    await page.getByLabel('Protocol').selectOption('postgres');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/protocol=postgres/);
    await collect(page);
    await page.getByRole('link', { name: /5 statements/ }).first().click();
    await page.locator('ol.timeline').waitFor();
    const rows = page.locator('table.query-log tbody tr');
    assert.equal(await rows.count(), 5);
    const texts = await rows.locator('.sql').allTextContents();
    assert.deepEqual(texts.map((t) => t.trim().slice(0, 30)), session.map((t) => t.replace(CARD, '**** **** **** 1111').slice(0, 30)), 'in the order psql sent them, values masked');
    assert.equal(texts.some((t) => t.includes(CARD)), false);
    assert.deepEqual(await rows.locator('.outcome').allTextContents(), ['ok', 'ok', 'refused', 'error', 'ok']);
    const facts = await rows.locator('[data-facts]').allTextContents();
    assert.match(facts[0]!, /^2 rows · 4 values masked$/);
    assert.match(facts[1]!, /^1 row$/);
    assert.match(facts[2]!, /SQLSTATE 42501 · ERR_STATEMENT_DENIED/);
    assert.match(facts[2]!, /ddl \(CREATE TABLE\)/, 'the refusal as the client got it');
    assert.match(facts[3]!, /SQLSTATE 22P02/);
    assert.match(facts[3]!, /invalid input syntax for type integer: "\*\*\*\* \*\*\*\* \*\*\*\* 1111"/, 'the server message is masked like the text');
    for (const d of await rows.locator('[data-duration]').allTextContents()) assert.match(d, /^\d+(\.\d+)? ms$/, 'every statement has its duration');
    assert.match((await rows.first().locator('.what').textContent()) ?? '', /read SELECT on public\.customers/);
    const main = (await page.locator('main').textContent()) ?? '';
    assert.match(main, /upstream user\s*app_user/);
    await screenshot(page, 'console-replay-postgres');
    assert.deepEqual((await axe(page)).map((v) => `${v.id}: ${v.help}`), [], 'no accessibility violations on the PostgreSQL replay');
    await collect(page);

    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: /Download the record/ }).click();
    const json = await readFile(await (await download).path(), 'utf8');
    seen.push(json);
    const record = JSON.parse(json).session;
    assert.equal(record.protocol, 'postgres');
    assert.deepEqual(record.events.filter((e: any) => e.kind === 'pg.statement').map((e: any) => e.outcome), ['ok', 'ok', 'refused', 'error', 'ok']);
    assert.equal(record.events.find((e: any) => e.outcome === 'refused').error.sqlstate, '42501');
    await context.close();
  });
});
