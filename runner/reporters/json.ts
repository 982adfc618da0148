/**
 * JSON lines for programs: every event as one object with its time, in the shape of the run folder's
 * events.ndjson, plus the command line's own events (`stop-requested`).
 */
import { STOP_REQUESTED } from './messages.ts';
import type { Reporter } from './reporter.ts';

/** Create a reporter that writes JSON lines to `output` and notices for the person at the terminal to `notice`. */
export function jsonReporter(
  output: (line: string) => void,
  notice: (line: string) => void,
  now: () => Date = () => new Date(),
): Reporter {
  return {
    emit(event) {
      output(JSON.stringify({ time: now().toISOString(), ...event }));
      if (event.type === 'stop-requested') notice(STOP_REQUESTED);
    },
    close() {},
  };
}
