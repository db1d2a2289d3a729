import type { ConsoleUser } from '../browser-sessions.ts';
import { html, type Html } from '../html.ts';

export type Section = 'overview' | 'approvals' | 'sessions' | 'explain';

const NAV: readonly [Section, string, string][] = [
  ['overview', '/console', 'Overview'],
  ['approvals', '/console/approvals', 'Approvals'],
  ['sessions', '/console/sessions', 'Sessions'],
  ['explain', '/console/explain', 'Explain'],
];

export interface LayoutOptions {
  title: string;
  user?: ConsoleUser;
  section?: Section;
  body: Html;
}

/** Every console page: skip link, navigation, who is signed in, the sign-out form, the page's CSRF token for its script. */
export function layout(options: LayoutOptions): string {
  const { user } = options;
  const nav = user
    ? html`<nav aria-label="Console"><ul>${NAV.map(([section, href, label]) => html`<li><a href="${href}"${section === options.section ? html` aria-current="page"` : ''}>${label}</a></li>`)}</ul></nav>
<div class="who"><span>Signed in as <strong>${user.identity.subject}</strong>${user.identity.groups.length ? html` <span class="groups">(${user.identity.groups.join(', ')})</span>` : ''}</span>
<form method="post" action="/console/logout"><input type="hidden" name="csrf" value="${user.csrf}"><button type="submit">Sign out</button></form></div>`
    : '';
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
${user ? html`<meta name="sluice-csrf" content="${user.csrf}">` : ''}<title>${options.title} · Sluice console</title>
<link rel="stylesheet" href="/console/assets/console.css"><script src="/console/assets/console.js" defer></script></head>
<body><a class="skip" href="#main">Skip to content</a>
<header><span class="brand">Sluice console</span>${nav}</header>
<main id="main" tabindex="-1"><h1>${options.title}</h1>${options.body}</main></body></html>`.text;
}
