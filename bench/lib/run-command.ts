import { execFile } from 'node:child_process';

/** Runs a load generator (pgbench, redis-benchmark, …) to its end; stdout + stderr, or a rejection naming the command. */
export function runCommand(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 600_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${stderr || err.message}`));
      else resolve(stdout + stderr);
    });
  });
}
