/**
 * Fault-injection suite: steady load through a real `sluice gateway` (Envoy, ext-authz, ext-proc,
 * supervised) while each fault is injected and ended in turn, several times. Prints one row per
 * fault; exits 1 if anything was forwarded without authorisation, any raw card number or email
 * reached a caller, a session record is missing for an upstream answer a caller got, or the
 * gateway did not recover on its own. Run `npm run faults -- --help`.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { startPostgresServer, type PostgresServer } from '../test/harness/postgres-server.ts';
import { startRedisServer } from '../test/harness/redis-server.ts';
import { SmallDisk } from './faults/disk.ts';
import { FAULTS, type Fault, type FaultContext } from './faults/faults.ts';
import { KINDS, Load, succeeded, type Outcome } from './faults/load.ts';
import { missingRecords } from './faults/records.ts';
import { addRound, emptyRow, formatTable, violations, type Row } from './faults/report.ts';
import { World, type SessionsConfig } from './faults/world.ts';

const HELP = `npm run faults -- [options]

Runs \`sluice gateway\` (real Envoy) against a local issuer, upstream, OAuth2 token endpoint,
a throwaway redis-server (approvals) and, for one fault, a throwaway PostgreSQL (sessions), and
keeps a steady mix of requests going (cached-token GETs, masked streams, recorded POSTs, fresh
tokens, approval holds answered by an approver loop, OAuth2-credentialed GETs, and requests that
must be refused). Each fault is injected while the load runs, then ended; one row per fault.

Options:
  --rounds N        times each fault is injected (default 2)
  --duration S      seconds each fault lasts, and the load after a kill (default 4)
  --recover S       seconds to wait for recovery before calling it a needed restart (default 30)
  --only TEXT       only the faults whose name contains TEXT (case-insensitive; repeatable)
  --pause MS        pause between one loop's requests (default 20)
  -h, --help        this text

Must be run as root (the disk-full fault mounts a small tmpfs). Progress goes to stderr, the
table to stdout; the gateway's log is kept in the run's directory (printed at the start).
Exit status: 0 when every must-be-0 column is 0 and nothing needed a restart, else 1.`;

interface Options { rounds: number; durationMs: number; recoverMs: number; only: string[]; pauseMs: number }

function options(): Options {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '2' },
      duration: { type: 'string', default: '4' },
      recover: { type: 'string', default: '30' },
      only: { type: 'string', multiple: true, default: [] },
      pause: { type: 'string', default: '20' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  const number = (name: string, text: string, min: number) => {
    const n = Number(text);
    if (!Number.isFinite(n) || n < min) {
      console.error(`--${name} must be a number of at least ${min} (got ${JSON.stringify(text)})`);
      process.exit(2);
    }
    return n;
  };
  return {
    rounds: Math.floor(number('rounds', values.rounds, 1)),
    durationMs: number('duration', values.duration, 0.5) * 1000,
    recoverMs: number('recover', values.recover, 1) * 1000,
    only: values.only.map((s) => s.toLowerCase()),
    pauseMs: number('pause', values.pause, 0),
  };
}

const progress = (line: string) => process.stderr.write(`# ${new Date().toISOString().slice(11, 19)} ${line}\n`);

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
    if (Number.isFinite(last) && (await world.waitReady(1))) return (last - endedAt) / 1000;
    await sleep(100);
  }
  return undefined;
}

interface Phase {
  store: 'file' | 'postgres';
  faults: Fault[];
}

async function runPhase(phase: Phase, opts: Options, world: World, ctx: Omit<FaultContext, 'world' | 'durationMs'>, sessions: SessionsConfig, redisUrl: string, rows: Map<string, Row>): Promise<void> {
  const phaseStart = Date.now();
  progress(`starting sluice gateway (session store: ${phase.store})`);
  await world.startGateway({ ...sessions, maxQueuedRecords: 200 }, redisUrl);
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
  const expected = new Map<string, { fault: string; status: number }>();
  load.start();
  try {
    await sleep(2000);
    const baseline = await recovery(world, load, phaseStart, opts.recoverMs);
    if (baseline === undefined) throw new Error(`the gateway never served every kind of request before any fault; its log: ${world.logFile}`);
    for (let round = 1; round <= opts.rounds; round++) {
      for (const fault of phase.faults) {
        const row = rows.get(fault.name)!;
        const unauthorisedBefore = world.upstream.unauthorised;
        const startedAt = Date.now();
        progress(`round ${round}/${opts.rounds}: ${fault.name}`);
        const { endedAt } = await fault.run({ ...ctx, world, durationMs: opts.durationMs });
        const recoverS = await recovery(world, load, endedAt, opts.recoverMs);
        row.recoverS.push(recoverS);
        if (recoverS === undefined) {
          row.restartNeeded = true;
          progress(`  ${fault.name}: not recovered within ${opts.recoverMs / 1000}s; restarting the gateway by hand`);
          await world.stopGateway();
          await world.startGateway({ ...sessions, maxQueuedRecords: 200 }, redisUrl);
        } else {
          progress(`  recovered ${recoverS.toFixed(2)}s after the fault ended`);
        }
        await sleep(500);
        const windowEnd = Date.now();
        // Requests in flight when the fault began count too (a stream cut mid-body).
        const outcomes = load.outcomes.filter((o) => o.endedAt >= startedAt && o.startedAt < windowEnd);
        addRound(row, outcomes, world.upstream.unauthorised - unauthorisedBefore);
        for (const o of outcomes) if (wantsRecord(o)) expected.set(o.rid, { fault: fault.name, status: o.status! });
      }
    }
  } finally {
    await load.stop();
    await approver.stop();
  }
  progress(`checking ${expected.size} session records against the store`);
  const missing = await missingRecords(sessions, phaseStart - 60_000, new Map([...expected].map(([rid, e]) => [rid, e.status])), 20_000);
  for (const [, e] of expected) rows.get(e.fault)!.recordsChecked += 1;
  for (const { rid, recorded } of missing) {
    const e = expected.get(rid)!;
    rows.get(e.fault)!.recordsLost += 1;
    const o = load.outcomes.find((x) => x.rid === rid)!;
    progress(`  lost: ${o.kind} rid=${rid} started ${new Date(o.startedAt).toISOString()} took ${o.endedAt - o.startedAt} ms, caller got ${o.status}; the store has ${recorded === undefined ? 'no record' : `status ${recorded}`}`);
  }
  const restarts = await world.children().catch(() => []);
  progress(`children after the phase: ${restarts.map((c) => `${c.name} ${c.state} (${c.restarts} restarts)`).join(', ')}`);
  await world.stopGateway();
}

/** A complete answer from the upstream: its caller got what the upstream said, so a record must say it too. */
function wantsRecord(o: Outcome): boolean {
  return o.kind !== 'refused' && o.fromUpstream && o.complete && o.status !== undefined;
}

