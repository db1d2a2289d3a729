import { isoTime } from './approval-view.ts';
import type { ApprovalEvent } from './notifier.ts';
import type { ApprovalRequest } from './types.ts';

/** Body of a `format: json` webhook: stable, snake_case, no secrets (the request carries none). */
export interface JsonWebhookBody {
  type: ApprovalEvent['type'];
  approval: {
    id: string;
    status: ApprovalRequest['status'];
    subject: string;
    issuer: string;
    target: string;
    method: string;
    path: string;
    rule: string;
    reason: string;
    created_at: string;
    expires_at: string;
    decided_at: string | null;
    decided_by: string | null;
    decision_reason: string | null;
    /** A database statement's approval (normalized statement, never its constants). */
    database?: { user: string; name: string; statement: string };
    approvals_url?: string;
  };
}

/** `approvalsUrl` is the public base URL of the approvals API, e.g. https://sluice-admin.example.com. */
export function jsonWebhookBody(event: ApprovalEvent, approvalsUrl?: string): JsonWebhookBody {
  const r = event.request;
  const link = approvalLink(r.id, approvalsUrl);
  return {
    type: event.type,
    approval: {
      id: r.id,
      status: r.status,
      subject: r.subject,
      issuer: r.issuer,
      target: r.target,
      method: r.method,
      path: r.path,
      rule: r.rule,
      reason: r.reason,
      created_at: isoTime(r.createdAt),
      expires_at: isoTime(r.expiresAt),
      decided_at: r.decidedAt === null ? null : isoTime(r.decidedAt),
      decided_by: decidedBy(r),
      decision_reason: r.decisionReason,
      ...(r.database === undefined ? {} : { database: { user: r.database.user, name: r.database.name, statement: r.database.statement } }),
      ...(link === undefined ? {} : { approvals_url: link }),
    },
  };
}

interface SlackText {
  type: 'mrkdwn' | 'plain_text';
  text: string;
}

/** An incoming-webhook message: `text` is the notification/fallback, `blocks` the rich layout. */
export interface SlackWebhookBody {
  text: string;
  blocks: (
    | { type: 'header'; text: SlackText }
    | { type: 'section'; text?: SlackText; fields?: SlackText[] }
    | { type: 'context'; elements: SlackText[] }
  )[];
}

/** Slack caps: section text 3000 chars, field 2000, header 150; we stay well below. */
const FIELD_MAX = 500;

export function slackWebhookBody(event: ApprovalEvent, approvalsUrl?: string): SlackWebhookBody {
  const r = event.request;
  const requester = `${r.subject} (${r.issuer})`;
  const request = `${r.method} ${r.path}`;
  const fields: SlackText[] = [
    field('Requester', escapeMrkdwn(requester)),
    field('Target', code(r.target)),
    field('Request', code(request)),
    field('Rule', code(r.rule)),
  ];
  if (r.reason !== '') fields.push(field('Reason', escapeMrkdwn(r.reason)));

  let title: string;
  let summary: string;
  let hint: string;
  if (event.type === 'approval.requested') {
    title = 'Approval requested';
    fields.push(field('Expires', escapeMrkdwn(isoTime(r.expiresAt))));
    summary = `Approval requested: ${requester} wants ${request} on ${r.target} (rule ${r.rule})`;
    hint = `Approve with \`sluice approvals approve ${r.id}\` or deny with \`sluice approvals deny ${r.id} --reason "..."\``;
  } else {
    title = `Approval ${r.status}`;
    const by = decidedBy(r);
    if (by !== null) fields.push(field('Decided by', escapeMrkdwn(by)));
    if (r.decisionReason) fields.push(field('Decision reason', escapeMrkdwn(r.decisionReason)));
    summary = `Approval ${r.status}: ${requester} ${request} on ${r.target}${by === null ? '' : ` (by ${by})`}`;
    hint = `Approval id \`${r.id}\``;
  }
  const link = approvalLink(r.id, approvalsUrl);
  if (link !== undefined) hint += ` · <${link}|open>`;

  return {
    // The fallback text is what phones and screen readers show: keep the id and the command in it.
    text: `${escapeMrkdwn(summary)}. ${event.type === 'approval.requested' ? `Approve: \`sluice approvals approve ${r.id}\`` : `Id: ${r.id}`}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: title } },
      { type: 'section', fields },
      { type: 'context', elements: [{ type: 'mrkdwn', text: hint }] },
    ],
  };
}

function field(label: string, value: string): SlackText {
  return { type: 'mrkdwn', text: `*${label}*\n${value}` };
}

/**
 * Requester-controlled text (path, reason) must not become Slack markup: escaping &, < and > is
 * what stops `<!channel>` pings and disguised links.
 */
function escapeMrkdwn(text: string): string {
  const clipped = text.length > FIELD_MAX ? `${text.slice(0, FIELD_MAX)}…` : text;
  return clipped.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Inline code; a backtick inside would end the span early, so it is swapped for a quote. */
function code(text: string): string {
  return `\`${escapeMrkdwn(text).replace(/`/g, "'")}\``;
}

function decidedBy(r: ApprovalRequest): string | null {
  if (r.status !== 'approved' && r.status !== 'denied') return null;
  const last = r.votes.at(-1);
  return last === undefined ? null : last.approver;
}

function approvalLink(id: string, approvalsUrl: string | undefined): string | undefined {
  if (approvalsUrl === undefined) return undefined;
  return `${approvalsUrl.replace(/\/+$/, '')}/approvals/${encodeURIComponent(id)}`;
}
