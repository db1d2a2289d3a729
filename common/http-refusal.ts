import { SluiceError } from './errors.ts';

/**
 * A refusal a component decides on purpose: the admin server answers with exactly this status,
 * code and message (and headers). Anything else a handler throws is a 500 ERR_INTERNAL whose
 * detail goes to the log only. Components translate their own typed errors into this at their
 * edge (see ext-authz/approvals/api-errors.ts), so the status table lives in one place per
 * component and never at a throw site deep in a store.
 */
export class HttpRefusal extends SluiceError {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, code: string, message: string, options: { headers?: Record<string, string>; cause?: unknown } = {}) {
    super(code, message, options.cause === undefined ? {} : { cause: options.cause });
    this.status = status;
    this.headers = Object.freeze({ ...(options.headers ?? {}) });
  }
}

export function isHttpRefusal(err: unknown): err is HttpRefusal {
  return err instanceof HttpRefusal;
}
