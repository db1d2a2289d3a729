import type { ApprovalSpec } from '../../ext-authz/approvals/types.ts';
import type { ExplainStep } from '../../ext-authz/policy/explain.ts';
import { html, type Html } from '../html.ts';

/** The policy-by-policy trace of an explanation, as `sluice policy explain` prints it. */
export function traceList(trace: readonly ExplainStep[]): Html {
  if (trace.length === 0) return html``;
  return html`<h3>Trace</h3><ol class="trace">${trace.map((s) => html`<li class="${s.matched ? 'matched' : 'skipped'}">${s.matched ? '✓' : '–'} ${s.policy}${s.rule ? `/${s.rule}` : ''}: ${s.why}</li>`)}</ol>`;
}

export function approvalText(approval: ApprovalSpec): string {
  return `by ${approval.approverGroups.join(', ')}, quorum ${typeof approval.quorum === 'string' ? approval.quorum : `${approval.quorum.min} approvers`}`;
}
