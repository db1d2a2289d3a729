import type { Explanation } from '../../ext-authz/policy/explain.ts';
import type { ExplainForm } from '../explain-form.ts';
import { html, type Html } from '../html.ts';
import { approvalText, traceList } from './explain-trace.ts';

/** The answer for an HTTP target: decision, rule, reason, approval, masking profile, trace. */
export function httpResult(form: ExplainForm, subject: string, explanation: Explanation): Html {
  const d = explanation.decision;
  return html`<section aria-labelledby="result-h" class="result effect-${d.effect}"><h2 id="result-h">${d.effect.toUpperCase()}</h2>
<p><strong>${subject}</strong> ${form.method} <code>${form.path}</code> on <strong>${form.target}</strong></p>
<dl><div><dt>Rule</dt><dd data-rule>${d.rule ?? '(none — default deny)'}</dd></div><div><dt>Reason</dt><dd>${d.reason}</dd></div>
${d.approval ? html`<div><dt>Approval</dt><dd>${approvalText(d.approval)}</dd></div>` : ''}
${d.masking ? html`<div><dt>Masking profile</dt><dd>${d.masking}</dd></div>` : ''}</dl>
${traceList(explanation.trace)}</section>`;
}
