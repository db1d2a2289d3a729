import { html } from '../html.ts';
import type { ConsoleUser } from '../browser-sessions.ts';
import { layout } from './layout.ts';

/**
 * The approver's queue. The rows come from the event stream (console.js renders them with
 * textContent only); the page itself carries no approval data, so a stale cached page cannot
 * show a request that is gone.
 */
export function approvalsPage(user: ConsoleUser): string {
  return layout({
    title: 'Pending approvals',
    user,
    section: 'approvals',
    body: html`<p>Requests held for an approval you may decide (and your own, which you cannot). New ones appear here as they are held.</p>
<p id="feed-state" class="feed" role="status" aria-live="polite">Connecting…</p>
<div id="vote-status" role="status" aria-live="polite"></div>
<table class="approvals" data-approvals-live>
<caption class="visually-hidden">Pending approval requests</caption>
<thead><tr><th scope="col">Requested by</th><th scope="col">Target</th><th scope="col">Action</th><th scope="col">Rule</th><th scope="col">Reason</th><th scope="col">Waited</th><th scope="col">Quorum</th><th scope="col">Decide</th></tr></thead>
<tbody id="pending"><tr class="empty-row"><td colspan="8">No pending requests.</td></tr></tbody>
</table>`,
  });
}
