import { succeeded, type Outcome } from './load.ts';

/** One fault's figures, summed over its rounds. */
export interface Row {
  fault: string;
  rounds: number;
  sent: number;
  answered: number;
  ok: number;
  /** Requests that should have passed but were refused or cut, by status ("reset" = no answer, "cut" = 2xx cut short). */
  failedClosed: Map<string, number>;
  /** The same, per kind of request: which ones a fault hit (e.g. only fresh tokens when the JWKS is down). */
  failedByKind: Map<string, Map<string, number>>;
  unauthorised: number;
  unmaskedBytes: number;
  /** Upstream answers (complete or cut short) whose record is missing or says another status. */
  recordsLost: number;
  /** Upstream answers (complete or cut short) checked against the store. */
  recordsChecked: number;
  /** Of those, answers cut short (the caller got the status and part of the body). */
  recordsCutChecked: number;
  /** Seconds from the fault's end to the first success of every kind, per round (undefined: never). */
  recoverS: (number | undefined)[];
  restartNeeded: boolean;
}

export function emptyRow(fault: string): Row {
  return { fault, rounds: 0, sent: 0, answered: 0, ok: 0, failedClosed: new Map(), failedByKind: new Map(), unauthorised: 0, unmaskedBytes: 0, recordsLost: 0, recordsChecked: 0, recordsCutChecked: 0, recoverS: [], restartNeeded: false };
}

/** Adds one round's outcomes to the row. */
export function addRound(row: Row, outcomes: Outcome[], unauthorised: number): void {
  row.rounds += 1;
  row.sent += outcomes.length;
  row.unauthorised += unauthorised;
  for (const o of outcomes) {
    if (o.status !== undefined) row.answered += 1;
    row.unmaskedBytes += o.unmaskedBytes;
    if (succeeded(o)) {
      row.ok += 1;
      continue;
    }
    // A must-refuse request that was refused is a success; one that was not is counted upstream.
    const key = o.status === undefined ? 'reset' : o.status >= 200 && o.status < 300 ? 'cut' : String(o.status);
    row.failedClosed.set(key, (row.failedClosed.get(key) ?? 0) + 1);
    const byKind = row.failedByKind.get(o.kind) ?? new Map<string, number>();
    byKind.set(key, (byKind.get(key) ?? 0) + 1);
    row.failedByKind.set(o.kind, byKind);
  }
}

const COLUMNS = ['fault', 'rounds', 'sent', 'answered', 'ok', 'failed closed (status:n)', 'unauth fwd', 'unmasked B', 'records lost', 'recover s (per round)', 'restart'];

export function formatTable(rows: Row[]): string {
  const lines = rows.map((r) => [
    r.fault,
    String(r.rounds),
    String(r.sent),
    String(r.answered),
    String(r.ok),
    [...r.failedClosed].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k}:${n}`).join(' ') || '-',
    String(r.unauthorised),
    String(r.unmaskedBytes),
    `${r.recordsLost}/${r.recordsChecked}${r.recordsCutChecked > 0 ? ` (${r.recordsCutChecked} cut)` : ''}`,
    r.recoverS.map((s) => (s === undefined ? 'never' : s.toFixed(2))).join(', '),
    r.restartNeeded ? 'YES' : 'no',
  ]);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 0 || i === 5 || i === 9 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ');
  return [fmt(COLUMNS), widths.map((w) => '-'.repeat(w)).join('-|-'), ...lines.map(fmt)].join('\n');
}

/** One line per fault: which kinds of request failed, and how. */
export function formatFailuresByKind(rows: Row[]): string {
  const counts = (m: Map<string, number>) => [...m].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k}:${n}`).join(' ');
  const width = Math.max(...rows.map((r) => r.fault.length));
  return rows.map((r) => `${r.fault.padEnd(width)}  ${[...r.failedByKind].map(([kind, m]) => `${kind} ${counts(m)}`).join('; ') || 'none'}`).join('\n');
}

/** The must-be-0 columns, and the restarts: what makes the run fail. */
export function violations(rows: Row[]): string[] {
  const out: string[] = [];
  for (const r of rows) {
    if (r.unauthorised > 0) out.push(`${r.fault}: ${r.unauthorised} requests forwarded without authorisation`);
    if (r.unmaskedBytes > 0) out.push(`${r.fault}: ${r.unmaskedBytes} unmasked bytes delivered`);
    if (r.recordsLost > 0) out.push(`${r.fault}: ${r.recordsLost} session records lost`);
    if (r.restartNeeded) out.push(`${r.fault}: the gateway did not recover on its own`);
  }
  return out;
}
