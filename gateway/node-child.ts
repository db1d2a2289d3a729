import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { SluiceError } from '../common/errors.ts';
import type { ChildRun } from './supervised.ts';

const SLUICE_CLI = fileURLToPath(new URL('../cli/sluice.ts', import.meta.url));
/** Resolved from here, not from the working directory: the gateway may be started anywhere. */
const TSX = import.meta.resolve('tsx');

export interface NodeChildOptions {
  /** `sluice` subcommand and its arguments, e.g. ['ext-proc', '--config', file]. */
  args: string[];
  /** Extra node flags (memory settings). */
  nodeFlags?: string[];
  env?: NodeJS.ProcessEnv;
  /** Answers 200 once the child is up: its admin /healthz. */
  healthUrl: string;
  startTimeoutMs?: number;
}

/**
 * Runs one `sluice <service>` as a child process sharing the gateway's stdout/stderr (its JSON
 * log lines go where the gateway's go), and resolves once its admin server answers /healthz.
 */
export async function startNodeChild(options: NodeChildOptions): Promise<ChildRun> {
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), '--import', TSX, SLUICE_CLI, ...options.args], {
    env: options.env ?? process.env,
    stdio: ['ignore', 'inherit', 'inherit'],
    // A process group of its own: Ctrl-C signals the terminal's whole foreground group, and a
    // child that stopped on it would be restarted (or missing) while the gateway drains. The
    // gateway alone decides when its children stop.
    detached: true,
  });
  let exit: { code: number | null; signal: string | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
  });
  const stop = async (graceMs: number) => {
    if (exit) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), Math.max(0, graceMs));
    await exited;
    clearTimeout(killer);
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  while (true) {
    if (exit) throw new SluiceError('ERR_CHILD_START', `sluice ${options.args[0]} exited during start (code ${exit.code}, signal ${exit.signal}); its log is above`);
    if (Date.now() > deadline) {
      await stop(0);
      throw new SluiceError('ERR_CHILD_START', `sluice ${options.args[0]} did not answer ${options.healthUrl} within ${options.startTimeoutMs ?? 30_000} ms`);
    }
    const up = await fetch(options.healthUrl, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
    if (up) break;
    await sleep(50);
  }
  return { pid: child.pid ?? -1, exited, stop };
}
