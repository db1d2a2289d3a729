export interface Command {
  summary: string;
  /** Resolves with the exit code, or -1 for a long-running command that exits on its own. */
  run(args: string[]): Promise<number>;
}
