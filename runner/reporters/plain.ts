/**
 * Plain text lines for logs and pipes: one per epoch and per trial, plus a few at the start and the end.
 * No escape codes, so a CI log stays readable.
 */
import type { TandemEvent } from '../../src/events.ts';
import { eventLogPath, STOP_REQUESTED, sweepEndWord } from './messages.ts';
import type { Reporter } from './reporter.ts';

const format = (value: number, digits = 3) => value.toFixed(digits);

function millions(count: number): string {
  return `${(count / 1e6).toFixed(2)}M`;
}

/**
 * Return the line to print for `event`, or null for events that get no line of their own. `sweepMetric` is
 * the headline metric's name from the sweep's `sweep-start`.
 */
export function formatEvent(event: TandemEvent, sweepMetric: string | null = null): string | null {
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
      const withText = v.accuracyWithText === null ? ' (the model reads no text)' : `, ${format(v.accuracyWithText)} with text`;
      return (
        `epoch ${String(event.epoch).padStart(width)}/${event.epochs}  ` +
        `loss ${format(event.trainLoss, 4)}  train acc ${format(event.trainAccuracy)}  ` +
        `val loss ${format(v.loss, 4)}  val acc ${format(v.accuracyWithoutText)} without text${withText}  ` +
        `${event.seconds.toFixed(1)} s${event.best ? '  best' : ''}`
      );
    }
    case 'evaluation':
      return `test (${event.samples} images) ${event.withText ? 'with' : 'without'} text: accuracy ${format(event.accuracy)}`;
    case 'warning':
      return `warning: ${event.message}`;
    case 'error':
      // The command line prints the message itself on stderr, so this line only names the event log.
      return `run failed; its event log is ${eventLogPath(event.runDir)}`;
    case 'run-end':
      return `done in ${event.seconds.toFixed(0)} s; best epoch ${event.bestEpoch}; results in ${event.runDir}`;
    case 'run-diverged':
      return `diverged in epoch ${event.epoch} at step ${event.step}: ${event.reason}; run folder ${event.runDir}`;
    case 'run-interrupted':
      return `interrupted after ${event.completedEpochs} of ${event.epochs} epochs (${event.seconds.toFixed(0)} s); run folder ${event.runDir}`;
    case 'sweep-start':
      return `sweep ${event.experiment}: ${event.trials} trials, writing to ${event.sweepDir}`;
    case 'trial-start':
      return `trial ${event.trial}/${event.trials}: ${event.label}`;
    case 'trial-end': {
      const result =
        event.status === 'complete'
          ? `complete, ${sweepMetric ?? 'metric'} ${event.metricValue === null ? '?' : format(event.metricValue)}`
          : event.status === 'failed'
            ? `failed${event.error ? `: ${event.error}` : ''}`
            : event.status;
      return `trial ${event.trial}/${event.trials} ${event.label}: ${result} (${event.seconds.toFixed(0)} s)`;
    }
    case 'sweep-end':
      return (
        `${sweepEndWord(event)} in ${event.seconds.toFixed(0)} s: ${event.complete} complete, ${event.failed} failed, ` +
        `${event.interrupted} interrupted; best trial ${event.bestTrial ?? 'none'}; results in ${event.sweepDir}`
      );
    default:
      return null;
  }
}

/** Create a reporter that writes event lines to `output` and notices for the person at the terminal to `notice`. */
export function plainReporter(output: (line: string) => void, notice: (line: string) => void): Reporter {
  let sweepMetric: string | null = null;
  return {
    emit(event) {
      if (event.type === 'stop-requested') {
        notice(STOP_REQUESTED);
        return;
      }
      if (event.type === 'sweep-start') sweepMetric = event.metric;
      const line = formatEvent(event, sweepMetric);
      if (line !== null) output(line);
    },
    close() {},
  };
}
