import type { SessionPage, SessionRecord } from '../../ext-proc/sessions/types.ts';
import type { ConsoleUser } from '../browser-sessions.ts';
import { html, type Html } from '../html.ts';
import { OUTCOMES, pageUrl, PROTOCOLS, YES_NO, type SessionFilters } from '../session-filters.ts';
import { layout } from './layout.ts';

/** The auditor's list: filters, one page of sessions (newest first), and a link to the next page. */
export function sessionsPage(user: ConsoleUser, filters: SessionFilters, page: SessionPage, targets: readonly string[], rules: readonly string[] = []): string {
  const select = (id: string, label: string, values: readonly string[], current: string) => html`<p><label for="${id}">${label}</label>
<select id="${id}" name="${id}"><option value="">any</option>${values.map((v) => html`<option${v === current ? html` selected` : ''}>${v}</option>`)}</select></p>`;
  const text = (id: string, label: string, current: string, type = 'text') => html`<p><label for="${id}">${label}</label><input id="${id}" name="${id}" type="${type}" value="${current}"${type === 'datetime-local' ? html` step="1"` : ''}></p>`;
  const rows = page.records.map(row);
  const next = page.nextCursor ? html`<a href="${pageUrl(filters, page.nextCursor)}" rel="next">Older sessions →</a>` : '';
  const first = filters.cursor ? html`<a href="${pageUrl(filters, undefined)}">← Newest</a>` : '';
  return layout({
    title: 'Recorded sessions',
    user,
    section: 'sessions',
    body: html`<form method="get" action="/console/sessions" class="filters" aria-label="Filter sessions">
${text('subject', 'Subject', filters.subject)}${select('target', 'Target', targets, filters.target)}${select('outcome', 'Status', OUTCOMES, filters.outcome)}${select('protocol', 'Protocol', PROTOCOLS, filters.protocol)}
${text('masked', 'Masked by (recognizer)', filters.masked)}<p><label for="rule">Rule (policy/rule or policy/*)</label><input id="rule" name="rule" type="text" list="rule-choices" value="${filters.rule}"></p>
<datalist id="rule-choices">${rules.map((r) => html`<option value="${r}"></option>`)}</datalist>${select('approval', 'Waited for approval', YES_NO, filters.approval)}${select('refusals', 'Statements refused', YES_NO, filters.refusals)}
${text('from', 'From (UTC)', filters.from, 'datetime-local')}${text('to', 'To (UTC)', filters.to, 'datetime-local')}
<p class="actions"><button type="submit">Filter</button> <a href="/console/sessions">Clear</a></p></form>
<table class="sessions"><caption class="visually-hidden">Recorded sessions, newest first</caption>
<thead><tr><th scope="col">Started (UTC)</th><th scope="col">Subject</th><th scope="col">Target</th><th scope="col">Session</th><th scope="col">Status</th><th scope="col">Duration</th><th scope="col">Masked</th></tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="7">No sessions match.</td></tr>`}</tbody></table>
<p class="pager">${first} ${next}</p>`,
  });
}

function row(record: SessionRecord): Html {
  const masked = maskedCount(record);
  return html`<tr><td><time datetime="${new Date(record.startedAt).toISOString()}">${utc(record.startedAt)}</time></td><td>${record.subject}</td><td>${record.target}</td>
<td><a href="/console/sessions/${record.id}">${record.summary || record.id}</a> <span class="proto">${record.protocol}</span></td><td><span class="outcome ${record.outcome}">${record.outcome}</span></td>
<td>${record.endedAt - record.startedAt} ms</td><td>${masked === 0 ? '—' : masked}</td></tr>`;
}

export function maskedCount(record: SessionRecord): number {
  const m = record.masking;
  if (!m) return 0;
  const sum = (report: Readonly<Record<string, number>> | undefined) => Object.values(report ?? {}).reduce((a, b) => a + b, 0);
  return sum(m.request.masked) + sum(m.response.masked);
}

export function utc(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 23);
}
