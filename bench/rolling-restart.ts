/**
 * Do rolling restarts lose requests? Two Envoys, two ext-authz and two ext-proc replicas, each its
 * own process on loopback (test/harness/replica-set.ts), sharing approvals through Redis (own key
 * prefix) and session records through PostgreSQL (a database of their own), under steady
 * open-loop load (test/harness/steady-load.ts): cached-token GETs on demo-api, each recorded, and
 * a share of approval holds on ops-api that an approver loop approves through the approvals API.
 * Then every replica of every kind is restarted in turn, BENCH_ROUNDS times:
 *   ext-authz, ext-proc   SIGTERM → it drains (NOT_SERVING, serves on for drain.delay while
 *                         Envoy's health checks take it out, GOAWAY, in-flight calls finish) and
 *                         exits → started again → ready and healthy in both Envoys
 *   envoy                 hot restart: the next epoch takes over the listening sockets, the old
 *                         one drains its connections and exits
 * One row per restart: requests sent from its start until the replica was back (and 1 s more),
 * how many failed (anything but a 200, connection errors included), the drain time. At the end:
 * every answered request must have its session record. Exits 1 if any request failed or any
 * record is missing.
 *   npm run bench:rolling    (BENCH_ROUNDS=2, BENCH_RATE=40 requests/s, BENCH_APPROVAL_SHARE=0.05)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ReplicaSet, type RestartReport } from '../test/harness/replica-set.ts';
import { startSteadyLoad, window, type LoadSample } from '../test/harness/steady-load.ts';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(`npm run bench:rolling

Starts 2 Envoys, 2 ext-authz and 2 ext-proc replicas (own processes on loopback, sharing Redis
approvals and PostgreSQL sessions), keeps steady load on them and restarts every replica of every
kind in turn; one row per restart (sent, failed, drain and back times), then checks that every
answered request has its session record. Exit status 1 if any request failed or a record is lost.

Environment: BENCH_ROUNDS (default 2), BENCH_RATE requests/s (default 40),
BENCH_APPROVAL_SHARE (default 0.05). Progress lines start with #.`);
  process.exit(0);
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const RATE = Number(process.env.BENCH_RATE ?? 40);
const APPROVAL_SHARE = Number(process.env.BENCH_APPROVAL_SHARE ?? 0.05);
/** After a replica is back, requests sent this much later still count for its row (late effects). */
const SETTLE_MS = 1000;

interface Row { report: RestartReport; sent: number; failed: number; failures: LoadSample[] }

