import type { CapturedBody, DirectionMasking, PgStatementEvent, RecordedHeaders, RedisCommandEvent, SessionEvent, SessionRecord } from '../../ext-proc/sessions/types.ts';
import type { ConsoleUser } from '../browser-sessions.ts';
import { html, type Html } from '../html.ts';
import { layout } from './layout.ts';
import { queryLog } from './query-log.ts';
import { commandLog } from './command-log.ts';
import { utc } from './sessions-page.ts';

/**
 * A session replayed as a timeline: one entry per event with its offset from the start, whatever
 * the protocol (HTTP exchanges, PostgreSQL logins and statements, approvals, the end). Bodies are
 * shown as recorded, which is masked; binary bodies are not shown; truncation is marked. The
 * record passed in has already been through redactRecord.
 */
export function replayPage(user: ConsoleUser, record: SessionRecord): string {
  const events = collapse(record.events);
  return layout({
    title: `Session ${record.summary || record.id}`,
    user,
    section: 'sessions',
    body: html`<p><a href="/console/sessions">← All sessions</a> · <a href="/console/sessions/${record.id}/record.json" download>Download the record (JSON)</a></p>
<dl class="envelope">
${pair('Session', record.id)}${pair('Subject', `${record.subject} (${record.issuer})`)}${pair('Target', `${record.target} · ${record.protocol}`)}
${pair('Rule', record.rule)}${pair('Decision', record.decision)}${pair('Status', record.outcome)}
${pair('Started (UTC)', utc(record.startedAt))}${pair('Duration', `${record.endedAt - record.startedAt} ms`)}
${record.credential ? pair('Credential injected', credentialText(record)) : ''}
</dl>
${record.masking ? html`<h2>Masking</h2><p>Profile <strong>${record.masking.profile ?? 'none'}</strong>.</p><ul class="masking">${direction('Request', record.masking.request)}${direction('Response', record.masking.response)}</ul>` : ''}
<h2>Timeline</h2>
<ol class="timeline">${events.map((e) => entry(record.startedAt, e))}</ol>`,
  });
}

type Shown =
  | SessionEvent
  | { kind: 'body.chunks'; at: number; direction: 'request' | 'response'; chunks: number; bytes: number; lastAt: number }
  | { kind: 'pg.log'; at: number; first: number; statements: PgStatementEvent[] }
  | { kind: 'redis.log'; at: number; first: number; commands: RedisCommandEvent[] };

/**
 * Consecutive body chunks in one direction become one entry: a stream of 1,000 chunks is one line,
 * not a thousand. Consecutive statements (PostgreSQL) or commands (Redis) become one log (a table),
 * numbered across the session, which is how an auditor reads a database session.
 */
function collapse(events: readonly SessionEvent[]): Shown[] {
  const out: Shown[] = [];
  let numbered = 0;
  for (const event of events) {
    const last = out[out.length - 1];
    if (event.kind === 'pg.statement') {
      numbered++;
      if (last?.kind === 'pg.log') last.statements.push(event);
      else out.push({ kind: 'pg.log', at: event.at, first: numbered, statements: [event] });
    } else if (event.kind === 'redis.command') {
      numbered++;
      if (last?.kind === 'redis.log') last.commands.push(event);
      else out.push({ kind: 'redis.log', at: event.at, first: numbered, commands: [event] });
    } else if (event.kind === 'body' && last?.kind === 'body.chunks' && last.direction === event.direction) {
      last.chunks++;
      last.bytes += event.bytes;
      last.lastAt = event.at;
    } else if (event.kind === 'body') {
      out.push({ kind: 'body.chunks', at: event.at, direction: event.direction, chunks: 1, bytes: event.bytes, lastAt: event.at });
    } else out.push(event);
  }
  return out;
}

