/**
 * The screen state, a pure function of the events seen so far. The screen's components only read this
 * state, so a scripted list of events always gives the same frames.
 */
import type { SplitCounts, TandemEvent, TrialStatus, ValidationMetrics } from '../../src/events.ts';
import type { ReporterEvent } from '../reporters/reporter.ts';

type EventOf<T extends TandemEvent['type']> = Extract<TandemEvent, { type: T }>;

/** How many finished epochs the table keeps. */
export const RECENT_EPOCHS = 5;

/** Lines written once above the live part of the screen and never redrawn (Ink's `<Static>`). */
export type LogItem =
  | { kind: 'run-header'; key: string; experiment: string; backend: string; runDir: string }
  | { kind: 'sweep-header'; key: string; experiment: string; sweepDir: string; trials: number }
  | {
      kind: 'trial';
      key: string;
      trial: number;
      trials: number;
      label: string;
      status: TrialStatus;
      metric: string;
      metricValue: number | null;
      error: string | null;
      seconds: number;
    };

export interface EpochRow {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  validation: ValidationMetrics;
  best: boolean;
}

/** The epoch in progress. */
export interface TrainingProgress {
  epoch: number;
  epochs: number;
  /** Finished mini-batches of this epoch. */
  batch: number;
  batches: number;
  /** Samples and seconds of the finished mini-batches of this epoch. */
  samples: number;
  stepSeconds: number;
}

/** Timings of the last finished epoch, which the estimates fall back on. */
export interface EpochTiming {
  meanStepSeconds: number;
  samplesPerSecond: number;
  /** The epoch's time outside its mini-batches, mostly validation. */
  otherSeconds: number;
}

export interface Notice {
  kind: 'warning' | 'error';
  message: string;
}

export type Outcome =
  | { kind: 'complete'; bestEpoch: number; testAccuracyWithoutText: number; testAccuracyWithText: number | null; seconds: number }
  | {
      kind: 'interrupted';
      completedEpochs: number;
      epochs: number;
      seconds: number;
      /** Position where training stopped; null when it stopped before the first epoch started. */
      stoppedAt: { epoch: number; batch: number; batches: number } | null;
    }
  | { kind: 'diverged'; epoch: number; step: number; reason: string; checkpointEpoch: number | null; seconds: number };

/** The run shown now: the only run, or the running trial's run in a sweep. */
export interface RunView {
  experiment: string | null;
  backend: string | null;
  runDir: string | null;
  data: EventOf<'data-loaded'> | null;
  parameters: number | null;
  progress: TrainingProgress | null;
  lastEpoch: EpochTiming | null;
  evaluation: { split: 'validation' | 'test'; withText: boolean; done: number; total: number } | null;
  recentEpochs: EpochRow[];
  test: { samples: number; withoutText: number | null; withText: number | null } | null;
  outcome: Outcome | null;
}

export interface SweepView {
  experiment: string;
  sweepDir: string;
  trials: number;
  metric: string;
  finished: number;
  current: { trial: number; label: string } | null;
  best: { trial: number; label: string; metricValue: number } | null;
  end: EventOf<'sweep-end'> | null;
}

export interface ScreenState {
  log: LogItem[];
  sweep: SweepView | null;
  run: RunView;
  notices: Notice[];
  /** Run folder whose event log the notices point to: the latest run's, or the failed run's. */
  logDir: string | null;
  stopRequested: boolean;
}

function emptyRun(): RunView {
  return {
    experiment: null,
    backend: null,
    runDir: null,
    data: null,
    parameters: null,
    progress: null,
    lastEpoch: null,
    evaluation: null,
    recentEpochs: [],
    test: null,
    outcome: null,
  };
}

export function initialScreenState(): ScreenState {
  return { log: [], sweep: null, run: emptyRun(), notices: [], logDir: null, stopRequested: false };
}

