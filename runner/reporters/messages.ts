/**
 * Messages of `tandem run` about Ctrl-C, the same on every reporter.
 */
import path from 'node:path';
import { RUN_FILES } from '../../src/artifacts/files.ts';
import type { TandemEvent } from '../../src/events.ts';

type RunInterrupted = Extract<TandemEvent, { type: 'run-interrupted' }>;

export const STOP_REQUESTED = 'Stopping after the current step; press Ctrl-C again to quit at once.';

/** Build the message after a run stopped at the first Ctrl-C: what its run folder keeps and how to go on. */
export function interruptedMessage(event: RunInterrupted): string {
  const keptFiles = [
    'the resolved config',
    'the data split',
    event.completedEpochs === 0 ? 'an empty training history' : 'the history of the finished epochs',
    ...(event.checkpointEpoch === null ? [] : [`the checkpoint of epoch ${event.checkpointEpoch}`]),
    'the event log',
    `${RUN_FILES.run.name} with status "interrupted"`,
  ];
  const resume =
    event.checkpointEpoch === null
      ? 'No checkpoint was written yet; to start training over in the same folder, run:'
      : `To go on after epoch ${event.checkpointEpoch}, run:`;
  // Prose lines fit an 80-column terminal; the folder and the command stay whole so that they can be copied.
  return [
    ...wrapWords(`Interrupted during epoch ${event.completedEpochs + 1} of ${event.epochs}; no test metrics were written.`, 80),
    ...wrapWords(`The run folder keeps ${keptFiles.slice(0, -1).join(', ')} and ${keptFiles.at(-1)}:`, 80),
    `  ${event.runDir}`,
    ...wrapWords(resume, 80),
    `  tandem run --resume ${quoteIfNeeded(event.runDir)}`,
  ].join('\n');
}

/** Build the message of the second Ctrl-C, which quits without waiting for the current step. */
export function quitMessage(runDir: string | null): string {
  if (runDir === null) return 'Quit at once, before the run folder was created.';
  return `Quit at once. ${runDir} keeps the files written so far; its ${RUN_FILES.run.name} still says "running".`;
}

/** Break `text` at spaces into lines of at most `width` characters, where its words allow. */
function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** Quote `file` for a POSIX shell unless it needs no quoting. */
function quoteIfNeeded(file: string): string {
  return /^[\w./+:@-]+$/.test(file) ? file : `'${file.replace(/'/g, `'\\''`)}'`;
}

/** Path of a run folder's event log. */
export function eventLogPath(runDir: string): string {
  return path.join(runDir, RUN_FILES.events.name);
}

/** Returns the heading of a sweep's last line: done when every trial completed, else interrupted or ended. */
export function sweepEndWord(end: { interrupted: number; failed: number }): string {
  if (end.interrupted > 0) return 'sweep interrupted';
  return end.failed > 0 ? 'sweep ended' : 'sweep done';
}
