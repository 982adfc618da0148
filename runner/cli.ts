/**
 * The `tandem` command line: global options, dispatch to a subcommand, and the mapping of errors to
 * messages and exit codes.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RUN_FILES } from '../src/artifacts/files.ts';
import { TandemError } from '../src/errors.ts';
import { describeOptionError, EXIT, UsageError } from './command.ts';
import { COMMANDS } from './commands/index.ts';

function helpText(): string {
  // Each column is as wide as its longest entry plus two spaces, so no entry runs into its description.
  const usageWidth = Math.max(...COMMANDS.map((c) => c.usage.length)) + 2;
  const commands = COMMANDS.map((c) => `  ${c.usage.padEnd(usageWidth)}${c.summary}`).join('\n');
  const fileWidth = Math.max(...Object.values(RUN_FILES).map((file) => file.name.length)) + 2;
  const files = Object.values(RUN_FILES)
    .map((file) => `  ${file.name.padEnd(fileWidth)}${file.description}`)
    .join('\n');
  return `Usage: tandem <command> [options]

Commands:
${commands}

Options:
  -h, --help                        Show this help, or a command's help after its name.
  -v, --version                     Show the version.

Environment:
  TANDEM_DATA_ROOT                  Data set folder; overrides data.root in the config.
  CI                                When set, tandem run prints plain lines instead of the live screen.
  NO_COLOR                          When set and not empty, the live screen uses no colors or styles.

Files of a run folder:
${files}

Exit codes:
  0    success
  1    the run failed (missing data, unreadable image, file system error), or tandem check found a
       metric outside its tolerance
  2    invalid command line or config
  3    training diverged (a NaN or infinite loss or weight); the run folder keeps the checkpoint of the
       last finished epoch, if one finished
  130  interrupted with Ctrl-C: the first stops after the current training step and keeps the run
       folder with its history; a second quits at once, keeping what was written so far
`;
}

function commandHelp(name: string): string {
  const command = COMMANDS.find((c) => c.name === name)!;
  return `Usage: tandem ${command.usage}\n\n${command.summary}\n${command.options ? `\nOptions:\n${command.options}\n` : ''}`;
}

function version(): string {
  const manifest = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../package.json');
  return JSON.parse(readFileSync(manifest, 'utf8')).version;
}

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    if (first === 'help' && rest[0] && COMMANDS.some((c) => c.name === rest[0])) {
      process.stdout.write(commandHelp(rest[0]));
      return EXIT.ok;
    }
    process.stdout.write(helpText());
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  if (first === '-v' || first === '--version') {
    process.stdout.write(`${version()}\n`);
    return EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === first);
  if (!command) {
    const known = COMMANDS.map((c) => c.name).join(', ');
    process.stderr.write(`Unknown command "${first}". Known commands: ${known}.\nRun \`tandem --help\` for the usage.\n`);
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(commandHelp(command.name));
    return EXIT.ok;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    // parseArgs reports unknown options and missing values with these codes.
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (error instanceof UsageError || code.startsWith('ERR_PARSE_ARGS')) {
      const message = error instanceof UsageError ? error.message : describeOptionError(error as Error, command.name);
      process.stderr.write(`${message}\nUsage: tandem ${command.usage}\n`);
      return EXIT.usage;
    }
    throw error;
  }
}

// A reader that stops early, such as `tandem check ... | head`, closes the pipe. The rest of the output has
// no reader then, so end without a stack trace, with the shell's exit status for SIGPIPE (128 + 13).
// NOTE: a run that ends this way keeps status "running" in its run.json; `tandem run --resume` continues it.
const EXIT_BROKEN_PIPE = 141;
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? EXIT_BROKEN_PIPE);
    throw error;
  });
}

try {
  process.exitCode = await main(process.argv.slice(2));
  // Everything is written by now, and stdout and stderr are synchronous on Linux, so ending the process
  // here loses nothing even if a worker thread or the screen still keeps the event loop alive.
  // Tests in tmux saw the process stay, now and then, after an early Ctrl-C on the Ink screen. A shell
  // around the command later read exit status 130 in 12 of 12 tries. This points to tmux, which left the
  // ended process unreaped. The exit here stays as a guard.
  if (process.exitCode === EXIT.interrupted) process.exit(EXIT.interrupted);
} catch (error) {
  if (error instanceof TandemError) {
    process.stderr.write(`${error.message}\n`);
    process.exitCode = error.exitCode;
  } else {
    // Anything else is a bug in tandem: keep the stack for the report.
    process.stderr.write(`Internal error (please report it with the command you ran):\n${(error as Error).stack ?? error}\n`);
    process.exitCode = EXIT.failed;
  }
}