async function main(): Promise<void> {
  const opts = options();
  const chosen = FAULTS.filter((f) => opts.only.length === 0 || opts.only.some((o) => f.name.toLowerCase().includes(o)));
  if (chosen.length === 0) {
    console.error(`no fault matches --only ${opts.only.join(', ')}; the faults are: ${FAULTS.map((f) => f.name).join('; ')}`);
    process.exit(2);
  }
  const world = await World.start();
  progress(`run directory ${world.dir} (gateway log: ${world.logFile})`);
  const redis = await startRedisServer();
  let disk: SmallDisk | undefined;
  let postgres: PostgresServer | undefined;
  const rows = new Map(chosen.map((f) => [f.name, emptyRow(f.name)]));
  try {
    const fileFaults = chosen.filter((f) => f.store === 'file');
    if (fileFaults.length > 0) {
      disk = await SmallDisk.mount(path.join(world.dir, 'disk'), 16);
      await runPhase({ store: 'file', faults: fileFaults }, opts, world, { redis, disk }, { store: 'file', dir: path.join(disk.mountPoint, 'sessions') }, `redis://127.0.0.1:${redis.port}`, rows);
    }
    const pgFaults = chosen.filter((f) => f.store === 'postgres');
    if (pgFaults.length > 0) {
      // Durable, as a production server is: with fsync off a crash loses commits the store was told had landed.
      postgres = await startPostgresServer({ auth: 'scram-sha-256', user: 'sluice', durable: true });
      const databaseUrl = `postgres://sluice:${encodeURIComponent(postgres.password)}@127.0.0.1:${postgres.port}/app`;
      await runPhase({ store: 'postgres', faults: pgFaults }, opts, world, { redis, postgres }, { store: 'postgres', databaseUrl }, `redis://127.0.0.1:${redis.port}`, rows);
    }
  } finally {
    await world.close();
    await redis.stop();
    await postgres?.stop();
    await disk?.unmount();
  }
  const table = [...rows.values()];
  console.log(`\nfaults: ${opts.rounds} round(s) of ${opts.durationMs / 1000}s each, steady load through real Envoy (sluice gateway)\n`);
  console.log(formatTable(table));
  console.log('\nfailed closed: refused or cut requests that would have passed without the fault (reset: no answer; cut: 2xx cut short). records lost: lost/checked.');
  if (world.upstream.unauthorisedSamples.length > 0) console.log(`unauthorised requests seen upstream: ${world.upstream.unauthorisedSamples.join('; ')}`);
  const problems = violations(table);
  if (problems.length > 0) {
    console.log(`\nFAILED:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
