/**
 * What a CLI command touches outside itself, injected so tests can capture output and fake the
 * clock, the environment and HTTP. Shared by every command that prints.
 */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
  fetch: typeof globalThis.fetch;
  now(): number;
}

export const PROCESS_IO: CliIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  env: process.env,
  fetch: (input, init) => globalThis.fetch(input, init),
  now: Date.now,
};

export function wantsHelp(args: readonly string[]): boolean {
  return args.includes('--help') || args.includes('-h');
}

export function help(io: Pick<CliIo, 'out'>, text: string): number {
  io.out(text);
  return 0;
}

/** Runs an argument parser; a usage mistake is printed as `sluice: …` and yields undefined. */
export function parseOrReport<T>(io: Pick<CliIo, 'err'>, run: () => T): T | undefined {
  try {
    return run();
  } catch (err) {
    io.err(`sluice: ${(err as Error).message}\n`);
    return undefined;
  }
}
