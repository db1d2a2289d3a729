export type { CliIo as SessionsCliIo } from './io.ts';
import { stat } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import { isSluiceError } from '../../common/errors.ts';
import { silentLogger } from '../../common/logger.ts';
import { SESSION_OUTCOMES, SESSION_PROTOCOLS, type CapturedBody, type PgLoginEvent, type PgStatementEvent, type RedisCommandEvent, type RedisLoginEvent, type SessionFilter, type SessionOutcome, type SessionProtocol, type SessionRecord, type SessionStore } from '../../ext-proc/sessions/types.ts';
import type { Command } from './types.ts';
import type { FileSessionStore } from '../../ext-proc/sessions/file-store.ts';
import type { PostgresSessionStore } from '../../ext-proc/sessions/postgres-store.ts';
import { help, parseOrReport, PROCESS_IO, wantsHelp, type CliIo } from './io.ts';
import { parse } from './common.ts';
import { DECISION_HELP, DECISION_OPTIONS, decisionFilter } from './session-decision-flags.ts';

/**
 * `sluice sessions list|show|replay`: the auditor's view of recorded sessions, straight from the
 * session store (the file store's directory, or PostgreSQL). Strictly read-only: the file store is
 * opened without its lock and without repairs, PostgreSQL through read-only connections.
 * Headers and bodies are printed as recorded, credentials already masked.
 */


export const DEFAULT_DIR = '.sluice/sessions';
const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

export const STORE_HELP = `  --store         file (default) or postgres
  --dir           the file store's directory (default: ${DEFAULT_DIR})
  --database-url  PostgreSQL URL (default: SLUICE_DATABASE_URL or ${DEFAULT_DATABASE_URL})
  --schema        PostgreSQL schema of the sessions table (default: public)
`;

const HELP = {
  list: `usage: sluice sessions list [--subject <sub>] [--target <name>] [--protocol http|postgres|redis] [--outcome <outcome>]
       [--credential <secret name>] [--version <v>] [--masked <recognizer>]
       [--rule <policy/rule|policy/*>] [--approval yes|no] [--refusals yes|no]
       [--since <when>] [--until <when>] [--limit <n>] [--cursor <c>] [--json]
       [--store file|postgres] [--dir <dir>] [--database-url <url>] [--schema <name>]
Lists recorded sessions, newest first, with their summary and outcome (completed, failed, refused, incomplete).
--credential   who used a secret (the injected one, or an OAuth2 client secret): one line per subject and
               target with the first and last use, how many exchanges and which versions; every match is
               read (not paged). With --json, the same rows.
--version      only sessions whose credential had this secret version (v1:…; see \`sluice sessions show\`)
--masked       only sessions where this recognizer or custom pattern masked at least one value
${DECISION_HELP}<when> is an ISO time (2025-01-31T12:00Z) or an age (90s, 15m, 2h, 7d).
${STORE_HELP}`,
  show: `usage: sluice sessions show <id> [--json] [--store file|postgres] [--dir <dir>] [--database-url <url>] [--schema <name>]
Prints one session: who, what, the decision and outcome, the credential injected (secret name and version,
never a value), the masking report (values masked per recognizer, per direction), and each HTTP request and
response with its headers and body as recorded (credentials masked, truncation marked).
${STORE_HELP}`,
  replay: `usage: sluice sessions replay <id> [--store file|postgres] [--dir <dir>] [--database-url <url>] [--schema <name>]
Prints the session's events in the order they happened, each with its offset from the start: the request
line, headers and body, body chunks, the response, and how the session ended.
${STORE_HELP}`,
};


export const sessionsListCommand: Command = {
  run: (args) => runSessionsList(args),
};

export const sessionsShowCommand: Command = {
  run: (args) => runSessionsShow(args),
};

export const sessionsReplayCommand: Command = {
  run: (args) => runSessionsReplay(args),
};

export const STORE_OPTIONS = {
  store: { type: 'string', default: 'file' },
  dir: { type: 'string' },
  'database-url': { type: 'string' },
  schema: { type: 'string' },
} as const;

