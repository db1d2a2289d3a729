export type { CliIo } from './io.ts';
import type { ApprovalView } from '../../ext-authz/approvals/approval-view.ts';
import type { Command } from './types.ts';
import { help, parseOrReport, PROCESS_IO, wantsHelp, type CliIo } from './io.ts';
import { parse } from './common.ts';

/**
 * `sluice approvals list|approve|deny`: the approver's side of just-in-time approval, over the
 * approvals API on the admin port. The caller votes with their own OIDC token; prefer
 * SLUICE_TOKEN to --token, which other users of the machine can read in the process list.
 */


const DEFAULT_URL = 'http://127.0.0.1:9080';
const REQUEST_TIMEOUT_MS = 15_000;

const HELP = {
  list: `usage: sluice approvals list [--status pending|approved|denied|expired|all] [--subject <sub>] [--target <name>] [--limit <n>] [--json]
       [--url <admin url>] [--token <token>]
Lists the approvals you could decide, and your own requests.
  --url    the approvals API (default: SLUICE_ADMIN_URL or ${DEFAULT_URL})
  --token  your OIDC access token (default: SLUICE_TOKEN; prefer the variable: flags show in the process list)
`,
  approve: 'usage: sluice approvals approve <id> [--reason <text>] [--url <admin url>] [--token <token>]\n',
  deny: 'usage: sluice approvals deny <id> --reason <text> [--url <admin url>] [--token <token>]\n',
};

const CONNECTION_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
} as const;

export const approvalsListCommand: Command = {
  run: (args) => runApprovalsList(args),
};

export const approvalsApproveCommand: Command = {
  run: (args) => runApprovalsVote(args, true),
};

export const approvalsDenyCommand: Command = {
  run: (args) => runApprovalsVote(args, false),
};

export async function runApprovalsList(args: string[], io: CliIo = PROCESS_IO): Promise<number> {
  if (wantsHelp(args)) return help(io, HELP.list);
  const parsed = parseOrReport(io, () =>
    parse(args, {
      ...CONNECTION_OPTIONS,
      status: { type: 'string', default: 'pending' },
      subject: { type: 'string' },
      target: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean', default: false },
    }),
  );
  if (parsed === undefined) return 2;
  const { values } = parsed;
  const connection = connectionOf(io, values);
  if (connection === undefined) return 2;

  const query = new URLSearchParams({ status: values.status });
  if (values.subject) query.set('subject', values.subject);
  if (values.target) query.set('target', values.target);
  if (values.limit) query.set('limit', values.limit);
  const body = await callApi(io, connection, 'GET', `/approvals?${query}`);
  if (body === undefined) return 1;

  const approvals = (body as { approvals?: ApprovalView[] }).approvals ?? [];
  if (values.json) {
    io.out(`${JSON.stringify(body, null, 2)}\n`);
  } else if (approvals.length === 0) {
    io.out(`no ${values.status === 'all' ? '' : `${values.status} `}approvals you can see\n`);
  } else {
    io.out(approvalsTable(approvals, io.now()));
  }
  return 0;
}

export async function runApprovalsVote(args: string[], approve: boolean, io: CliIo = PROCESS_IO): Promise<number> {
  const verb = approve ? 'approve' : 'deny';
  if (wantsHelp(args)) return help(io, HELP[verb]);
  const parsed = parseOrReport(io, () => parse(args, { ...CONNECTION_OPTIONS, reason: { type: 'string' } }, true));
  if (parsed === undefined) return 2;
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    io.err(`sluice: ${HELP[verb]}`);
    return 2;
  }
  // The server refuses it too; saying so here saves a round trip and names the flag.
  if (!approve && !values.reason?.trim()) {
    io.err('sluice: --reason is required to deny (it is shown to the requester)\n');
    return 2;
  }
  const connection = connectionOf(io, values);
  if (connection === undefined) return 2;

  const id = positionals[0]!;
  const body = await callApi(io, connection, 'POST', `/approvals/${encodeURIComponent(id)}/${verb}`, values.reason === undefined ? {} : { reason: values.reason });
  if (body === undefined) return 1;
  const approval = (body as { approval?: ApprovalView }).approval;
  if (approval === undefined) {
    io.err('sluice: the approvals API answered without an approval\n');
    return 1;
  }
  const progress = approval.status === 'pending' ? `, ${approvalCount(approval)} approvals` : '';
  io.out(`${clean(approval.id)}: vote recorded (${verb}); status: ${clean(approval.status)}${progress}\n`);
  return 0;
}

