import type { PgStatementEvent } from '../../ext-proc/sessions/types.ts';
import { html, type Html } from '../html.ts';

/**
 * A run of PostgreSQL statements as an auditor reads them: a query log, one row per statement in
 * the order the client sent them, with when (offset from the session's start), what it was (the
 * recorded text, masked by the session's profile; what ext-authz read in it), the outcome, how
 * long it took, and the result — rows and values masked, or the SQLSTATE and the gateway's code
 * of a refusal or an error.
 */
export function queryLog(start: number, first: number, statements: readonly PgStatementEvent[]): Html {
  const count = statements.length;
  const byOutcome = new Map<string, number>();
  for (const s of statements) byOutcome.set(s.outcome, (byOutcome.get(s.outcome) ?? 0) + 1);
  const total = statements.reduce((sum, s) => sum + s.durationMs, 0);
  return html`<li class="ev pg-log"><span class="offset">+${Math.max(0, statements[0]!.at - start)} ms</span>
<h3>${count} statement${count === 1 ? '' : 's'}: ${[...byOutcome].map(([outcome, n]) => `${n} ${outcome}`).join(', ')} · ${duration(total)} in all</h3>
<table class="query-log"><caption class="visually-hidden">Statements in the order the client sent them</caption>
<thead><tr><th scope="col">#</th><th scope="col">At</th><th scope="col">Statement</th><th scope="col">Outcome</th><th scope="col" class="num">Duration</th><th scope="col">Result</th></tr></thead>
<tbody>${statements.map((s, i) => row(start, first + i, s))}</tbody></table></li>`;
}

function row(start: number, n: number, s: PgStatementEvent): Html {
  return html`<tr class="pg-statement ${s.outcome}"><td class="num">${n}</td><td class="num">+${Math.max(0, s.at - start)} ms</td>
<td><pre class="sql">${s.text}</pre>${s.truncated ? html`<p class="truncated">Truncated: the statement was longer than the record keeps.</p>` : ''}
${s.params?.length ? html`<p class="params">Parameters: ${s.params.map((p) => html`<code>${p}</code> `)}</p>` : ''}
${s.statements?.length ? html`<p class="what">${s.statements.map((w, i) => html`${i > 0 ? ' · ' : ''}<span class="class ${w.class}">${w.class}</span> ${w.command}${w.tables.length ? ` on ${w.tables.join(', ')}` : ''}`)}${s.protocol === 'extended' ? ' · extended protocol' : ''}</p>` : ''}</td>
<td><span class="outcome ${s.outcome}">${s.outcome}</span></td><td class="num" data-duration>${duration(s.durationMs)}</td><td data-facts>${facts(s)}</td></tr>`;
}

function facts(s: PgStatementEvent): Html {
  const parts: Html[] = [];
  if (s.rows !== undefined) parts.push(html`${s.rows} row${s.rows === 1 ? '' : 's'}`);
  if (s.tag && s.rows === undefined) parts.push(html`${s.tag}`);
  if (s.masked) parts.push(html`<strong>${s.masked} value${s.masked === 1 ? '' : 's'} masked</strong>`);
  if (s.error) parts.push(html`SQLSTATE <code>${s.error.sqlstate}</code>`);
  if (s.code) parts.push(html`<code>${s.code}</code>`);
  if (s.approvalId) parts.push(html`approval <code>${s.approvalId}</code>`);
  const message = s.error ? html`<p class="message">${s.error.message}</p>` : '';
  return html`${parts.map((p, i) => html`${i > 0 ? ' · ' : ''}${p}`)}${message}`;
}

/** Sub-millisecond statements are common through the gateway: keep a useful precision. */
function duration(ms: number): string {
  return ms < 10 ? `${ms.toFixed(2)} ms` : `${Math.round(ms)} ms`;
}
