/**
 * Ctrl-C during `tandem run`: the first stops training after the current step, a second quits at once.
 */
import type { EventListener, TandemEvent } from '../../src/events.ts';
import { runExperiment, type RunOptions, type RunSummary } from '../../src/experiment.ts';
import { EXIT } from '../command.ts';
import { interruptedMessage, quitMessage } from './messages.ts';
import type { Reporter } from './reporter.ts';

type RunInterrupted = Extract<TandemEvent, { type: 'run-interrupted' }>;

export interface InterruptOptions {
  reporter: Reporter;
  /** Writes a message for the user (stderr). */
  write: (text: string) => void;
  /** Ends the process with `code`; called on the second Ctrl-C. */
  exit: (code: number) => void;
  /** Exit code of an interrupted run. */
  exitCode: number;
}

export class InterruptHandler {
  private readonly controller = new AbortController();
  private interrupts = 0;
  private runDir: string | null = null;
  private interruption: RunInterrupted | null = null;

  constructor(private readonly options: InterruptOptions) {}

  /** Aborted at the first Ctrl-C; the library checks it between training steps. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The run's event listener: forwards every event to the reporter and notes where the run is kept. */
  readonly listener: EventListener = (event) => {
    if (event.type === 'run-start') this.runDir = event.runDir;
    if (event.type === 'run-interrupted') this.interruption = event;
    this.options.reporter.emit(event);
  };

  /** The SIGINT handler. */
  readonly interrupt = (): void => {
    this.interrupts++;
    if (this.interrupts === 1) {
      this.options.reporter.emit({ type: 'stop-requested' });
      this.controller.abort();
      return;
    }
    // The reporter gives the terminal back first, so that the message stays below the last frame.
    this.options.reporter.close();
    this.options.write(`${quitMessage(this.runDir)}\n`);
    this.options.exit(this.options.exitCode);
  };

  /** Build the message after the run stopped at the first Ctrl-C. */
  interruptedMessage(): string {
    // The library emits run-interrupted whenever a run stops early; this covers a library that does not.
    if (!this.interruption) return 'Interrupted; no test metrics were written.';
    return interruptedMessage(this.interruption);
  }
}

/**
 * Runs one experiment with `reporter` showing its events and Ctrl-C handled as InterruptHandler does, the
 * handler removed and the reporter closed afterwards. After a first Ctrl-C the run comes back with status
 * interrupted, and the message that explains how to resume is already on stderr.
 */
export async function runInterruptible(reporter: Reporter, options: Omit<RunOptions, 'emit' | 'signal'>): Promise<RunSummary> {
  const interrupts = new InterruptHandler({
    reporter,
    write: (text) => process.stderr.write(text),
    exit: (code) => process.exit(code),
    exitCode: EXIT.interrupted,
  });
  process.on('SIGINT', interrupts.interrupt);
  try {
    const summary = await runExperiment({ ...options, emit: interrupts.listener, signal: interrupts.signal });
    // The reporter gives the terminal back before the message, so that it stays below the last frame.
    reporter.close();
    if (summary.status === 'interrupted') process.stderr.write(`${interrupts.interruptedMessage()}\n`);
    return summary;
  } finally {
    process.off('SIGINT', interrupts.interrupt);
    reporter.close();
  }
}