export type StoreValues = { store?: string | undefined; dir?: string | undefined; 'database-url'?: string | undefined; schema?: string | undefined };

export async function runSessionsList(args: string[], io: CliIo = PROCESS_IO): Promise<number> {
  if (wantsHelp(args)) return help(io, HELP.list);
  const parsed = parseOrReport(io, () =>
    parse(args, {
      ...STORE_OPTIONS,
      subject: { type: 'string' },
      target: { type: 'string' },
      protocol: { type: 'string' },
      outcome: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
      credential: { type: 'string' },
      version: { type: 'string' },
      masked: { type: 'string' },
      ...DECISION_OPTIONS,
      json: { type: 'boolean', default: false },
    }),
  );
  if (parsed === undefined) return 2;
  const { values } = parsed;
  const from = values.since === undefined ? undefined : parseWhen(values.since, io.now());
  const to = values.until === undefined ? undefined : parseWhen(values.until, io.now());
  if (from === null || to === null) {
    io.err(`sluice: --since and --until take an ISO time (2025-01-31T12:00:00Z) or an age (90s, 15m, 2h, 7d)\n`);
    return 2;
  }
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= 1000)) {
    io.err('sluice: --limit must be a whole number from 1 to 1000\n');
    return 2;
  }
  if (values.protocol !== undefined && !SESSION_PROTOCOLS.includes(values.protocol as SessionProtocol)) {
    io.err(`sluice: --protocol must be one of ${SESSION_PROTOCOLS.join(', ')}\n`);
    return 2;
  }
  if (values.outcome !== undefined && !SESSION_OUTCOMES.includes(values.outcome as SessionOutcome)) {
    io.err(`sluice: --outcome must be one of ${SESSION_OUTCOMES.join(', ')}\n`);
    return 2;
  }
  for (const flag of ['credential', 'version', 'masked'] as const) {
    if (values[flag] === '') {
      io.err(`sluice: --${flag} needs a value\n`);
      return 2;
    }
  }
  const decided = decisionFilter(io, values);
  if (decided === undefined) return 2;
  if (values.credential !== undefined && values.cursor !== undefined) {
    io.err('sluice: --credential reads every matching session; it takes no --cursor\n');
    return 2;
  }
  return withStore(io, values, async (store) => {
    const filter: SessionFilter = {
      ...(values.subject === undefined ? {} : { subject: values.subject }),
      ...(values.target === undefined ? {} : { target: values.target }),
      ...(values.protocol === undefined ? {} : { protocol: values.protocol as SessionProtocol }),
      ...(values.outcome === undefined ? {} : { outcome: values.outcome as SessionOutcome }),
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
      ...(values.credential === undefined ? {} : { credential: values.credential }),
      ...(values.version === undefined ? {} : { version: values.version }),
      ...(values.masked === undefined ? {} : { masked: values.masked }),
      ...decided,
    };
    if (values.credential !== undefined) {
      const rows = await credentialUsage(store, filter);
      if (values.json) io.out(`${JSON.stringify({ credential: values.credential, rows }, null, 2)}\n`);
      else if (rows.length === 0) io.out(`no recorded session used ${clean(values.credential)}\n`);
      else io.out(usageTable(rows));
      return 0;
    }
    const page = await store.list({
      ...filter,
      ...(limit === undefined ? {} : { limit }),
      ...(values.cursor === undefined ? {} : { cursor: values.cursor }),
    });
    if (values.json) {
      io.out(`${JSON.stringify({ sessions: page.records, next_cursor: page.nextCursor ?? null }, null, 2)}\n`);
    } else if (page.records.length === 0) {
      io.out('no recorded sessions match\n');
    } else {
      io.out(sessionsTable(page.records));
      if (page.nextCursor !== undefined) io.out(`more: add --cursor ${page.nextCursor}\n`);
    }
    return 0;
  });
}

