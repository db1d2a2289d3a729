import { describeError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import { RestartBackoff } from './restart-backoff.ts';

/** One run of a child: a process that is up (started() resolved) until `exited` resolves. */
export interface ChildRun {
  pid: number;
  /** Resolves once the process has exited, whoever ended it. */
  exited: Promise<{ code: number | null; signal: string | null }>;
  /** Asks it to stop, then kills it after `graceMs`; resolves once it has exited. */
  stop(graceMs: number): Promise<void>;
}

export type ChildState = 'starting' | 'running' | 'restarting' | 'stopped';

export interface ChildStatus {
  name: string;
  state: ChildState;
  pid: number | null;
  restarts: number;
  /** The last unplanned exit, if any: when, and how it ended. */
  lastExit: { at: string; code: number | null; signal: string | null } | null;
}

export interface SupervisedOptions<R extends ChildRun> {
  name: string;
  /** Starts one run and resolves once it is up; rejects if it could not start. */
  start(): Promise<R>;
  logger: Logger;
  backoff?: RestartBackoff;
  /** Called after each successful (re)start with the new run. */
  onRun?(run: R): void;
}

/**
 * Keeps one child running: the first start must succeed (a config or port problem stops the
 * gateway with its message), after that an exit nobody asked for is logged and the child is
 * started again after a backoff delay. A start that fails during a restart counts as another
 * exit. stop() ends the loop and the child.
 */
export class Supervised<R extends ChildRun> {
  readonly name: string;
  #state: ChildState = 'starting';
  #run: R | undefined;
  #restarts = 0;
  #lastExit: ChildStatus['lastExit'] = null;
  #stopping = false;
  #timer: NodeJS.Timeout | undefined;
  readonly #backoff: RestartBackoff;

  constructor(private readonly options: SupervisedOptions<R>) {
    this.name = options.name;
    this.#backoff = options.backoff ?? new RestartBackoff();
  }

  /** The current run, while one is up. */
  get run(): R | undefined {
    return this.#state === 'running' ? this.#run : undefined;
  }

  status(): ChildStatus {
    return { name: this.name, state: this.#state, pid: this.run?.pid ?? null, restarts: this.#restarts, lastExit: this.#lastExit };
  }

  /** The first start; rejects (and leaves nothing running) if the child cannot start. */
  async start(): Promise<R> {
    const run = await this.options.start();
    this.#adopt(run);
    return run;
  }

  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#timer);
    this.#state = 'stopped';
    await this.#run?.stop(graceMs);
  }

  #adopt(run: R): void {
    this.#run = run;
    this.#state = 'running';
    this.#backoff.started();
    this.options.onRun?.(run);
    void run.exited.then((exit) => this.#exited(run, exit));
  }

  #exited(run: R, exit: { code: number | null; signal: string | null }): void {
    if (this.#stopping || run !== this.#run) return;
    this.#lastExit = { at: new Date().toISOString(), ...exit };
    const delayMs = this.#backoff.exited();
    this.#state = 'restarting';
    this.options.logger.error({ child: this.name, pid: run.pid, ...exit, restartInMs: delayMs, failures: this.#backoff.failures }, `${this.name} exited; restarting`);
    this.#schedule(delayMs);
  }

  #schedule(delayMs: number): void {
    this.#timer = setTimeout(() => void this.#restart(), delayMs);
  }

  async #restart(): Promise<void> {
    if (this.#stopping) return;
    try {
      const run = await this.options.start();
      if (this.#stopping) {
        await run.stop(0);
        return;
      }
      this.#restarts++;
      this.options.logger.info({ child: this.name, pid: run.pid, restarts: this.#restarts }, `${this.name} restarted`);
      this.#adopt(run);
    } catch (err) {
      if (this.#stopping) return;
      const delayMs = this.#backoff.exited();
      this.options.logger.error({ child: this.name, err: describeError(err), restartInMs: delayMs }, `${this.name} did not start; retrying`);
      this.#schedule(delayMs);
    }
  }
}
