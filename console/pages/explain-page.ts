import type { Explanation } from '../../ext-authz/policy/explain.ts';
import type { ConsoleUser } from '../browser-sessions.ts';
import { html } from '../html.ts';
import { layout } from './layout.ts';

export interface ExplainForm {
  target: string;
  method: string;
  path: string;
  subject: string;
  issuer: string;
  groups: string;
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * "Would this identity be allowed, and by which rule?" — as `sluice policy explain`. A pasted
 * token is read for its claims only and is never written back into the page: the form comes back
 * with the token field empty.
 */
export function explainPage(user: ConsoleUser, targets: readonly string[], form: ExplainForm, result?: { explanation: Explanation; subject: string }): string {
  const opts = (values: readonly string[], current: string) => values.map((v) => html`<option${v === current ? html` selected` : ''}>${v}</option>`);
  const d = result?.explanation.decision;
  return layout({
    title: 'Explain a decision',
    user,
    section: 'explain',
    body: html`<form method="post" action="/console/explain" class="explain" aria-label="Explain a decision">
<input type="hidden" name="csrf" value="${user.csrf}">
<p><label for="target">Target</label><select id="target" name="target" required>${opts(targets, form.target)}</select></p>
<p><label for="method">Method</label><select id="method" name="method">${opts(METHODS, form.method || 'GET')}</select></p>
<p><label for="path">Path</label><input id="path" name="path" value="${form.path || '/'}" required></p>
<fieldset><legend>Identity</legend>
<p><label for="subject">Subject</label><input id="subject" name="subject" value="${form.subject}"></p>
<p><label for="issuer">Issuer name</label><input id="issuer" name="issuer" value="${form.issuer}"></p>
<p><label for="groups">Groups (comma separated)</label><input id="groups" name="groups" value="${form.groups}"></p>
<p><label for="token">Or paste a token (its claims are read, not verified; it is not shown again)</label><input id="token" name="token" type="password" autocomplete="off"></p>
</fieldset>
<p><button type="submit">Explain</button></p></form>
${d ? html`<section aria-labelledby="result-h" class="result effect-${d.effect}"><h2 id="result-h">${d.effect.toUpperCase()}</h2>
<p><strong>${result!.subject}</strong> ${form.method} <code>${form.path}</code> on <strong>${form.target}</strong></p>
<dl><div><dt>Rule</dt><dd data-rule>${d.rule ?? '(none — default deny)'}</dd></div><div><dt>Reason</dt><dd>${d.reason}</dd></div>
${d.approval ? html`<div><dt>Approval</dt><dd>by ${d.approval.approverGroups.join(', ')}, quorum ${typeof d.approval.quorum === 'string' ? d.approval.quorum : `${d.approval.quorum.min} approvers`}</dd></div>` : ''}
${d.masking ? html`<div><dt>Masking profile</dt><dd>${d.masking}</dd></div>` : ''}</dl>
<h3>Trace</h3><ol class="trace">${result!.explanation.trace.map((s) => html`<li class="${s.matched ? 'matched' : 'skipped'}">${s.matched ? '✓' : '–'} ${s.policy}${s.rule ? `/${s.rule}` : ''}: ${s.why}</li>`)}</ol></section>` : ''}`,
  });
}