/** Apply `event` to `state`; returns the same object when the event changes nothing on screen. */
export function reduceScreen(state: ScreenState, event: ReporterEvent): ScreenState {
  switch (event.type) {
    case 'stop-requested':
      return { ...state, stopRequested: true };
    case 'warning':
      return { ...state, notices: [...state.notices, { kind: 'warning', message: event.message }] };
    case 'error':
      return { ...state, notices: [...state.notices, { kind: 'error', message: event.message }], logDir: event.runDir };
    case 'sweep-start':
    case 'trial-start':
    case 'trial-end':
    case 'sweep-end':
      return reduceSweep(state, event);
    default: {
      const run = reduceRun(state.run, event);
      if (run === state.run) return state;
      let { log, logDir } = state;
      if (event.type === 'run-start') {
        logDir = event.runDir;
        // In a sweep the sweep's header stays the only one; the trial's run is shown in the live part.
        if (!state.sweep) {
          const header: LogItem = {
            kind: 'run-header',
            key: `run ${event.runDir}`,
            experiment: event.experiment,
            backend: event.backend,
            runDir: event.runDir,
          };
          log = [...log, header];
        }
      }
      return { ...state, run, log, logDir };
    }
  }
}

function reduceRun(run: RunView, event: TandemEvent): RunView {
  switch (event.type) {
    case 'run-start':
      return { ...run, experiment: event.experiment, backend: event.backend, runDir: event.runDir };
    case 'data-loaded':
      return { ...run, data: event };
    case 'model-built':
      return { ...run, parameters: event.parameters };
    case 'epoch-start':
      return {
        ...run,
        evaluation: null,
        progress: { epoch: event.epoch, epochs: event.epochs, batch: 0, batches: event.batches, samples: 0, stepSeconds: 0 },
      };
    case 'batch-end': {
      const progress = run.progress;
      if (!progress) return run;
      return {
        ...run,
        progress: {
          ...progress,
          batch: event.batch,
          batches: event.batches,
          samples: progress.samples + event.samples,
          stepSeconds: progress.stepSeconds + event.seconds,
        },
      };
    }
    case 'evaluation-progress':
      return { ...run, evaluation: { split: event.split, withText: event.withText, done: event.done, total: event.total } };
    case 'epoch-end': {
      const row: EpochRow = {
        epoch: event.epoch,
        trainLoss: event.trainLoss,
        trainAccuracy: event.trainAccuracy,
        validation: event.validation,
        best: event.best,
      };
      return {
        ...run,
        progress: null,
        evaluation: null,
        lastEpoch: epochTiming(run.progress, event.seconds) ?? run.lastEpoch,
        recentEpochs: [...run.recentEpochs, row].slice(-RECENT_EPOCHS),
      };
    }
    case 'evaluation': {
      const test = run.test ?? { samples: event.samples, withoutText: null, withText: null };
      return {
        ...run,
        evaluation: null,
        test: event.withText ? { ...test, withText: event.accuracy } : { ...test, withoutText: event.accuracy },
      };
    }
    case 'run-end':
      return {
        ...run,
        progress: null,
        evaluation: null,
        outcome: {
          kind: 'complete',
          bestEpoch: event.bestEpoch,
          testAccuracyWithoutText: event.testAccuracyWithoutText,
          testAccuracyWithText: event.testAccuracyWithText,
          seconds: event.seconds,
        },
      };
    case 'run-diverged':
      return {
        ...run,
        progress: null,
        evaluation: null,
        outcome: {
          kind: 'diverged',
          epoch: event.epoch,
          step: event.step,
          reason: event.reason,
          checkpointEpoch: event.checkpointEpoch,
          seconds: event.seconds,
        },
      };
    case 'run-interrupted': {
      const progress = run.progress;
      return {
        ...run,
        progress: null,
        evaluation: null,
        outcome: {
          kind: 'interrupted',
          completedEpochs: event.completedEpochs,
          epochs: event.epochs,
          seconds: event.seconds,
          stoppedAt: progress && { epoch: progress.epoch, batch: progress.batch, batches: progress.batches },
        },
      };
    }
    default:
      return run;
  }
}

