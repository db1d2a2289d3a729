/**
 * Fault-injection suite: steady load through a real `sluice gateway` (Envoy, ext-authz, ext-proc,
 * supervised) while each fault is injected and ended in turn, several times. Prints one row per
 * fault; exits 1 if anything was forwarded without authorisation, any raw card number or email
 * reached a caller, a session record is missing for an upstream answer a caller got, or the
 * gateway did not recover on its own. Run `npm run faults -- --help`.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { startPostgresServer, type PostgresServer } from '../test/harness/postgres-server.ts';
import { startRedisServer } from '../test/harness/redis-server.ts';
import { SmallDisk } from './faults/disk.ts';
import { FAULTS } from './faults/faults.ts';
import { emptyRow, formatFailuresByKind, formatTable, violations } from './faults/report.ts';
import { progress, runPhase, type PhaseOptions } from './faults/run-phase.ts';
import { World } from './faults/world.ts';

/** Size of the tmpfs holding the file session store (RAM; filled only during the disk-full fault). */
const DISK_MB = 256;

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

interface Options extends PhaseOptions { only: string[] }

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
  // Ctrl-C: stop the gateway (its children run in process groups of their own) and unmount.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      progress(`${signal}: stopping`);
      void Promise.race([world.close(), sleep(10_000)]).then(() => disk?.unmount()).finally(() => process.exit(130));
    });
  }
  let postgres: PostgresServer | undefined;
  const rows = new Map(chosen.map((f) => [f.name, emptyRow(f.name)]));
  const steady: string[] = [];
  try {
    const fileFaults = chosen.filter((f) => f.store === 'file');
    if (fileFaults.length > 0) {
      // Every record of the file phase lands here too: 16 MB filled up from load alone in a run of
      // ~30 faults (ENOSPC before the disk-full fault, then nothing recovered), so leave room; the
      // disk-full fault fills what is left to the byte.
      disk = await SmallDisk.mount(path.join(world.dir, 'disk'), DISK_MB);
      const sessions = { store: 'file' as const, dir: path.join(disk.mountPoint, 'sessions') };
      const result = await runPhase({ store: 'file', faults: fileFaults }, opts, world, { redis, disk }, sessions, `redis://127.0.0.1:${redis.port}`, rows);
      steady.push(`file store: ${result.steady}`);
    }
    const pgFaults = chosen.filter((f) => f.store === 'postgres');
    if (pgFaults.length > 0) {
      // Durable, as a production server is: with fsync off a crash loses commits the store was told had landed.
      postgres = await startPostgresServer({ auth: 'scram-sha-256', user: 'sluice', durable: true });
      const databaseUrl = `postgres://sluice:${encodeURIComponent(postgres.password)}@127.0.0.1:${postgres.port}/app`;
      const result = await runPhase({ store: 'postgres', faults: pgFaults }, opts, world, { redis, postgres }, { store: 'postgres', databaseUrl }, `redis://127.0.0.1:${redis.port}`, rows);
      steady.push(`PostgreSQL store: ${result.steady}`);
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
  console.log(`\nfailed closed, by kind of request:\n${formatFailuresByKind(table)}\n`);
  console.log(`steady load before the first fault (p50/p99 of successes):\n${steady.map((l) => `  ${l}`).join('\n')}`);
  console.log('\nfailed closed: refused or cut requests that would have passed without the fault (reset: no answer; cut: 2xx cut short).');
  console.log('records lost: upstream answers, complete or cut short, with no record of the status the caller got / answers checked (of which cut short).');
  console.log('recover s: from the fault\'s end (a kill ends at once) until every kind has succeeded again and /readyz is 200,');
  console.log('  counted at each request\'s end (a masked stream lasts about 0.5 s by itself).');
  if (world.upstream.unauthorisedSamples.length > 0) console.log(`unauthorised requests seen upstream: ${world.upstream.unauthorisedSamples.join('; ')}`);
  const problems = violations(table);
  if (problems.length > 0) {
    console.log(`\nFAILED:\n${problems.map((p) => `  ${p}`).join('\n')}\nthe gateway's log is kept: ${world.logFile}`);
    process.exitCode = 1;
  } else {
    rmSync(world.dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
