import { Writable } from 'node:stream';
import { pino } from 'pino';
import { REDACTED_PATHS, type Logger } from '../../common/logger.ts';

/** A real pino logger (same redaction as production) whose lines tests can read back. */
export function capturedLogger(name: string): { logger: Logger; lines: string[]; text(): string } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const logger = pino({ name, level: 'debug', redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, sink);
  return { logger, lines, text: () => lines.join('\n') };
}
