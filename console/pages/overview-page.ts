import type { ConsoleUser } from '../browser-sessions.ts';
import { barChart, decisionsOverTime } from '../charts.ts';
import type { DecisionBucket } from '../decision-history.ts';
import { html } from '../html.ts';
import { layout } from './layout.ts';

export interface OverviewData {
  decisions: Map<string, DecisionBucket[]>;
  intervalSeconds: number;
  denials: { label: string; value: number }[];
  waiting: { label: string; value: number }[];
  masking: { label: string; value: number }[] | undefined;
}

/** The pictures everyone signed in may see: counts only, never a subject, a path or a value. */
export function overviewPage(user: ConsoleUser, data: OverviewData): string {
  const waitingTotal = data.waiting.reduce((s, e) => s + e.value, 0);
  return layout({
    title: 'Overview',
    user,
    section: 'overview',
    body: html`<div class="cards">
<section class="card" aria-labelledby="h-decisions"><h2 id="h-decisions">Decisions per target</h2><p class="sub">every ${data.intervalSeconds} s, since this service started</p>${decisionsOverTime('Decisions per target over time', data.decisions)}</section>
<section class="card" aria-labelledby="h-denials"><h2 id="h-denials">Denials by code</h2>${barChart('Denials by code', data.denials, '#c53030')}</section>
<section class="card" aria-labelledby="h-waiting"><h2 id="h-waiting">Approvals waiting: <span data-waiting>${waitingTotal}</span></h2>${barChart('Approvals waiting by target', data.waiting, '#b7791f')}<p><a href="/console/approvals">Decide →</a></p></section>
<section class="card" aria-labelledby="h-masking"><h2 id="h-masking">Masking hits by recognizer</h2>${data.masking === undefined ? html`<p class="empty">ext-proc's metrics cannot be read right now.</p>` : barChart('Masked values by recognizer', data.masking, '#6b46c1')}</section>
</div>`,
  });
}
