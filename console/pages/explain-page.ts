import type { ConsoleUser } from '../browser-sessions.ts';
import type { ConsoleTarget, ExplainForm, ExplainResult } from '../explain-form.ts';
import { html, type Html } from '../html.ts';
import { httpResult } from './explain-http-result.ts';
import { layout } from './layout.ts';
import { postgresResult } from './explain-postgres-result.ts';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * "Would this identity be allowed, and by which rule?" — as `sluice policy explain`. Both field
 * sets (an HTTP request; a PostgreSQL login and statement text) are on the page and labelled, so
 * it works without script; the server reads the set of the chosen target's protocol, and the
 * console's script only hides the other one. A pasted token is read for its claims only and is
 * never written back into the page: the form comes back with the token field empty.
 */
export function explainPage(user: ConsoleUser, targets: readonly ConsoleTarget[], form: ExplainForm, result?: ExplainResult): string {
  const opts = (values: readonly string[], current: string) => values.map((v) => html`<option${v === current ? html` selected` : ''}>${v}</option>`);
  const targetOptions = targets.map((t) => html`<option value="${t.name}" data-protocol="${t.protocol}"${t.name === form.target ? html` selected` : ''}>${t.name}${t.protocol === 'http' ? '' : ` (${t.protocol})`}</option>`);
  return layout({
    title: 'Explain a decision',
    user,
    section: 'explain',
    body: html`<form method="post" action="/console/explain" class="explain" aria-label="Explain a decision">
<input type="hidden" name="csrf" value="${user.csrf}">
<p><label for="target">Target</label><select id="target" name="target" required>${targetOptions}</select></p>
<fieldset data-protocol="http"><legend>HTTP request (HTTP targets)</legend>
<p><label for="method">Method</label><select id="method" name="method">${opts(METHODS, form.method || 'GET')}</select></p>
<p><label for="path">Path</label><input id="path" name="path" value="${form.path || '/'}" required></p>
</fieldset>
<fieldset data-protocol="postgres"><legend>PostgreSQL login and statement (postgres targets)</legend>
<p><label for="db-user">Database user</label><input id="db-user" name="user" value="${form.user}" autocomplete="off"></p>
<p><label for="db-name">Database</label><input id="db-name" name="database" value="${form.database}" autocomplete="off"></p>
<p><label for="sql">SQL text (empty: explain the login alone)</label><textarea id="sql" name="sql" rows="4" spellcheck="false">${form.sql}</textarea></p>
</fieldset>
<fieldset><legend>Identity</legend>
<p><label for="subject">Subject</label><input id="subject" name="subject" value="${form.subject}"></p>
<p><label for="issuer">Issuer name</label><input id="issuer" name="issuer" value="${form.issuer}"></p>
<p><label for="groups">Groups (comma separated)</label><input id="groups" name="groups" value="${form.groups}"></p>
<p><label for="token">Or paste a token (its claims are read, not verified; it is not shown again)</label><input id="token" name="token" type="password" autocomplete="off"></p>
</fieldset>
<p><button type="submit">Explain</button></p></form>
${resultOf(form, result)}`,
  });
}

function resultOf(form: ExplainForm, result: ExplainResult | undefined): Html | '' {
  if (result === undefined) return '';
  return result.protocol === 'http' ? httpResult(form, result.subject, result.explanation) : postgresResult(form, result.subject, result.explanation, result.login);
}
