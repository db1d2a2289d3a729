import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runCommand } from './run-command.ts';

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

/** The pid of one of the gateway's own children: `ext-proc`, `ext-authz` or `envoy`. */
export async function gatewayChildPid(gatewayPid: number, role: 'ext-proc' | 'ext-authz' | 'envoy'): Promise<number> {
  const out = await runCommand('ps', ['-eo', 'pid,ppid,args']);
  for (const line of out.split('\n')) {
    const [pid, ppid, ...args] = line.trim().split(/\s+/);
    if (Number(ppid) !== gatewayPid) continue;
    const command = args.join(' ');
    if (role === 'envoy' ? /envoy -c /.test(command) : command.includes(` ${role}`)) return Number(pid);
  }
  throw new Error(`${role} child of the gateway not found`);
}
