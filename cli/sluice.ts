#!/usr/bin/env -S node --import tsx
/**
 * The `sluice` command. Each subcommand lives in its own file under cli/commands/; this file only
 * dispatches and turns errors into a message and an exit code.
 */
import { isSluiceError } from '../common/errors.ts';
import { COMMANDS, usage } from './commands/index.ts';
import { HELP } from './commands/help.ts';
import { UsageError } from './commands/usage-error.ts';

/** Node's util.parseArgs errors (an unknown or ill-typed option): not Sluice codes. */
const NODE_PARSE_ARGS_ERROR = /^ERR_PARSE_ARGS_/;

async function main(argv: string[]): Promise<number> {
  const [first, second, ...rest] = argv;
  if (!first || first === 'help' || first === '--help' || first === '-h') {
    process.stdout.write(usage());
    return first ? 0 : 2;
  }
  const twoWord = second !== undefined ? COMMANDS[`${first} ${second}`] : undefined;
  const command = twoWord ?? COMMANDS[first];
  if (!command) {
    process.stderr.write(`sluice: unknown command "${[first, second].filter(Boolean).join(' ')}"\n\n${usage()}`);
    return 2;
  }
  const name = twoWord ? `${first} ${second}` : first;
  const args = twoWord ? rest : [second, ...rest].filter((a): a is string => a !== undefined);
  const help = HELP[name];
  // Commands without an entry here (approvals, sessions) print their own usage.
  if (help !== undefined && (args.includes('--help') || args.includes('-h'))) {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  try {
    return await (await command.load()).run(args);
  } catch (err) {
    // A mistyped or missing option: say which, show the options, exit 2 (no stack trace).
    const code = (err as { code?: unknown })?.code;
    if ((typeof code === 'string' && NODE_PARSE_ARGS_ERROR.test(code)) || err instanceof UsageError) {
      process.stderr.write(`sluice ${name}: ${(err as Error).message}\n\n${help ?? command.summary}\n`);
      return 2;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => { if (code !== -1) process.exitCode = code; },
  (err: unknown) => {
    if (isSluiceError(err)) process.stderr.write(`sluice: ${err.code}: ${err.message}\n`);
    else process.stderr.write(`sluice: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
