/**
 * Every error Sluice raises on purpose is a SluiceError with a stable `code`. Callers and tests
 * branch on the code, never on message text. Messages are written for operators and must never
 * contain a token or a secret. docs/errors.md lists every code; a test keeps it complete.
 */
export class SluiceError extends Error {
  readonly code: string;
  /** Extra, non-secret fields that help an operator (file, line, claim, issuer, ...). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = Object.freeze({ ...(options.details ?? {}) });
  }
}

export function isSluiceError(err: unknown): err is SluiceError {
  return err instanceof SluiceError;
}

/** A short, safe description of an unknown thrown value, for logs. */
export function describeError(err: unknown): { code: string; message: string } {
  if (err instanceof SluiceError) return { code: err.code, message: err.message };
  if (err instanceof Error) return { code: 'ERR_INTERNAL', message: err.message };
  return { code: 'ERR_INTERNAL', message: String(err) };
}