export async function runSessionsShow(args: string[], io: CliIo = PROCESS_IO): Promise<number> {
  if (wantsHelp(args)) return help(io, HELP.show);
  const parsed = parseOrReport(io, () => parse(args, { ...STORE_OPTIONS, json: { type: 'boolean', default: false } }, true));
  if (parsed === undefined) return 2;
  const id = onlyId(io, parsed.positionals, HELP.show);
  if (id === undefined) return 2;
  return withStore(io, parsed.values, async (store) => {
    const record = await findSession(io, store, id);
    if (record === undefined) return 1;
    io.out(parsed.values.json ? `${JSON.stringify(record, null, 2)}\n` : showSession(record));
    return 0;
  });
}

export async function runSessionsReplay(args: string[], io: CliIo = PROCESS_IO): Promise<number> {
  if (wantsHelp(args)) return help(io, HELP.replay);
  const parsed = parseOrReport(io, () => parse(args, STORE_OPTIONS, true));
  if (parsed === undefined) return 2;
  const id = onlyId(io, parsed.positionals, HELP.replay);
  if (id === undefined) return 2;
  return withStore(io, parsed.values, async (store) => {
    const record = await findSession(io, store, id);
    if (record === undefined) return 1;
    io.out(replaySession(record));
    return 0;
  });
}

/** Opens the chosen store read-only, runs `use`, closes it; store errors print as `sluice: <code>: <message>`. */
async function withStore(io: CliIo, values: StoreValues, use: (store: SessionStore) => Promise<number>): Promise<number> {
  return withStoreOf(io, values, { write: false }, use);
}

/**
 * Opens the store the flags name, runs `use`, closes it; errors are printed (exit 1). Read-only
 * unless `write` (purge): then the file store takes its writer's lock, and PostgreSQL gets
 * connections that may write (the migrations are still left to ext-proc).
 */
export async function withStoreOf<S extends SessionStore = FileSessionStore | PostgresSessionStore>(
  io: CliIo,
  values: StoreValues,
  mode: { write: boolean; chainKey?: Buffer },
  use: (store: S) => Promise<number>,
): Promise<number> {
  const kind = values.store ?? 'file';
  if (kind !== 'file' && kind !== 'postgres') {
    io.err(`sluice: --store must be file or postgres, got "${clean(kind)}"\n`);
    return 2;
  }
  let store: S;
  try {
    if (kind === 'file') {
      const { FileSessionStore } = await import('../../ext-proc/sessions/file-store.ts');
      const dir = values.dir ?? DEFAULT_DIR;
      // A writer would create the directory: purging a mistyped one must not make an empty store.
      if (mode.write && !(await stat(dir).then((info) => info.isDirectory(), () => false))) {
        io.err(`sluice: no session store in ${clean(dir)}\n`);
        return 1;
      }
      store = (await FileSessionStore.open({ dir: values.dir ?? DEFAULT_DIR, readOnly: !mode.write, logger: silentLogger(), ...(mode.chainKey === undefined ? {} : { chainKey: mode.chainKey }) })) as unknown as S;
    } else {
      const { PostgresSessionStore } = await import('../../ext-proc/sessions/postgres-store.ts');
      store = (await PostgresSessionStore.connect({
        connectionString: values['database-url'] ?? io.env.SLUICE_DATABASE_URL ?? DEFAULT_DATABASE_URL,
        ...(values.schema === undefined ? {} : { schema: values.schema }),
        readOnly: !mode.write,
        migrate: false,
        poolSize: 1,
        logger: silentLogger(),
      })) as unknown as S;
    }
  } catch (err) {
    return report(io, err);
  }
  try {
    return await use(store);
  } catch (err) {
    return report(io, err);
  } finally {
    await store.close().catch(() => undefined);
  }
}

export function report(io: CliIo, err: unknown): number {
  if (isSluiceError(err)) io.err(`sluice: ${err.code}: ${clean(err.message)}\n`);
  else io.err(`sluice: ${clean((err as Error)?.message ?? String(err))}\n`);
  return 1;
}

async function findSession(io: CliIo, store: SessionStore, id: string): Promise<SessionRecord | undefined> {
  const record = await store.get(id);
  if (record === undefined) io.err(`sluice: no recorded session ${clean(id)}\n`);
  return record;
}

