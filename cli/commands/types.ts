/** A `sluice` subcommand. Its summary lives in the registry (index.ts), which loads it lazily. */
export interface Command {
  /** Resolves with the exit code, or -1 for a long-running command that exits on its own. */
  run(args: string[]): Promise<number>;
}
