/**
 * Errors caused by the user's input (a config value, the data, the file system). The CLI prints their
 * message without a stack trace and exits with `exitCode`; any other error is a bug and keeps its stack.
 */
export class TandemError extends Error {
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number;

  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'TandemError';
    this.exitCode = options.exitCode ?? 1;
  }
}

/** A problem with the data set: a missing root, an unreadable image, a malformed metadata file. */
export class DataError extends TandemError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { exitCode: 1, ...options });
    this.name = 'DataError';
  }
}
