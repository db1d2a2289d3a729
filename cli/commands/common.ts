import { mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { ConfigStore, loadConfig, type ConfigSubscriber, type SluiceConfig } from '../../common/config.ts';
import { createLogger, type Logger } from '../../common/logger.ts';
import { UsageError } from './usage-error.ts';
import { drainSettings, type DrainConfig } from '../../common/config/drain.ts';
import type { DrainSettings } from '../../common/grpc-server.ts';

export const DEV_CONFIG = fileURLToPath(new URL('../../deploy/sluice.dev.yaml', import.meta.url));
export const REPO_POLICIES = fileURLToPath(new URL('../../policies/', import.meta.url));

/** parseArgs with strict checking, so a mistyped flag is an error rather than silently ignored. */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, allowPositionals = false) {
  return parseArgs({ args, options, strict: true, allowPositionals });
}

export function readConfig(file: string | undefined, fallback?: string): SluiceConfig {
  const chosen = file ?? process.env.SLUICE_CONFIG ?? fallback;
  if (!chosen) throw new UsageError('no config file: pass --config <sluice.yaml> or set SLUICE_CONFIG');
  return loadConfig(chosen);
}

/** How long a decision line may wait in the buffer before it is written: audit lines are evidence. */
export const DECISION_LOG_FLUSH_MS = 1000;

/**
 * The service logger and the decision log (stdout, or a file of JSON lines, resolved from the
 * config file's folder like its other paths). Writes are buffered (one syscall per ~4 KiB of
 * decisions instead of one per request) but never held longer than DECISION_LOG_FLUSH_MS, and the
 * buffer is flushed on every way out: flush() on shutdown, and synchronously at process exit.
 */
export function serviceLoggers(config: SluiceConfig, name: string): { logger: Logger; decisionLog: Logger; flush(): void } {
  const logger = createLogger(name, { level: config.log.level });
  // The file is opened here, synchronously: opened asynchronously (pino's default), a crash before
  // the open completed lost every buffered line, since the exit flush had nothing to write to.
  const dest = config.log.decisionLog === 'stdout' ? 1 : openForAppend(path.resolve(config.baseDir, config.log.decisionLog));
  const destination = pino.destination({ dest, sync: false, minLength: 4096 });
  // No redaction pass here: decision lines are built field by field from non-secret values
  // (ext-authz/decision-log.ts), and scanning every line for secret paths cost ~5% of a check.
  const decisionLog = pino({ name: 'decision', level: 'info', base: { log: 'decision' } }, destination);
  const flush = () => {
    try {
      destination.flushSync();
    } catch {
      // Nothing buffered yet, or the destination is not open: nothing to lose.
    }
  };
  const timer = setInterval(flush, DECISION_LOG_FLUSH_MS);
  timer.unref();
  process.once('exit', flush);
  return { logger, decisionLog, flush };
}

function openForAppend(file: string): number {
  mkdirSync(path.dirname(file), { recursive: true });
  return openSync(file, 'a');
}

/** Runs `stop` once on SIGINT/SIGTERM, then exits. */
export function onShutdown(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    stop().finally(() => process.exit(0));
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}

/**
 * Watches sluice.yaml for a service run on its own: each subscriber applies what it owns (policy
 * targets, credentials, masking) when the file changes. Returns the store to close on shutdown.
 */
export function followConfig(config: SluiceConfig, logger: Logger, subscribers: ConfigSubscriber[], policies?: { onReload(listener: (r: { ok: boolean }) => void): unknown }): ConfigStore {
  const store = new ConfigStore(config, logger);
  for (const subscriber of subscribers) store.subscribe(subscriber);
  // An edit refused because policies still named what it drops may apply once they change.
  policies?.onReload((result) => void (result.ok && store.retryRefused()));
  return store.watch();
}

/** A port given on the command line; a bad one is a usage error (exit 2), like a mistyped flag. */
export function port(value: string, option: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) {
    throw new UsageError(`${option} must be a port number (0-65535), got "${value}"`);
  }
  return n;
}

/**
 * The DEVELOPMENT issuer as a trusted issuer, when the config enables dev mode: it listens on
 * dev.issuerPort (started by `sluice gateway`/`sluice dev`), so a service run as a child of the
 * gateway trusts the tokens `sluice token` mints.
 */
export function devIssuers(config: SluiceConfig): unknown[] {
  if (!config.dev.enabled) return [];
  return [{ name: 'dev', issuer: `http://127.0.0.1:${config.dev.issuerPort}`, audiences: [config.dev.audience] }];
}

/** A duration in seconds given on the command line ("5s", "0.5s"), in ms; a bad one is a usage error. */
export function seconds(value: string, option: string): number {
  if (!/^[0-9]+(\.[0-9]{1,3})?s$/.test(value)) throw new UsageError(`${option} must be a duration in seconds such as "5s", got "${value}"`);
  return Math.round(Number.parseFloat(value) * 1000);
}

/** The service's drain on SIGTERM: sluice.yaml's, with the delay a supervisor may override. */
export function drainFor(config: DrainConfig, delayFlag: string | undefined): DrainSettings {
  const settings = drainSettings(config);
  return delayFlag === undefined ? settings : { ...settings, delayMs: seconds(delayFlag, '--drain-delay') };
}
