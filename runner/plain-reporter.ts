/**
 * Turns progress events into plain text lines: one per epoch, plus a few lines at the start and the end.
 */
import type { TandemEvent } from '../src/events.ts';

const format = (value: number, digits = 3) => value.toFixed(digits);

function millions(count: number): string {
  return `${(count / 1e6).toFixed(2)}M`;
}

/** Return the line to print for `event`, or null for events that get no line of their own. */
export function formatEvent(event: TandemEvent): string | null {
  switch (event.type) {
    case 'run-start':
      return `run ${event.experiment} on backend ${event.backend}, writing to ${event.runDir}`;
    case 'data-loaded':
      return (
        `data: ${event.images} images of ${event.patients} patients, classes ${event.classes.join(', ')}; ` +
        `train ${event.counts.train}, validation ${event.counts.validation}, test ${event.counts.test}; ` +
        `vocabulary ${event.vocabularySize} tokens (${event.seconds.toFixed(1)} s)`
      );
    case 'model-built': {
      const parts = Object.entries(event.parametersByPart)
        .map(([part, count]) => `${part} ${millions(count)}`)
        .join(', ');
      return `model: ${millions(event.parameters)} parameters (${parts})`;
    }
    case 'epoch-end': {
      const width = String(event.epochs).length;
      const v = event.validation;
      return (
        `epoch ${String(event.epoch).padStart(width)}/${event.epochs}  ` +
        `loss ${format(event.trainLoss, 4)}  train acc ${format(event.trainAccuracy)}  ` +
        `val loss ${format(v.loss, 4)}  val acc ${format(v.accuracyWithoutText)} without text, ` +
        `${format(v.accuracyWithText)} with text  ${event.seconds.toFixed(1)} s${event.best ? '  best' : ''}`
      );
    }
    case 'evaluation':
      return `test (${event.samples} images) ${event.withText ? 'with' : 'without'} text: accuracy ${format(event.accuracy)}`;
    case 'warning':
      return `warning: ${event.message}`;
    case 'run-end':
      return `done in ${event.seconds.toFixed(0)} s; best epoch ${event.bestEpoch}; results in ${event.runDir}`;
    default:
      return null;
  }
}

/** A listener that writes each formatted event to `write`, one line each. */
export function plainReporter(write: (line: string) => void): (event: TandemEvent) => void {
  return (event) => {
    const line = formatEvent(event);
    if (line !== null) write(line);
  };
}
