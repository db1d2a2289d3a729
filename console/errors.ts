import { SluiceError } from '../common/errors.ts';

/**
 * What the console refuses on purpose. The status of each code is in common/error-codes.ts; the
 * console's edge (register.ts) looks it up there and answers with a page or JSON.
 */
export const CONSOLE_ERROR_CODES = [
  'ERR_CONSOLE_SIGNIN_REQUIRED',
  'ERR_CONSOLE_SIGNIN_FAILED',
  'ERR_CONSOLE_CSRF',
  'ERR_CONSOLE_FORBIDDEN',
  'ERR_CONSOLE_INVALID',
  'ERR_CONSOLE_ISSUER_UNAVAILABLE',
] as const;

export type ConsoleErrorCode = (typeof CONSOLE_ERROR_CODES)[number];

export class ConsoleError extends SluiceError {
  declare readonly code: ConsoleErrorCode;

  constructor(code: ConsoleErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(code, message, options);
  }
}