interface Connection {
  url: string;
  token: string;
}

function connectionOf(io: CliIo, values: { url?: string | undefined; token?: string | undefined }): Connection | undefined {
  const url = (values.url ?? io.env.SLUICE_ADMIN_URL ?? DEFAULT_URL).replace(/\/+$/, '');
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    io.err(`sluice: --url must be an http(s) URL, got "${clean(url)}"\n`);
    return undefined;
  }
  const token = values.token ?? io.env.SLUICE_TOKEN;
  if (!token) {
    io.err('sluice: no token: set SLUICE_TOKEN (or pass --token) to your own OIDC access token\n');
    return undefined;
  }
  return { url, token };
}




/**
 * One API call. Resolves with the JSON body of a 2xx answer, or reports the failure on stderr
 * (`sluice: <code>: <message>`) and resolves with undefined. The token goes in the header only and
 * is never printed.
 */
async function callApi(io: CliIo, connection: Connection, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  let response: Response;
  let text: string;
  try {
    response = await io.fetch(`${connection.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${connection.token}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    text = await response.text();
  } catch (err) {
    const cause = (err as { cause?: { code?: unknown } }).cause;
    const detail = typeof cause?.code === 'string' ? cause.code : (err as Error).message;
    io.err(`sluice: cannot reach the approvals API at ${connection.url}: ${clean(detail)}\n`);
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (response.ok && parsed !== undefined) return parsed;
  const error = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (typeof error?.code === 'string') {
    io.err(`sluice: ${clean(error.code)}: ${clean(String(error.message ?? ''))}\n`);
  } else {
    io.err(`sluice: HTTP ${response.status} from ${connection.url}${response.ok ? ' without a JSON body' : ''}\n`);
  }
  return undefined;
}

const COLUMNS: { title: string; max: number; cell(a: ApprovalView, now: number): string }[] = [
  { title: 'ID', max: 40, cell: (a) => a.id },
  { title: 'STATUS', max: 10, cell: (a) => a.status },
  { title: 'REQUESTER', max: 32, cell: (a) => `${a.subject} (${a.issuer})` },
  { title: 'TARGET', max: 24, cell: (a) => a.target },
  { title: 'REQUEST', max: 48, cell: (a) => `${a.method} ${a.path}` },
  { title: 'RULE', max: 32, cell: (a) => a.rule },
  { title: 'VOTES', max: 8, cell: (a) => approvalCount(a) },
  { title: 'WHEN', max: 20, cell: (a, now) => when(a, now) },
  { title: 'CALLER', max: 16, cell: (a, now) => caller(a, now) },
  { title: 'REASON', max: 48, cell: (a) => a.reason || '-' },
];

export function approvalsTable(approvals: readonly ApprovalView[], now: number): string {
  const rows = approvals.map((a) => COLUMNS.map((c) => clip(clean(c.cell(a, now)), c.max)));
  const widths = COLUMNS.map((c, i) => Math.max(c.title.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `${cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}\n`;
  return line(COLUMNS.map((c) => c.title)) + rows.map(line).join('');
}

/** "approvals so far / approvals needed" (every-group counts one per group). */
function approvalCount(a: ApprovalView): string {
  const yes = a.votes.filter((v) => v.approve).length;
  const needed = a.quorum === 'any' ? 1 : a.quorum === 'every-group' ? a.approver_groups.length : a.quorum.min;
  return `${yes}/${needed}`;
}

function when(a: ApprovalView, now: number): string {
  if (a.status === 'pending') {
    const left = Date.parse(a.expires_at) - now;
    return left > 0 ? `expires in ${duration(left)}` : 'expired';
  }
  if (a.decided_at !== null) return `${a.status} ${duration(now - Date.parse(a.decided_at))} ago`;
  return '-';
}

/**
 * A caller who gave up while held: approving then only serves their retry, and approvers should
 * know that before they vote. ('-' otherwise: a caller whose hold ran out got an answer, so
 * "waiting" could not be told from it truthfully.)
 */
function caller(a: ApprovalView, now: number): string {
  return a.caller_left_at === null ? '-' : `left ${duration(now - Date.parse(a.caller_left_at))} ago`;
}

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d`;
}

/**
 * Requesters choose their path and reason: strip control characters so nothing they write can
 * move the cursor, recolour or retitle an approver's terminal.
 */
function clean(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, ' ');
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
