import type { RedisCommandEvent } from '../../ext-proc/sessions/types.ts';
import { html, type Html } from '../html.ts';

/**
 * A run of Redis commands as an auditor reads them: one row per command in the order the client
 * sent them, with when, the command and its keys (values only as the session's masking profile
 * shows them), the outcome, and the reply's size or the error or refusal code. The table reuses
 * the query log's styles.
 */
export function commandLog(start: number, first: number, commands: readonly RedisCommandEvent[]): Html {
  const count = commands.length;
  const byOutcome = new Map<string, number>();
  for (const c of commands) byOutcome.set(c.outcome, (byOutcome.get(c.outcome) ?? 0) + 1);
  return html`<li class="ev redis-log"><span class="offset">+${Math.max(0, commands[0]!.at - start)} ms</span>
<h3>${count} command${count === 1 ? '' : 's'}: ${[...byOutcome].map(([outcome, n]) => `${n} ${outcome}`).join(', ')}</h3>
<table class="query-log"><caption class="visually-hidden">Commands in the order the client sent them</caption>
<thead><tr><th scope="col">#</th><th scope="col">At</th><th scope="col">Command</th><th scope="col">Outcome</th><th scope="col" class="num">Duration</th><th scope="col">Reply</th></tr></thead>
<tbody>${commands.map((c, i) => row(start, first + i, c))}</tbody></table></li>`;
}

function row(start: number, n: number, c: RedisCommandEvent): Html {
  const keys = c.keys.length ? html` ${c.keys.map((k) => html`<code>${k}</code> `)}` : '';
  const values = c.values?.length ? html`<p class="params">Values: ${c.values.map((v) => html`<code>${v}</code> `)}</p>` : '';
  return html`<tr class="redis-command ${c.outcome}"><td class="num">${n}</td><td class="num">+${Math.max(0, c.at - start)} ms</td>
<td><strong>${c.command}</strong>${keys}<p class="what">${c.args} argument${c.args === 1 ? '' : 's'}, ${c.bytes} bytes${c.rule ? ` · rule ${c.rule}` : ''}</p>${values}</td>
<td><span class="outcome ${c.outcome}">${c.outcome}</span></td><td class="num" data-duration>${c.durationMs === undefined ? '' : duration(c.durationMs)}</td><td data-facts>${facts(c)}</td></tr>`;
}

function facts(c: RedisCommandEvent): Html {
  const parts: Html[] = [];
  if (c.replyBytes !== undefined) parts.push(html`${c.replyBytes} bytes`);
  // recording: commands: the command went upstream; its reply was not read.
  if (c.outcome === 'sent') parts.push(html`reply not recorded`);
  if (c.code) parts.push(html`<code>${c.code}</code>`);
  const message = c.error ? html`<p class="message">${c.error}</p>` : '';
  return html`${parts.map((p, i) => html`${i > 0 ? ' · ' : ''}${p}`)}${message}`;
}

function duration(ms: number): string {
  return ms < 10 ? `${ms.toFixed(2)} ms` : `${Math.round(ms)} ms`;
}
