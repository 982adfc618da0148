/**
 * The contract of a `tandem` subcommand. Each command lives in its own module under runner/commands/
 * and is listed once in runner/commands/index.ts.
 */

/** Process exit codes shared by every command, also listed in `tandem --help`. */
export const EXIT = { ok: 0, failed: 1, usage: 2, diverged: 3, interrupted: 130 } as const;

export interface Command {
  /** The word after `tandem`. */
  name: string;
  /** Usage line shown in the help, e.g. "run <config.yaml> [options]". */
  usage: string;
  /** One or two sentences for the command list. */
  summary: string;
  /** Option lines shown under the command in `tandem <command> --help`. */
  options?: string;
  /** Run the command with the arguments after its name; returns the exit code. */
  run(args: string[]): Promise<number>;
}

/** An error in the command line itself: the CLI prints the message and the usage, and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Rewords the errors of node:util's parseArgs, which suggest "--" for an unknown option and name a
 * missing value as "argument missing", into a message that names the option and the fix.
 */
export function describeOptionError(error: Error, commandName: string): string {
  const help = `Run \`tandem ${commandName} --help\` for its options.`;
  const unknown = /^Unknown option '([^']+)'/.exec(error.message);
  if (unknown) return `tandem ${commandName} has no option ${unknown[1]}. ${help}`;
  const missing = /^Option '(\S+)(?: <value>)?' argument missing/.exec(error.message);
  if (missing) return `Option ${missing[1]} needs a value: write ${missing[1]} <value>. ${help}`;
  const positional = /^Unexpected argument '([^']+)'/.exec(error.message);
  if (positional) return `tandem ${commandName} takes no argument "${positional[1]}" here. ${help}`;
  return `${error.message} ${help}`;
}