function onlyId(io: CliIo, positionals: string[], usage: string): string | undefined {
  if (positionals.length === 1) return positionals[0];
  io.err(`sluice: ${usage.split('\n')[0]}\n`);
  return undefined;
}

/** Who used a credential: one row per subject (with its issuer) and target. */
export interface CredentialUsage {
  subject: string;
  issuer: string;
  target: string;
  /** startedAt of the first and last session, ms since the epoch; ISO text in the table. */
  firstUsedAt: number;
  lastUsedAt: number;
  exchanges: number;
  /** The secret versions seen, newest use first: more than one means the rows span a rotation. */
  versions: string[];
}

/** Every session matching `filter` (all pages), grouped by (issuer, subject, target); most recent use first. */
export async function credentialUsage(store: SessionStore, filter: SessionFilter): Promise<CredentialUsage[]> {
  const rows = new Map<string, CredentialUsage>();
  let cursor: string | undefined;
  do {
    const page = await store.list({ ...filter, limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
    for (const r of page.records) {
      const key = JSON.stringify([r.issuer, r.subject, r.target]);
      const version = r.credential?.secret?.version ?? r.credential?.oauth2?.clientSecret.version;
      let row = rows.get(key);
      if (row === undefined) {
        row = { subject: r.subject, issuer: r.issuer, target: r.target, firstUsedAt: r.startedAt, lastUsedAt: r.startedAt, exchanges: 0, versions: [] };
        rows.set(key, row);
      }
      row.exchanges += 1;
      row.firstUsedAt = Math.min(row.firstUsedAt, r.startedAt);
      row.lastUsedAt = Math.max(row.lastUsedAt, r.startedAt);
      if (version !== undefined && !row.versions.includes(version)) row.versions.push(version);
    }
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return [...rows.values()].sort((a, b) => b.lastUsedAt - a.lastUsedAt);
}

function usageTable(rows: readonly CredentialUsage[]): string {
  const columns: { title: string; cell(r: CredentialUsage): string }[] = [
    { title: 'SUBJECT', cell: (r) => `${r.subject} (${r.issuer})` },
    { title: 'TARGET', cell: (r) => r.target },
    { title: 'FIRST USE', cell: (r) => new Date(r.firstUsedAt).toISOString() },
    { title: 'LAST USE', cell: (r) => new Date(r.lastUsedAt).toISOString() },
    { title: 'EXCHANGES', cell: (r) => String(r.exchanges) },
    { title: 'VERSIONS', cell: (r) => r.versions.join(' ') },
  ];
  const cells = rows.map((r) => columns.map((c) => clean(c.cell(r))));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((row) => row[i]!.length)));
  const line = (parts: string[]) => `${parts.map((part, i) => (i === parts.length - 1 ? part : part.padEnd(widths[i]!))).join('  ')}\n`;
  return line(columns.map((c) => c.title)) + cells.map(line).join('');
}

/** An ISO time or an age before `now` ("15m"); null when it is neither. */
export function parseWhen(text: string, now: number): number | null {
  const age = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  if (age) {
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[age[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
    return now - Number(age[1]) * unit;
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim())) return null;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : at;
}

const COLUMNS: { title: string; max: number; cell(r: SessionRecord): string }[] = [
  { title: 'STARTED', max: 24, cell: (r) => new Date(r.startedAt).toISOString() },
  { title: 'ID', max: 36, cell: (r) => r.id },
  { title: 'SUBJECT', max: 32, cell: (r) => `${r.subject} (${r.issuer})` },
  { title: 'TARGET', max: 24, cell: (r) => r.target },
  { title: 'SUMMARY', max: 56, cell: (r) => r.summary },
  { title: 'OUTCOME', max: 10, cell: (r) => r.outcome },
  { title: 'DECISION', max: 8, cell: (r) => r.decision },
  { title: 'TIME', max: 12, cell: (r) => ms(r.endedAt - r.startedAt) },
];

export function sessionsTable(records: readonly SessionRecord[]): string {
  const rows = records.map((r) => COLUMNS.map((c) => clip(clean(c.cell(r)), c.max)));
  const widths = COLUMNS.map((c, i) => Math.max(c.title.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `${cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}\n`;
  return line(COLUMNS.map((c) => c.title)) + rows.map(line).join('');
}

/** The envelope, then each http event's head, headers and body as recorded, and how it ended. */
export function showSession(r: SessionRecord): string {
  const fields: [string, string][] = [
    ['session', r.id],
    ['request id', r.requestId],
    ['protocol', r.protocol],
    ['subject', `${r.subject} (issuer ${r.issuer})`],
    ['target', r.target],
    ['rule', r.rule],
    ['decision', r.decision],
    ['summary', r.summary],
    ['outcome', r.outcome],
    ['started', new Date(r.startedAt).toISOString()],
    ['ended', `${new Date(r.endedAt).toISOString()} (${ms(r.endedAt - r.startedAt)})`],
    ['credential', credentialLine(r.credential)],
  ];
  if (r.masking !== undefined) {
    fields.push(['masking', r.masking.profile === null ? 'no profile' : `profile ${r.masking.profile}`]);
    for (const side of ['request', 'response'] as const) fields.push([`  ${side}`, maskingLine(r.masking[side])]);
  }
  const width = Math.max(...fields.map(([name]) => name.length));
  let out = fields.map(([name, value]) => `${name.padEnd(width)}  ${clean(value)}\n`).join('');
  for (const event of r.events) {
    const at = `[+${ms(event.at - r.startedAt)}]`;
    switch (event.kind) {
      case 'http.request':
      case 'http.response': {
        const side = event.kind === 'http.request' ? 'request' : 'response';
        out += `\n── ${at} ${side}: ${clean(headLine(event))}\n${headerLines(event.headers, '')}`;
        out += `── ${side} body ${bodySummary(event.body)}\n${bodyLines(event.body, '')}`;
        break;
      }
      case 'approval':
        out += `\n── ${at} ${clean(approvalLine(event))}\n`;
        break;
      case 'pg.login':
        out += `\n── ${at} ${clean(pgLoginLine(event))}\n`;
        break;
      case 'pg.statement':
        out += `\n── ${at} ${clean(pgStatementHead(event))}\n${pgStatementLines(event, '   ')}`;
        break;
      case 'redis.login':
        out += `\n── ${at} ${clean(redisLoginLine(event))}\n`;
        break;
      case 'redis.command':
        out += `\n── ${at} ${clean(redisCommandLine(event))}\n`;
        break;
      case 'body':
        break;
      case 'end':
      case 'error':
        out += `\n── ${at} ${clean(endLine(event))}\n`;
        break;
    }
  }
  return out;
}

/**
 * The session's events in order, each with its offset from the start. A body is printed once its
 * direction's chunks are over (at the next event of another kind or direction), so the output
 * reads like the exchange: request head, its chunks, its body, then the response.
 */
export function replaySession(r: SessionRecord): string {
  let out = `replay of session ${r.id}: ${r.subject} (${r.issuer}) → ${r.target}, rule ${r.rule}, ${r.decision}, ${r.protocol}\n`;
  let pending: { mark: string; body: CapturedBody } | undefined;
  const flush = () => {
    if (pending === undefined) return '';
    const { mark, body } = pending;
    pending = undefined;
    if (body.bytes === 0) return '';
    return `${mark.trimEnd()}\n${bodyLines(body, mark)}${body.truncated ? `${mark}[truncated: ${storedBytes(body)} of ${body.bytes} bytes recorded]\n` : ''}`;
  };
  for (const event of r.events) {
    const at = `[+${ms(event.at - r.startedAt)}]`;
    if (!(event.kind === 'body' && pending?.mark === (event.direction === 'request' ? '> ' : '< '))) out += flush();
    switch (event.kind) {
      case 'http.request':
      case 'http.response': {
        const mark = event.kind === 'http.request' ? '> ' : '< ';
        out += `${at} ${event.kind === 'http.request' ? 'request' : 'response'}\n${mark}${clean(headLine(event))}\n${headerLines(event.headers, mark)}`;
        pending = { mark, body: event.body };
        break;
      }
      case 'approval':
        out += `${at} ${clean(approvalLine(event))}\n`;
        break;
      case 'pg.login':
        out += `${at} ${clean(pgLoginLine(event))}\n`;
        break;
      case 'pg.statement':
        out += `${at} ${clean(pgStatementHead(event))}\n${pgStatementLines(event, '> ')}`;
        break;
      case 'redis.login':
        out += `${at} ${clean(redisLoginLine(event))}\n`;
        break;
      case 'redis.command':
        out += `${at} > ${clean(redisCommandLine(event))}\n`;
        break;
      case 'body':
        out += `${at} ${event.direction} body: ${event.bytes} bytes\n`;
        break;
      case 'end':
      case 'error':
        out += `${at} ${clean(endLine(event))}\n`;
        break;
    }
  }
  out += flush();
  return `${out}outcome: ${r.outcome}, ${ms(r.endedAt - r.startedAt)}\n`;
}

function redisLoginLine(e: RedisLoginEvent): string {
  return e.outcome === 'ok' ? `AUTH as ${e.subject ?? '?'} (${e.issuer ?? '?'})` : `AUTH refused${e.code ? ` (${e.code})` : ''}`;
}

/** One line per command, like a command log: the command, its keys, masked values, then what came back. */
function redisCommandLine(e: RedisCommandEvent): string {
  const args = [...e.keys, ...(e.values ?? [])].map((a) => JSON.stringify(a)).join(' ');
  const hidden = e.values === undefined && e.args > e.keys.length ? ` [${e.args - e.keys.length} value${e.args - e.keys.length === 1 ? '' : 's'} not recorded]` : '';
  const result = e.outcome === 'ok' ? `ok, ${e.replyBytes ?? 0} bytes`
    : e.outcome === 'refused' ? `refused ${e.code ?? ''}${e.rule ? ` (${e.rule})` : ''}`
    : e.outcome === 'error' ? `error: ${e.error ?? ''}`
    // recording: commands: forwarded; its reply was not read.
    : e.outcome === 'sent' ? 'sent' : 'cut';
  return `${e.command}${args ? ` ${args}` : ''}${hidden} → ${result}${e.durationMs === undefined ? '' : ` (${ms(e.durationMs)})`}`;
}

function pgLoginLine(e: PgLoginEvent): string {
  const role = e.sessionRole ? `, a session role granted ${e.sessionRole.granted.join(', ')} until ${new Date(e.sessionRole.validUntil).toISOString()}` : '';
  return `login as ${e.user} on ${e.database} (upstream user ${e.upstreamUser}${role}${e.applicationName ? `, application ${e.applicationName}` : ''})`;
}

/** One line per statement, like a query log: outcome, rows, time, then the text. */
function pgStatementHead(e: PgStatementEvent): string {
  const what = e.statements?.map((s) => s.command).join('; ') || e.protocol;
  const result = e.outcome === 'ok'
    ? `ok${e.rows === undefined ? '' : `, ${e.rows} row${e.rows === 1 ? '' : 's'}`}`
    : e.outcome === 'error' ? `error ${e.error?.sqlstate ?? ''} ${e.error?.message ?? ''}`.trimEnd()
    : e.outcome === 'refused' ? `refused ${e.code ?? ''}: ${e.error?.message ?? ''}`.trimEnd()
    : e.outcome;
  const extra = [e.approvalId ? `approval ${e.approvalId}` : undefined, e.masked ? `${e.masked} value${e.masked === 1 ? '' : 's'} masked` : undefined].filter(Boolean);
  return `statement (${what}, ${e.protocol}) → ${result}, ${ms(e.durationMs)}${extra.length > 0 ? `, ${extra.join(', ')}` : ''}`;
}

function pgStatementLines(e: PgStatementEvent, mark: string): string {
  let out = e.text.split('\n').map((line) => `${mark}${clean(line)}\n`).join('');
  if (e.truncated) out += `${mark}[statement truncated]\n`;
  if (e.params && e.params.length > 0) out += `${mark}params: ${e.params.map((p, i) => `$${i + 1}=${clean(p)}`).join(', ')}\n`;
  return out;
}

function credentialLine(c: SessionRecord['credential']): string {
  if (c === undefined) return 'none recorded';
  if (c.kind === 'secret' && c.secret) return `secret ${c.secret.name} ${c.secret.version} (entry ${c.target})`;
  if (c.kind === 'oauth2' && c.oauth2) {
    const o = c.oauth2;
    const token = [o.expiresAt === undefined ? undefined : `expires ${new Date(o.expiresAt).toISOString()}`, o.jti === undefined ? undefined : `jti ${o.jti}`].filter((x) => x !== undefined);
    return `oauth2 client ${o.clientId}, client secret ${o.clientSecret.name} ${o.clientSecret.version}${token.length > 0 ? `, token ${token.join(', ')}` : ''} (entry ${c.target})`;
  }
  return c.kind;
}

function maskingLine(d: NonNullable<SessionRecord['masking']>['request']): string {
  const counts = Object.entries(d.masked).map(([name, n]) => `${name} ${n}`).join(', ');
  const what = counts === '' ? 'nothing masked' : `masked ${counts}`;
  const body = `${what}${counts === '' ? '' : d.delivered ? ' (as delivered)' : ' (in the record only; delivered unmasked)'}${d.recordedTruncated ? ', recorded body truncated' : ''}`;
  // Headers always reach the peer as sent: their counts are the record's copy only.
  const headers = Object.entries(d.headers ?? {}).map(([name, n]) => `${name} ${n}`).join(', ');
  return headers === '' ? body : `${body}; headers: masked ${headers} (in the record only)`;
}

function headLine(event: { kind: 'http.request'; method: string; path: string } | { kind: 'http.response'; status?: number }): string {
  if (event.kind === 'http.request') return `${event.method} ${event.path}`;
  return event.status === undefined ? '(status not recorded)' : statusText(event.status);
}

function approvalLine(event: { approvalId: string; waitMs: number }): string {
  return `approval ${event.approvalId}: ${event.waitMs === 0 ? 'a standing grant, no wait' : `held ${ms(event.waitMs)} for it`}`;
}

function endLine(event: { kind: 'end'; reason?: string } | { kind: 'error'; code?: string; reason?: string }): string {
  const detail = event.kind === 'error' ? [event.code, event.reason].filter((part) => part !== undefined).join(': ') : (event.reason ?? '');
  return detail === '' ? event.kind : `${event.kind} ${detail}`;
}

function headerLines(headers: Readonly<Record<string, string>>, mark: string): string {
  return Object.entries(headers).map(([name, value]) => `${mark}${clean(name)}: ${clean(value)}\n`).join('');
}

function bodySummary(body: CapturedBody): string {
  if (body.bytes === 0) return '(empty)';
  const kind = 'text' in body ? '' : 'binary, base64, ';
  return body.truncated ? `(${kind}${storedBytes(body)} of ${body.bytes} bytes recorded, truncated)` : `(${kind}${body.bytes} bytes)`;
}

function bodyLines(body: CapturedBody, mark: string): string {
  if (body.bytes === 0) return '';
  const lines = 'text' in body ? cleanBody(body.text).split('\n') : (body.base64.match(/.{1,76}/g) ?? []);
  return lines.map((line) => `${line === '' ? mark.trimEnd() : `${mark}${line}`}\n`).join('');
}

function storedBytes(body: CapturedBody): number {
  return 'text' in body ? Buffer.byteLength(body.text, 'utf8') : Buffer.from(body.base64, 'base64').byteLength;
}

function statusText(status: number): string {
  const reason = STATUS_CODES[status];
  return reason === undefined ? String(status) : `${status} ${reason}`;
}

function ms(value: number): string {
  return `${Number.isInteger(value) ? value : value.toFixed(value < 10 ? 2 : 1)} ms`;
}




/**
 * Recorded values came from callers and upstreams: strip control characters so nothing in them
 * can move the cursor, recolour or retitle the auditor's terminal.
 */
export function clean(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, ' ');
}

/** Like clean(), but a body keeps its line breaks and tabs (CRLF becomes LF). */
function cleanBody(text: string): string {
  return text.replace(/\r\n/g, '\n').replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, ' ');
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
