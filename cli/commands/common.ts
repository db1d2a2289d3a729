import { parseArgs, type ParseArgsConfig } from 'node:util';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { loadConfig, type SluiceConfig } from '../../common/config.ts';
import { createLogger, REDACTED_PATHS, type Logger } from '../../common/logger.ts';

export const DEV_CONFIG = fileURLToPath(new URL('../../deploy/sluice.dev.yaml', import.meta.url));
export const REPO_POLICIES = fileURLToPath(new URL('../../policies/', import.meta.url));

/** parseArgs with strict checking, so a mistyped flag is an error rather than silently ignored. */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, allowPositionals = false) {
  return parseArgs({ args, options, strict: true, allowPositionals });
}

export function readConfig(file: string | undefined, fallback?: string): SluiceConfig {
  const chosen = file ?? process.env.SLUICE_CONFIG ?? fallback;
  if (!chosen) throw new Error('no config file: pass --config <sluice.yaml> or set SLUICE_CONFIG');
  return loadConfig(chosen);
}

/** The service logger and the decision log (stdout, or a file of JSON lines). */
export function serviceLoggers(config: SluiceConfig, name: string): { logger: Logger; decisionLog: Logger } {
  const logger = createLogger(name, { level: config.log.level });
  const destination = config.log.decisionLog === 'stdout' ? pino.destination(1) : pino.destination({ dest: config.log.decisionLog, mkdir: true });
  const decisionLog = pino({ name: 'decision', level: 'info', redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, base: { log: 'decision' } }, destination);
  return { logger, decisionLog };
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
