import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Header and field names whose values are credentials. pino's redaction censors them wherever they
 * appear in a logged object, whatever else the configuration says.
 */
export const REDACTED_PATHS = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
  'secret',
  '*.secret',
  'password',
  '*.password',
];

export function createLogger(name: string, options: LoggerOptions = {}): Logger {
  return pino({
    name,
    level: process.env.SLUICE_LOG_LEVEL ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { service: name },
    ...options,
  });
}

/** A logger that discards everything, for unit tests that do not inspect logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
