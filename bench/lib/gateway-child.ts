import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../cli/sluice.ts', import.meta.url));

/** `sluice gateway --config FILE` as its own process, as an operator runs it (stdout quiet, stderr shown). */
export function startGatewayChild(configFile: string): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', CLI, 'gateway', '--config', configFile], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** SIGTERM, then wait for it to drain and exit (at most 10 s). */
export async function stopGatewayChild(gateway: ChildProcess | undefined): Promise<void> {
  if (!gateway) return;
  gateway.kill('SIGTERM');
  await new Promise((resolve) => { gateway.once('exit', resolve); setTimeout(resolve, 10_000); });
}
