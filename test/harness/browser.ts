import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { resolveChromium } from '../../common/chromium-bin.ts';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Screenshots land here (git-ignored); SLUICE_SCREENSHOTS_DIR=docs keeps them for the README. */
export const SCREENSHOT_DIR = path.resolve(ROOT, process.env.SLUICE_SCREENSHOTS_DIR ?? '.cache/console-screenshots');

/** Headless Chromium (the system one, see common/chromium-bin.ts), one fresh context per person. */
export async function launchBrowser(): Promise<Browser> {
  const binary = resolveChromium();
  return chromium.launch({ executablePath: binary.path, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

export async function newPerson(browser: Browser): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  return { context, page: await context.newPage() };
}

/** Signs in through the console's sign-in page and the dev issuer's form, as a person would. */
export async function signIn(page: Page, consoleUrl: string, sub: string, groups: string[]): Promise<void> {
  await page.goto(`${consoleUrl}/console`);
  await page.getByRole('link', { name: /^Sign in with/ }).click();
  await page.getByLabel('Subject').fill(sub);
  await page.getByLabel('Groups (comma separated)').fill(groups.join(','));
  await page.getByRole('button', { name: 'Sign in (dev)' }).click();
  await page.waitForURL(`${consoleUrl}/console`);
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/**
 * Runs axe-core in the page (WCAG 2 A and AA rules) and returns what it finds. It is evaluated
 * through the DevTools protocol, which the page's CSP does not govern: a script tag would be
 * (rightly) refused by the console's script-src 'self'.
 */
export async function axe(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    const result = await (globalThis as any).axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return result.violations.map((v: any) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n: any) => ({ target: n.target })) }));
  });
}

/**
 * Presses Tab until the focus comes round again and returns the elements it reached, plus every
 * control of the page (links, buttons, inputs, selects, summaries), so a test can check that
 * each one is reachable by keyboard.
 */
export async function tabOrder(page: Page, maxPresses = 80): Promise<{ reached: string[]; controls: string[] }> {
  await page.evaluate(() => {
    let n = 0;
    for (const el of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')) (el as HTMLElement).dataset.tabProbe = String(n++);
    (document.activeElement as HTMLElement | null)?.blur();
  });
  const reached: string[] = [];
  for (let i = 0; i < maxPresses; i++) {
    await page.keyboard.press('Tab');
    const id = await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.tabProbe ?? '');
    if (id !== '' && reached.includes(id)) break;
    if (id !== '') reached.push(id);
  }
  const controls = await page.evaluate(() => [...document.querySelectorAll('[data-tab-probe]')].filter((el) => (el as HTMLElement).offsetParent !== null || el.tagName === 'SUMMARY').map((el) => (el as HTMLElement).dataset.tabProbe!));
  return { reached, controls };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
