import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { canConnect } from './ports.ts';

const CLI = fileURLToPath(new URL('../../cli/sluice.ts', import.meta.url));

/** Runs ext-authz as its own process (as in production), so the load generator never shares its event loop. */
export async function startExtAuthzProcess(opts: {
  dir: string;
  port: number;
  policyDir: string;
  issuers: object[];
  /** Approvals settings; `port` is the admin server's (approvals API) and must be free (several replicas may run). */
  approvals: { port: number; store?: 'memory' | 'redis'; redisUrl?: string; redisKeyPrefix?: string };
  /** Targets to declare (the bench and fixture policies name these); ext-authz never dials them. */
  targets?: string[];
  /** More of sluice.yaml (e.g. the extProc section both services read: masking profiles and defaults). */
  extra?: Record<string, unknown>;
}): Promise<{ pid: number; stop(): Promise<void> }> {
  const configFile = path.join(opts.dir, `sluice-${opts.port}.yaml`);
  writeFileSync(configFile, JSON.stringify({
    targets: (opts.targets ?? ['demo-api', 'ops-api', 'plain-api', 'admin-api', 'sql-api']).map((name) => ({ name, endpoints: ['127.0.0.1:9'], http: { pathPrefix: `/${name}/` } })),
    extAuthz: { host: '127.0.0.1', port: opts.port, policyDir: opts.policyDir },
    issuers: opts.issuers,
    admin: { port: opts.approvals.port },
    approvals: { store: opts.approvals.store ?? 'memory', ...(opts.approvals.redisUrl ? { redisUrl: opts.approvals.redisUrl } : {}), ...(opts.approvals.redisKeyPrefix !== undefined ? { redisKeyPrefix: opts.approvals.redisKeyPrefix } : {}) },
    log: { level: 'warn', decisionLog: path.join(opts.dir, `decisions-${opts.port}.log`) },
    ...opts.extra,
  }));
  // BENCH_NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") lets a profiler ride along.
  const extraFlags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const child: ChildProcess = spawn(process.execPath, [...extraFlags, '--import', 'tsx', CLI, 'ext-authz', '--config', configFile], { stdio: ['ignore', 'inherit', 'inherit'] });
  const deadline = Date.now() + 20_000;
  while (!(await canConnect(opts.port))) {
    if (child.exitCode !== null) throw new Error(`ext-authz exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('ext-authz did not start');
    await sleep(100);
  }
  return {
    pid: child.pid ?? -1,
    stop: async () => {
      // Stopped already (the bench frees the core before its in-process figure): waiting for
      // another 'exit' would hang the run after it printed everything.
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}
