/**
 * The messages that a trial process sends to the sweep process over its IPC channel, and the exit codes
 * that report its outcome when the channel is gone.
 */
/** Exit codes of a trial process: those of `tandem run` for the same outcomes. */
export const TRIAL_EXIT_CODES = {
  done: 0,
  failed: 1,
  /** The trial config is invalid; the sweep checks every config first, so this means a bug or an edited file. */
  invalidConfig: 2,
  /** Training stopped because the loss stopped being a finite number. */
  diverged: 3,
  interrupted: 130,
} as const;

/** The outcome of one attempt at a trial, as the trial process reports it. */
export type TrialOutcome = 'done' | 'failed' | 'diverged' | 'interrupted';

export type TrialMessage =
  /** Sent as soon as the run folder exists, so that the sweep can record it before the trial ends. */
  | { type: 'run-folder'; runDir: string }
  /** Sent last, before the process exits. */
  | { type: 'outcome'; outcome: TrialOutcome; reason: string | null };

/** Returns whether a value received over the IPC channel is a TrialMessage. */
export function isTrialMessage(value: unknown): value is TrialMessage {
  if (value === null || typeof value !== 'object') return false;
  const message = value as { type?: unknown };
  return message.type === 'run-folder' || message.type === 'outcome';
}
