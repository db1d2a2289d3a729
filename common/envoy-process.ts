import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SluiceError } from './errors.ts';
import { resolveEnvoyBinary, type EnvoyBinary } from './envoy-bin.ts';

export interface EnvoyStartOptions {
  /** Rendered Envoy YAML. Ports may be 0: the bound ones are read back from the admin API. */
  config: string;
  binary?: EnvoyBinary;
  logLevel?: string;
  /** Where Envoy's own log goes; a temp file by default (kept on failure for the error message). */
  logFile?: string;
  concurrency?: number;
  startTimeoutMs?: number;
  /** More Envoy flags, e.g. ['--component-log-level', 'ext_proc:debug'] while investigating. */
  extraArgs?: string[];
  /**
   * Runs Envoy in a process group of its own, so a signal to the caller's group (Ctrl-C in a
   * terminal) does not reach it: the caller drains and stops it (sluice gateway).
   */
  ownProcessGroup?: boolean;
  /**
   * Hot restart instead of `--disable-hot-restart`: epoch 0 picks a free base id (read back as
   * `baseId`); a later epoch with the same base id takes over the running Envoy's listening
   * sockets, and that one drains for `drainTimeS` and exits after `parentShutdownTimeS`, so a
   * restart refuses no connection. Listener ports must then be fixed (not 0).
   */
  hotRestart?: { epoch: number; baseId?: number; drainTimeS: number; parentShutdownTimeS: number };
}

export interface RunningEnvoy {
  adminUrl: string;
  /** Bound port of each listener, by listener name. */
  listeners: Record<string, number>;
  logFile: string;
  pid: number;
  /** With hot restart: the base id a next epoch must be started with. */
  baseId?: number;
  /** Resolves with the exit code when Envoy exits, for whatever reason. */
  exited: Promise<number>;
  stop(): Promise<void>;
}

/** Checks a rendered config with `envoy --mode validate`; throws with Envoy's own message. */
export function validateEnvoyConfig(config: string, binary: EnvoyBinary = resolveEnvoyBinary()): void {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-envoy-validate-'));
  try {
    const file = path.join(dir, 'envoy.yaml');
    writeFileSync(file, config);
    const result = spawnSync(binary.path, ['--mode', 'validate', '-c', file, '--log-level', 'error'], { encoding: 'utf8', timeout: 60_000 });
    if (result.status !== 0) {
      throw new SluiceError('ERR_ENVOY_CONFIG_INVALID', `envoy rejected the config: ${(result.stderr || result.stdout).trim().slice(-2000)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Starts a local Envoy and waits until it is LIVE and its listeners are bound. */
export async function startEnvoy(options: EnvoyStartOptions): Promise<RunningEnvoy> {
  const binary = options.binary ?? resolveEnvoyBinary();
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-envoy-'));
  const configFile = path.join(dir, 'envoy.yaml');
  const adminAddressFile = path.join(dir, 'admin-address');
  const logFile = options.logFile ?? path.join(dir, 'envoy.log');
  const baseIdFile = path.join(dir, 'base-id');
  writeFileSync(configFile, options.config);
  const log = createWriteStream(logFile);
  const child: ChildProcess = spawn(binary.path, [
    '-c', configFile,
    '--admin-address-path', adminAddressFile,
    // Several Envoys run side by side in tests and benches; hot restart's shared memory would collide
    // unless each has a base id of its own.
    ...hotRestartArgs(options.hotRestart, baseIdFile),
    '--concurrency', String(options.concurrency ?? 1),
    '--log-level', options.logLevel ?? 'warn',
    ...(options.extraArgs ?? []),
  ], { stdio: ['ignore', 'pipe', 'pipe'], detached: options.ownProcessGroup === true });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  let exited: number | null = null;
  const exitedPromise = new Promise<number>((resolve) => {
    child.once('exit', (code) => {
      exited = code ?? -1;
      resolve(exited);
    });
  });

  const stop = async () => {
    if (exited === null) {
      child.kill('SIGTERM');
      const deadline = Date.now() + 5000;
      while (exited === null && Date.now() < deadline) await sleep(20);
      if (exited === null) child.kill('SIGKILL');
    }
    log.end();
    rmSync(configFile, { force: true });
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
  try {
    while (!existsSync(adminAddressFile) || readFileSync(adminAddressFile, 'utf8').trim() === '') {
      if (exited !== null) throw new Error(`envoy exited with code ${exited}`);
      if (Date.now() > deadline) throw new Error('envoy did not publish its admin address in time');
      await sleep(25);
    }
    const adminUrl = `http://${readFileSync(adminAddressFile, 'utf8').trim()}`;
    while (true) {
      if (exited !== null) throw new Error(`envoy exited with code ${exited}`);
      if (Date.now() > deadline) throw new Error('envoy did not become ready in time');
      const ready = await fetch(`${adminUrl}/ready`).then((r) => r.text(), () => '');
      if (ready.trim() === 'LIVE') break;
      await sleep(25);
    }
    const listeners = await readListeners(adminUrl);
    const baseId = options.hotRestart ? options.hotRestart.baseId ?? Number(readFileSync(baseIdFile, 'utf8').trim()) : undefined;
    return { adminUrl, listeners, logFile, pid: child.pid ?? -1, exited: exitedPromise, stop, ...(baseId === undefined ? {} : { baseId }) };
  } catch (err) {
    await stop();
    const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-3000) : '';
    throw new SluiceError('ERR_ENVOY_START', `${(err as Error).message}\n${tail}`, { cause: err });
  }
}

async function readListeners(adminUrl: string): Promise<Record<string, number>> {
  const body = (await (await fetch(`${adminUrl}/listeners?format=json`)).json()) as {
    listener_statuses?: { name: string; local_address?: { socket_address?: { port_value?: number } } }[];
  };
  const out: Record<string, number> = {};
  for (const status of body.listener_statuses ?? []) {
    out[status.name] = status.local_address?.socket_address?.port_value ?? 0;
  }
  return out;
}

function hotRestartArgs(hot: EnvoyStartOptions['hotRestart'], baseIdFile: string): string[] {
  if (!hot) return ['--disable-hot-restart'];
  const base = hot.baseId === undefined ? ['--use-dynamic-base-id', '--base-id-path', baseIdFile] : ['--base-id', String(hot.baseId)];
  return [...base, '--restart-epoch', String(hot.epoch), '--drain-time-s', String(hot.drainTimeS), '--parent-shutdown-time-s', String(hot.parentShutdownTimeS), '--drain-strategy', 'immediate'];
}
