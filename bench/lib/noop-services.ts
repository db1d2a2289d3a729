import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../common/free-port.ts';
import { waitForListeners } from './ports.ts';

const AUTHZ = fileURLToPath(new URL('./noop-authz-server.ts', import.meta.url));
const PROC = fileURLToPath(new URL('./noop-proc-server.ts', import.meta.url));

/**
 * The no-op ext_authz and ext_proc servers as child processes (their own event loops, as in
 * production), for tests and benches that exercise Envoy's config rather than Sluice's decisions.
 */
export async function startNoopServices(): Promise<{ extAuthzPort: number; extProcPort: number; stop(): Promise<void> }> {
  const extAuthzPort = await freePort();
  const extProcPort = await freePort();
  const children: ChildProcess[] = [AUTHZ, PROC].map((file, i) =>
    spawn(process.execPath, ['--import', 'tsx', file, String(i === 0 ? extAuthzPort : extProcPort)], { stdio: ['ignore', 'ignore', 'inherit'] }));
  const stop = async () => {
    await Promise.all(children.map((child) => child.exitCode !== null ? undefined : new Promise((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGTERM');
    })));
  };
  try {
    await waitForListeners({ 'no-op ext_authz': extAuthzPort, 'no-op ext_proc': extProcPort });
  } catch (err) {
    await stop();
    throw err;
  }
  return { extAuthzPort, extProcPort, stop };
}
