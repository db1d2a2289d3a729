import { html } from '../html.ts';
import { layout } from './layout.ts';
import type { ConsoleUser } from '../browser-sessions.ts';

/** What a signed-out browser gets for any console page (status 401). */
export function signInPage(issuerName: string, next: string, notice?: string): string {
  const href = `/console/login?next=${encodeURIComponent(next)}`;
  return layout({
    title: 'Sign in',
    body: html`${notice ? html`<p class="notice" role="status">${notice}</p>` : ''}
<p>Approvers decide held requests here; auditors replay recorded sessions.</p>
<p><a class="button" href="${href}">Sign in with ${issuerName}</a></p>`,
  });
}

export function errorPage(status: number, code: string, message: string, user?: ConsoleUser): string {
  return layout({
    title: status === 403 ? 'Not allowed' : 'Something went wrong',
    ...(user ? { user } : {}),
    body: html`<p role="alert"><code>${code}</code> ${message}</p><p><a href="/console">Back to the overview</a></p>`,
  });
}
