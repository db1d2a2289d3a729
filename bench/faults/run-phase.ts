import { setTimeout as sleep } from 'node:timers/promises';
import type { Fault, FaultContext } from './faults.ts';
import { KINDS, Load, succeeded, type Outcome } from './load.ts';
import { missingRecords } from './records.ts';
import { addRound, type Row } from './report.ts';
import type { SessionsConfig, World } from './world.ts';

/**
 * The gateway's recording queue bound: small, so that a few seconds of a dead store (while each
 * exchange waits up to 250 ms for its record) fill it and onFull: deny is seen refusing.
 */
const QUEUED_RECORDS = 50;

export interface PhaseOptions { rounds: number; durationMs: number; recoverMs: number; pauseMs: number }

export const progress = (line: string) => process.stderr.write(`# ${new Date().toISOString().slice(11, 19)} ${line}\n`);

/** Answers every pending approval, as an approver on call would, until stopped. */
function approverLoop(world: World, token: string): { stop(): Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const res = await fetch(`${world.adminUrl}/approvals?status=pending`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(2000) });
        if (res.ok) {
          const body = (await res.json()) as { approvals?: { id: string }[] };
          for (const a of body.approvals ?? []) {
            await fetch(`${world.adminUrl}/approvals/${a.id}/approve`, {
              method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"reason":"fault suite"}', signal: AbortSignal.timeout(2000),
            }).catch(() => undefined);
          }
        }
      } catch { /* the approvals API is down with its service: try again */ }
      await sleep(100);
    }
  })();
  return { stop: async () => { running = false; await loop; } };
}

/**
 * Waits until every kind of request has succeeded at least once among those started after
 * `endedAt`, and the gateway reports ready; the seconds that took, or undefined on timeout.
 */
async function recovery(world: World, load: Load, endedAt: number, timeoutMs: number): Promise<number | undefined> {
  const deadline = endedAt + timeoutMs;
  while (Date.now() < deadline) {
    const after = load.outcomes.filter((o) => o.startedAt >= endedAt && succeeded(o));
    const firstByKind = KINDS.map((kind) => after.filter((o) => o.kind === kind).reduce((min, o) => Math.min(min, o.endedAt), Number.POSITIVE_INFINITY));
    const last = Math.max(...firstByKind);
    if (Number.isFinite(last) && (await world.waitReady(1))) {
      progress(`  last kind back: ${KINDS[firstByKind.indexOf(last)]}; first successes (s): ${KINDS.map((k, i) => `${k} ${((firstByKind[i]! - endedAt) / 1000).toFixed(2)}`).join(', ')}`);
      return (last - endedAt) / 1000;
    }
    await sleep(100);
  }
  return undefined;
}

export interface PhaseResult {
  /** The gateway's children when the phase ended (restarts are the supervisor's). */
  children: { name: string; state: string; restarts: number }[];
  /** Latency of successful requests per kind over a quiet window before the first fault. */
  steady: string;
}

/** p50 and p99 of successful requests per kind: what the load costs when nothing is failing. */
function latencies(outcomes: Outcome[]): string {
  return KINDS.filter((k) => k !== 'approval').map((kind) => {
    const ms = outcomes.filter((o) => o.kind === kind && succeeded(o)).map((o) => o.endedAt - o.startedAt).sort((a, b) => a - b);
    const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] ?? NaN;
    return `${kind} ${at(0.5)}/${at(0.99)} ms (n=${ms.length})`;
  }).join(', ');
}

export interface Phase {
  store: 'file' | 'postgres';
  faults: Fault[];
}

/**
 * One gateway's run: starts `sluice gateway` on this session store, the load and the approver, then
 * injects each fault `rounds` times, adding each round to the fault's row; at the end checks the
 * store for the record of every upstream answer (complete or cut short), and stops the gateway.
 */
