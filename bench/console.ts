/**
 * `npm run bench:console`: the operator console's two figures, in a real browser against a real
 * gateway (not a test; prints numbers).
 *   1. From a request being held (its approval's created_at, the store's clock) to its row
 *      appearing on an open approvals page (the page's clock, the same machine): p50/p99 over 50.
 *   2. The sessions list with 10,000 recorded sessions: navigation to the load event, for the
 *      first page, a filtered page and a later page (server-side pagination, 50 a page).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileSessionStore } from '../ext-proc/sessions/file-store.ts';
import { sessionRecord } from '../ext-proc/sessions/store-suite.ts';
import { Gateway } from '../test/harness/gateway.ts';
import { approvalsCall } from '../test/harness/approvals-client.ts';
import { launchBrowser, newPerson, signIn } from '../test/harness/browser.ts';

const FIXTURE_POLICIES = fileURLToPath(new URL('../test/fixtures/policies/', import.meta.url));
const HELD = Number(process.env.BENCH_HELD ?? 50);
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 10_000);
const LOADS = 20;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
const fmt = (values: number[]) => `p50 ${percentile(values, 50).toFixed(1)} ms, p99 ${percentile(values, 99).toFixed(1)} ms, max ${Math.max(...values).toFixed(1)} ms (n=${values.length})`;

const sessionsDir = mkdtempSync(path.join(tmpdir(), 'sluice-bench-console-'));
const store = await FileSessionStore.open({ dir: sessionsDir, fsync: 'off' });
const subjects = ['alice', 'bob', 'carol', 'dave', 'erin'];
const now = Date.now();
for (let n = 0; n < SESSIONS; n++) {
  await store.append(sessionRecord({ subject: subjects[n % subjects.length]!, target: n % 3 === 0 ? 'ops-api' : 'demo-api', issuer: 'dev', startedAt: now - (SESSIONS - n) * 1000 }, n));
}
await store.close();

const gw = await Gateway.start({
  policySource: FIXTURE_POLICIES,
  console: { auditors: [{ groups: ['auditors'] }] },
  sessions: { store: 'file', dir: sessionsDir },
});
const browser = await launchBrowser();
try {
  const consoleUrl = gw.replicas[0]!.approvalsUrl;
  const alice = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'] });
  const sam = await gw.issuer.mint({ sub: 'sam', groups: ['sre'] });

  // 1. Held → visible.
  const approver = await newPerson(browser);
  await signIn(approver.page, consoleUrl, 'sam', ['sre']);
  await approver.page.goto(`${consoleUrl}/console/approvals`);
  await approver.page.locator('#feed-state.live').waitFor();
  await approver.page.evaluate(() => {
    const seen: Record<string, number> = {};
    (globalThis as any).__seen = seen;
    new MutationObserver((changes) => {
      for (const change of changes) for (const node of change.addedNodes) {
        const id = (node as HTMLElement).dataset?.id;
        if (id && seen[id] === undefined) seen[id] = Date.now();
      }
    }).observe(document.getElementById('pending')!, { childList: true });
  });
  const appear: number[] = [];
  for (let i = 0; i < HELD; i++) {
    const held = gw.request(`/ops/deploy/bench-${i}`, { method: 'POST', token: alice, body: '{}' });
    const row = approver.page.locator(`#pending tr`, { hasText: `/ops/deploy/bench-${i}` });
    await row.waitFor({ timeout: 10_000 });
    const id = (await row.getAttribute('data-id'))!;
    const shownAt = await approver.page.evaluate((key) => (globalThis as any).__seen[key] as number, id);
    const { body } = await approvalsCall(consoleUrl, sam, 'GET', `/approvals/${id}`);
    appear.push(shownAt - Date.parse(body.approval.created_at));
    await approvalsCall(consoleUrl, sam, 'POST', `/approvals/${id}/deny`, { reason: 'bench' });
    await held;
  }
  console.log(`held → visible on an open approvals page: ${fmt(appear)}`);
  await approver.context.close();

  // 2. Sessions list with SESSIONS records.
  const auditor = await newPerson(browser);
  await signIn(auditor.page, consoleUrl, 'carol', ['auditors']);
  const load = async (url: string) => {
    const times: number[] = [];
    for (let i = 0; i < LOADS + 2; i++) {
      await auditor.page.goto(url, { waitUntil: 'load' });
      const ms = await auditor.page.evaluate(() => {
        const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
        return nav.loadEventEnd - nav.startTime;
      });
      if (i >= 2) times.push(ms); // the first two warm the JIT and the connection
    }
    return times;
  };
  const first = await load(`${consoleUrl}/console/sessions`);
  const rows = await auditor.page.locator('table.sessions tbody tr').count();
  console.log(`sessions list, ${SESSIONS} recorded, first page (${rows} rows): ${fmt(first)}`);
  console.log(`sessions list, filtered (subject=carol, target=ops-api): ${fmt(await load(`${consoleUrl}/console/sessions?subject=carol&target=ops-api`))}`);
  const older = await auditor.page.goto(`${consoleUrl}/console/sessions`).then(() => auditor.page.getByRole('link', { name: /Older sessions/ }).getAttribute('href'));
  console.log(`sessions list, second page (cursor): ${fmt(await load(`${consoleUrl}${older}`))}`);
  await auditor.context.close();
} finally {
  await browser.close();
  await gw.stop();
  rmSync(sessionsDir, { recursive: true, force: true });
}