async function main(): Promise<number> {
  const setStarted = performance.now();
  const set = await ReplicaSet.start({ extAuthz: 2, extProc: 2, envoys: 2 });
  // Ctrl-C, or a closed pipe on stdout (| head), must not leave six replicas running.
  const abandon = () => void set.stop().finally(() => process.exit(130));
  process.once('SIGINT', abandon);
  process.once('SIGTERM', abandon);
  process.stdout.on('error', abandon);
  console.log(`# 2 Envoys (hot restart), 2 ext-authz, 2 ext-proc started in ${((performance.now() - setStarted) / 1000).toFixed(1)} s; drain delay ${set.config.extAuthz.drain.delay}, ext-authz drain timeout ${set.config.extAuthz.drain.timeout}, ext-proc ${set.config.extProc.drain.timeout}`);
  const windows: { round: number; report: RestartReport; from: number; to: number }[] = [];
  let load: ReturnType<typeof startSteadyLoad> | undefined;
  try {
    const alice = await set.issuer.mint({ sub: 'alice', groups: ['engineering'], ttlSeconds: 3600 });
    const sam = await set.issuer.mint({ sub: 'sam', groups: ['sre'], ttlSeconds: 3600 });
    load = startSteadyLoad({
      urls: set.envoys.map((e) => set.url(e.index)),
      rate: RATE,
      approvalShare: APPROVAL_SHARE,
      token: alice,
      approver: { token: sam, urls: () => set.authz.map((r) => r.adminUrl) },
    });
    console.log(`# steady load: ${RATE} requests/s round robin over both Envoys, ${Math.round(APPROVAL_SHARE * 100)}% approval holds; warming up 3 s`);
    await sleep(3000);

    for (let round = 1; round <= ROUNDS; round++) {
      for (const kind of ['ext-authz', 'ext-proc', 'envoy'] as const) {
        const count = kind === 'envoy' ? set.envoys.length : set.replicas(kind).length;
        for (let index = 0; index < count; index++) {
          const from = performance.now();
          const report = kind === 'envoy' ? await set.restartEnvoy(index) : await set.restartService(kind, index);
          await sleep(SETTLE_MS);
          // Counted once the load has ended: a hold sent in this window may still be waiting now.
          windows.push({ round, report, from, to: performance.now() });
          console.log(`# round ${round}: ${kind} ${index} restarted (drain ${Math.round(report.drainMs)} ms, back after ${Math.round(report.backMs)} ms)`);
        }
      }
    }
    const samples = await load.stop();
    const approverErrors = load.approverErrors;
    load = undefined;

    for (const w of windows) printRow(w.round, { report: w.report, ...window(samples, w.from, w.to) });
    // Where in a restart the failures fell, for whoever has to find out why.
    for (const w of windows) {
      const { failures } = window(samples, w.from, w.to);
      if (failures.length === 0) continue;
      const at = failures.map((f) => ((f.sentAt - w.from) / 1000).toFixed(2));
      console.log(`# ${w.report.kind} ${w.report.index} (round ${w.round}): failures sent at +${at[0]} s … +${at[at.length - 1]} s after the restart began (old process gone at +${(w.report.drainMs / 1000).toFixed(2)} s, new one routed at +${(w.report.backMs / 1000).toFixed(2)} s); through envoy ${[...new Set(failures.map((f) => f.envoy))].join(', ')}`);
    }
    const failed = samples.filter((s) => !s.ok);
    const answered = samples.filter((s) => s.ok);
    console.log(`\n# total: ${samples.length} requests (${samples.filter((s) => s.kind === 'approval').length} approval holds), ${failed.length} failed${failed.length ? ` (statuses ${statuses(failed)})` : ''}; approver calls that failed (a replica restarting, retried on the other): ${approverErrors}`);
    const lost = await missingRecords(set, answered);
    console.log(`# session records: ${answered.length - lost.length} of ${answered.length} answered requests recorded, ${lost.length} lost${lost.length ? ` (e.g. ${lost.slice(0, 3).map((s) => s.path).join(', ')})` : ''}`);
    return failed.length === 0 && lost.length === 0 ? 0 : 1;
  } finally {
    await load?.stop();
    await set.stop();
  }
}

function printRow(round: number, row: Row): void {
  const header = 'round  kind        replica  sent  failed  failed/total  drain ms  back ms';
  if (printRow.first) {
    console.log(header);
    printRow.first = false;
  }
  const r = row.report;
  const ratio = row.sent ? (row.failed / row.sent).toFixed(4) : '-';
  console.log(`${String(round).padEnd(7)}${r.kind.padEnd(12)}${String(r.index).padEnd(9)}${String(row.sent).padStart(4)}  ${String(row.failed).padStart(6)}  ${ratio.padStart(12)}  ${String(Math.round(r.drainMs)).padStart(8)}  ${String(Math.round(r.backMs)).padStart(7)}${r.exitCode === 0 ? '' : `  (exit ${r.exitCode})`}${row.failed ? `  statuses ${statuses(row.failures)}` : ''}`);
}
printRow.first = true;

function statuses(samples: readonly LoadSample[]): string {
  const counts = new Map<string, number>();
  for (const s of samples) counts.set(`${s.kind}:${s.status}`, (counts.get(`${s.kind}:${s.status}`) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${k}×${n}`).join(' ');
}

/** Answered requests without a session record, once the record count stops growing (queues flushed). */
async function missingRecords(set: ReplicaSet, answered: readonly LoadSample[]): Promise<LoadSample[]> {
  let paths = new Set<string>();
  for (let attempt = 0; attempt < 20; attempt++) {
    paths = new Set(await set.recordedPaths());
    if (answered.every((s) => paths.has(s.path))) return [];
    await sleep(500);
  }
  return answered.filter((s) => !paths.has(s.path));
}

process.exitCode = await main();
