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
