/**
 * The contract of a reporter: it shows the events of a run, and never drives the work.
 */
import type { TandemEvent } from '../../src/events.ts';

/** Events that come from the command line rather than the library. */
export type RunnerEvent =
  /** The first Ctrl-C: training stops after the current step. */
  { type: 'stop-requested' };

export type ReporterEvent = TandemEvent | RunnerEvent;

export interface Reporter {
  /** Show one event; called synchronously, in order. */
  emit(event: ReporterEvent): void;
  /** Write the last output and give the terminal back. Calling it again does nothing. */
  close(): void;
}

/** The values of `--ui`. */
export const UI_KINDS = ['ink', 'plain', 'json'] as const;
export type UiKind = (typeof UI_KINDS)[number];
