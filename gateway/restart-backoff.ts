/**
 * How long to wait before restarting a child that exited: doubling from `initialMs` up to
 * `maxMs`, so a child that crashes at once does not spin a core, and back to `initialMs` once a
 * run lasted `stableMs` (a crash after an hour of service is not part of a crash loop).
 */
export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  stableMs?: number;
  now?: () => number;
}

export class RestartBackoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #stableMs: number;
  readonly #now: () => number;
  #startedAt = 0;
  #failures = 0;

  constructor(options: BackoffOptions = {}) {
    this.#initialMs = options.initialMs ?? 250;
    this.#maxMs = options.maxMs ?? 30_000;
    this.#stableMs = options.stableMs ?? 30_000;
    this.#now = options.now ?? Date.now;
  }

  /** The child (re)started now. */
  started(): void {
    this.#startedAt = this.#now();
  }

  /** The child exited now: the delay before the next start. */
  exited(): number {
    if (this.#now() - this.#startedAt >= this.#stableMs) this.#failures = 0;
    const delay = Math.min(this.#maxMs, this.#initialMs * 2 ** this.#failures);
    this.#failures++;
    return delay;
  }

  /** Consecutive exits without a stable run in between. */
  get failures(): number {
    return this.#failures;
  }
}