function epochTiming(progress: TrainingProgress | null, epochSeconds: number): EpochTiming | null {
  if (!progress || progress.batch === 0 || progress.stepSeconds <= 0) return null;
  return {
    meanStepSeconds: progress.stepSeconds / progress.batch,
    samplesPerSecond: progress.samples / progress.stepSeconds,
    otherSeconds: Math.max(0, epochSeconds - progress.stepSeconds),
  };
}

function reduceSweep(state: ScreenState, event: EventOf<'sweep-start' | 'trial-start' | 'trial-end' | 'sweep-end'>): ScreenState {
  switch (event.type) {
    case 'sweep-start': {
      const header: LogItem = {
        kind: 'sweep-header',
        key: `sweep ${event.sweepDir}`,
        experiment: event.experiment,
        sweepDir: event.sweepDir,
        trials: event.trials,
      };
      const sweep: SweepView = {
        experiment: event.experiment,
        sweepDir: event.sweepDir,
        trials: event.trials,
        metric: event.metric,
        finished: 0,
        current: null,
        best: null,
        end: null,
      };
      return { ...state, sweep, log: [...state.log, header] };
    }
    case 'trial-start':
      if (!state.sweep) return state;
      return {
        ...state,
        sweep: { ...state.sweep, current: { trial: event.trial, label: event.label } },
        run: emptyRun(),
      };
    case 'trial-end': {
      if (!state.sweep) return state;
      const sweep = state.sweep;
      const item: LogItem = {
        kind: 'trial',
        key: `trial ${event.trial}`,
        trial: event.trial,
        trials: event.trials,
        label: event.label,
        status: event.status,
        metric: sweep.metric,
        metricValue: event.metricValue,
        error: event.error ?? null,
        seconds: event.seconds,
      };
      const better =
        event.metricValue !== null && (sweep.best === null || event.metricValue > sweep.best.metricValue)
          ? { trial: event.trial, label: event.label, metricValue: event.metricValue }
          : sweep.best;
      return {
        ...state,
        sweep: { ...sweep, finished: sweep.finished + 1, current: null, best: better },
        run: emptyRun(),
        log: [...state.log, item],
      };
    }
    case 'sweep-end':
      if (!state.sweep) return state;
      return { ...state, sweep: { ...state.sweep, end: event } };
  }
}

/** Throughput and time left, estimated from the step times that the events report. */
export interface Estimates {
  samplesPerSecond: number | null;
  epochSecondsLeft: number | null;
  runSecondsLeft: number | null;
}

/**
 * Estimate throughput and time left from the finished steps of this epoch, or of the last epoch before
 * the first step ends. Validation time comes from the last epoch (unknown during the first), and the test
 * is assumed to take as long per sample as validation did. Every later epoch is assumed to have as many
 * batches as this one.
 */
export function estimate(run: RunView): Estimates {
  const progress = run.progress;
  if (!progress) return { samplesPerSecond: null, epochSecondsLeft: null, runSecondsLeft: null };
  const last = run.lastEpoch;
  const meanStep = progress.batch > 0 && progress.stepSeconds > 0 ? progress.stepSeconds / progress.batch : last?.meanStepSeconds ?? null;
  const samplesPerSecond = progress.stepSeconds > 0 ? progress.samples / progress.stepSeconds : last?.samplesPerSecond ?? null;
  if (meanStep === null) return { samplesPerSecond, epochSecondsLeft: null, runSecondsLeft: null };

  const otherSeconds = last?.otherSeconds ?? 0;
  const epochSecondsLeft = (progress.batches - progress.batch) * meanStep + otherSeconds;
  const laterEpochs = (progress.epochs - progress.epoch) * (progress.batches * meanStep + otherSeconds);
  const runSecondsLeft = epochSecondsLeft + laterEpochs + testSeconds(run.data?.counts ?? null, otherSeconds);
  return { samplesPerSecond, epochSecondsLeft, runSecondsLeft };
}

function testSeconds(counts: SplitCounts | null, validationSeconds: number): number {
  if (!counts || counts.validation === 0) return 0;
  return (validationSeconds * counts.test) / counts.validation;
}