function entry(start: number, event: Shown): Html {
  const offset = html`<span class="offset">+${Math.max(0, event.at - start)} ms</span>`;
  switch (event.kind) {
    case 'http.request':
      return html`<li class="ev http-request">${offset}<h3>Request <code>${event.method} ${event.path}</code></h3>${headers(event.headers)}${body(event.body)}</li>`;
    case 'http.response':
      return html`<li class="ev http-response">${offset}<h3>Response <code>${event.status ?? '(cut)'}</code></h3>${headers(event.headers)}${body(event.body)}</li>`;
    case 'body.chunks':
      return html`<li class="ev chunks">${offset}<h3>${event.direction} body: ${event.chunks} chunk${event.chunks === 1 ? '' : 's'}, ${event.bytes} bytes</h3><p>until +${event.lastAt - start} ms</p></li>`;
    case 'approval':
      return html`<li class="ev approval">${offset}<h3>Approval <code>${event.approvalId}</code></h3><p>held ${event.waitMs} ms</p></li>`;
    case 'pg.login':
      return html`<li class="ev pg-login">${offset}<h3>Database login</h3><p>as <code>${event.user}</code> on <code>${event.database}</code>, upstream user <code>${event.upstreamUser}</code>${event.applicationName ? html`, application ${event.applicationName}` : ''}</p></li>`;
    case 'pg.log':
      return queryLog(start, event.first, event.statements);
    case 'pg.statement':
      // Gathered into pg.log above; kept so a new event kind fails to compile here.
      return html``;
    case 'redis.login':
      return html`<li class="ev redis-login">${offset}<h3>Redis login ${event.outcome === 'ok' ? '' : html`<span class="outcome refused">refused</span>`}</h3><p>${event.subject ? html`as <strong>${event.subject}</strong>${event.issuer ? ` (${event.issuer})` : ''}` : 'no identity'}${event.code ? html` · <code>${event.code}</code>` : ''}</p></li>`;
    case 'redis.log':
      return commandLog(start, event.first, event.commands);
    case 'redis.command':
      // Gathered into redis.log above; kept so a new event kind fails to compile here.
      return html``;
    case 'end':
      return html`<li class="ev end">${offset}<h3>End</h3>${event.reason ? html`<p>${event.reason}</p>` : ''}</li>`;
    case 'error':
      return html`<li class="ev error">${offset}<h3>Error ${event.code ? html`<code>${event.code}</code>` : ''}</h3>${event.reason ? html`<p>${event.reason}</p>` : ''}</li>`;
    case 'body':
      // Merged into body.chunks above; kept so a new event kind fails to compile here.
      return html``;
  }
}

function headers(values: RecordedHeaders): Html {
  const entries = Object.entries(values);
  if (entries.length === 0) return html``;
  return html`<details><summary>Headers (${entries.length})</summary><table class="headers"><tbody>${entries.map(([k, v]) => html`<tr><th scope="row">${k}</th><td>${v}</td></tr>`)}</tbody></table></details>`;
}

function body(captured: CapturedBody): Html {
  if (captured.bytes === 0) return html`<p class="no-body">No body.</p>`;
  const cut = captured.truncated ? html`<p class="truncated">Truncated: ${captured.bytes} bytes on the wire, the record keeps the first part only.</p>` : '';
  if ('base64' in captured) return html`<p>Binary body, ${captured.bytes} bytes (not shown).</p>${cut}`;
  return html`<pre class="body">${captured.text}</pre>${cut}`;
}

function direction(label: string, d: DirectionMasking): Html {
  const counts = Object.entries(d.masked).filter(([, n]) => n > 0);
  const what = counts.length ? counts.map(([name, n]) => `${name} ×${n}`).join(', ') : 'nothing';
  // Headers always reach the peer as sent: their counts are the record's copy only.
  const headers = Object.entries(d.headers ?? {}).filter(([, n]) => n > 0);
  const inHeaders = headers.length ? ` · headers: ${headers.map(([name, n]) => `${name} ×${n}`).join(', ')} (masked in the record only)` : '';
  return html`<li>${label}: ${what}${counts.length ? (d.delivered ? ' (masked on the way to the peer)' : ' (masked in the record only)') : ''}${d.recordedTruncated ? ' · recorded body truncated' : ''}${inHeaders}</li>`;
}

function credentialText(record: SessionRecord): string {
  const c = record.credential!;
  if (c.kind === 'secret' && c.secret) return `secret ${c.secret.name}, version ${c.secret.version}`;
  if (c.kind === 'oauth2' && c.oauth2) return `OAuth2 client ${c.oauth2.clientId}, client secret version ${c.oauth2.clientSecret.version}`;
  return c.kind;
}

function pair(term: string, value: string): Html {
  return html`<div><dt>${term}</dt><dd>${value}</dd></div>`;
}