export async function runPhase(phase: Phase, opts: PhaseOptions, world: World, ctx: Omit<FaultContext, 'world' | 'durationMs' | 'nextAnswer'>, sessions: SessionsConfig, redisUrl: string, rows: Map<string, Row>): Promise<PhaseResult> {
  const phaseStart = Date.now();
  progress(`starting sluice gateway (session store: ${phase.store})`);
  await world.startGateway({ ...sessions, maxQueuedRecords: QUEUED_RECORDS }, redisUrl);
  const cached = await world.issuer.mint('alice', ['engineering'], 7200);
  const refusedTokens = [
    `${cached.slice(0, -6)}AAAAAA`, // bad signature
    await world.issuer.mint('alice', ['engineering'], 0, true), // expired
    await world.issuer.mint('mallory', ['engineering'], 7200), // a subject the policy denies
    undefined, // no token
    'not-a-jwt',
  ];
  const load = new Load({ url: (p) => world.url(p), cachedToken: cached, freshToken: () => world.issuer.mint('bob', ['engineering'], 600), refusedTokens, pauseMs: opts.pauseMs, timeoutMs: 10_000 });
  const approver = approverLoop(world, await world.issuer.mint('sam', ['sre'], 7200));
  const expected = new Map<string, { fault: string; status: number; cut: boolean }>();
  let steady = '';
  load.start();
  try {
    await sleep(2000);
    const baseline = await recovery(world, load, phaseStart, opts.recoverMs);
    if (baseline === undefined) throw new Error(`the gateway never served every kind of request before any fault; its log: ${world.logFile}`);
    const quietFrom = Date.now();
    await sleep(3000);
    steady = latencies(load.between(quietFrom, Date.now()));
    progress(`steady load, p50/p99 of successes: ${steady}`);
    for (let round = 1; round <= opts.rounds; round++) {
      for (const fault of phase.faults) {
        const row = rows.get(fault.name)!;
        const unauthorisedBefore = world.upstream.unauthorised;
        const startedAt = Date.now();
        progress(`round ${round}/${opts.rounds}: ${fault.name}`);
        const { endedAt } = await fault.run({ ...ctx, world, durationMs: opts.durationMs, nextAnswer: () => load.nextAnswer() });
        const recoverS = await recovery(world, load, endedAt, opts.recoverMs);
        row.recoverS.push(recoverS);
        if (recoverS === undefined) {
          row.restartNeeded = true;
          progress(`  ${fault.name}: not recovered within ${opts.recoverMs / 1000}s; restarting the gateway by hand`);
          await world.stopGateway();
          await world.startGateway({ ...sessions, maxQueuedRecords: QUEUED_RECORDS }, redisUrl);
        } else {
          progress(`  recovered ${recoverS.toFixed(2)}s after the fault ended`);
        }
        await sleep(500);
        const windowEnd = Date.now();
        // Requests in flight when the fault began count too (a stream cut mid-body).
        const outcomes = load.outcomes.filter((o) => o.endedAt >= startedAt && o.startedAt < windowEnd);
        addRound(row, outcomes, world.upstream.unauthorised - unauthorisedBefore);
        for (const o of outcomes) if (wantsRecord(o)) expected.set(o.rid, { fault: fault.name, status: o.status!, cut: !o.complete });
      }
    }
  } finally {
    await load.stop();
    await approver.stop();
  }
  progress(`checking ${expected.size} session records against the store`);
  const missing = await missingRecords(sessions, phaseStart - 60_000, new Map([...expected].map(([rid, e]) => [rid, e.status])), 20_000);
  for (const [, e] of expected) {
    const row = rows.get(e.fault)!;
    row.recordsChecked += 1;
    if (e.cut) row.recordsCutChecked += 1;
  }
  for (const { rid, recorded } of missing) {
    const e = expected.get(rid)!;
    rows.get(e.fault)!.recordsLost += 1;
    const o = load.outcomes.find((x) => x.rid === rid)!;
    progress(`  lost: ${o.kind} rid=${rid} started ${new Date(o.startedAt).toISOString()} took ${o.endedAt - o.startedAt} ms, caller got ${o.status}${o.complete ? '' : ' (cut short)'}; the store has ${recorded === undefined ? 'no record' : `status ${recorded}`}`);
  }
  const restarts = await world.children().catch(() => []);
  progress(`children after the phase: ${restarts.map((c) => `${c.name} ${c.state} (${c.restarts} restarts)`).join(', ')}`);
  await world.stopGateway();
  return { children: restarts, steady };
}

/**
 * An answer from the upstream, complete or cut short: its caller got (some of) what the upstream
 * said, so a record must say that status too. A cut answer's record is `incomplete` (written by
 * ext-proc as the stream broke, or at its next start from the open-exchange journal when it was
 * killed); one with no record is lost, as a complete one is.
 */
function wantsRecord(o: Outcome): boolean {
  return o.kind !== 'refused' && o.fromUpstream && o.status !== undefined;
}

