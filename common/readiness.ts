import { describeError, SluiceError } from './errors.ts';
import type { Logger } from './logger.ts';

/** What a readiness check reports. `detail` is shown to whoever calls /readyz: keep it free of secrets. */
export interface ReadinessResult {
  ok: boolean;
  detail?: string;
}

export type ReadinessCheck = () => Promise<ReadinessResult>;

export interface ReadinessReport {
  ready: boolean;
  checks: { name: string; ok: boolean; detail?: string }[];
}

/** A check that takes longer than this is not ready: a probe must answer well inside its own timeout. */
export const DEFAULT_CHECK_TIMEOUT_MS = 2000;

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** The named checks a service registered; all of them run, concurrently, on every /readyz. */
export class Readiness {
  readonly #checks = new Map<string, ReadinessCheck>();

  constructor(private readonly options: { logger: Logger; timeoutMs?: number }) {}

  /** Throws ERR_ADMIN_ROUTE_INVALID for a bad or duplicate name, at boot rather than at probe time. */
  add(name: string, check: ReadinessCheck): void {
    if (!NAME.test(name)) throw new SluiceError('ERR_ADMIN_ROUTE_INVALID', `readiness check name "${name}" must be lower-case letters, digits, ".", "_" or "-"`);
    if (this.#checks.has(name)) throw new SluiceError('ERR_ADMIN_ROUTE_INVALID', `readiness check "${name}" is already registered`);
    this.#checks.set(name, check);
  }

  async run(): Promise<ReadinessReport> {
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
    const checks = await Promise.all([...this.#checks].map(async ([name, check]) => ({ name, ...(await this.runOne(name, check, timeoutMs)) })));
    return { ready: checks.every((c) => c.ok), checks };
  }

  private async runOne(name: string, check: ReadinessCheck, timeoutMs: number): Promise<ReadinessResult> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<ReadinessResult>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
    });
    try {
      const result = await Promise.race([Promise.resolve().then(check), timeout]);
      if (!result.ok) this.options.logger.warn({ check: name, detail: result.detail }, 'readiness check failed');
      return result.detail === undefined ? { ok: result.ok === true } : { ok: result.ok === true, detail: String(result.detail) };
    } catch (err) {
      // The thrown error may name hosts, paths or worse: it goes to the log, the probe sees a fixed line.
      this.options.logger.warn({ check: name, err: describeError(err) }, 'readiness check threw');
      return { ok: false, detail: 'check failed; see the service log' };
    } finally {
      clearTimeout(timer);
    }
  }
}
