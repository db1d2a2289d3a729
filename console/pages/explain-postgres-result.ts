import type { PostgresExplanation } from '../../ext-authz/protocols/postgres/explain-statement.ts';
import type { ExplainForm } from '../explain-form.ts';
import { html, type Html } from '../html.ts';
import { approvalText, traceList } from './explain-trace.ts';

/**
 * The answer for a PostgreSQL target: what each statement of the text is (class, command,
 * tables), the decision with its rule and the code the client would get, and the trace. The text
 * is shown normalized (constants as $n), as approvers and the decision log see it.
 */
export function postgresResult(form: ExplainForm, subject: string, explanation: PostgresExplanation, login: boolean): Html {
  const d = explanation.decision;
  const statements = explanation.statements ?? [];
  return html`<section aria-labelledby="result-h" class="result effect-${d.effect}"><h2 id="result-h">${d.effect.toUpperCase()}</h2>
<p><strong>${subject}</strong> ${login ? 'login' : 'statement'} as <code>${form.user}</code> to <code>${form.database}</code> on <strong>${form.target}</strong></p>
${statements.length > 0 ? html`<table class="statements"><caption>What the text does</caption>
<thead><tr><th scope="col">#</th><th scope="col">Class</th><th scope="col">Command</th><th scope="col">Tables</th></tr></thead>
<tbody>${statements.map((s, i) => html`<tr><td>${i + 1}</td><td><span class="class ${s.class}">${s.class}</span></td><td>${s.command}</td><td>${s.tables.length ? s.tables.map((t) => html`<code>${t}</code> `) : '—'}</td></tr>`)}</tbody></table>` : ''}
${explanation.normalized ? html`<h3>Normalized text</h3><pre class="sql" data-normalized>${explanation.normalized}</pre>` : ''}
<dl><div><dt>Rule</dt><dd data-rule>${d.rule ?? '(none)'}</dd></div>
${d.code ? html`<div><dt>Code</dt><dd><code data-code>${d.code}</code></dd></div>` : ''}
<div><dt>${d.code ? 'Message' : 'Reason'}</dt><dd data-message>${d.message}</dd></div>
${explanation.approval ? html`<div><dt>Approval</dt><dd>${approvalText(explanation.approval)}</dd></div>` : ''}</dl>
${traceList(explanation.trace)}</section>`;
}
