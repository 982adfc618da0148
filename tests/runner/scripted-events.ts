/**
 * Event scripts for the reporter tests: a short run, an interrupted run and a sweep, as the library and the
 * command line would emit them. Every duration is made up, so the frames never depend on the clock.
 */
import type { TandemEvent, ValidationMetrics } from '../../src/events.ts';
import type { ReporterEvent } from '../../runner/reporters/reporter.ts';

export const RUN_DIR = '/results/smoke/20260101-120000';

const validation = (loss: number, withoutText: number, withText: number): ValidationMetrics => ({
  loss,
  accuracyWithoutText: withoutText,
  accuracyWithText: withText,
});

function runStart(runDir: string): TandemEvent[] {
  return [
    { type: 'run-start', experiment: 'smoke', runDir, backend: 'wasm', configPath: '/configs/smoke.yaml' },
    {
      type: 'data-loaded',
      images: 24,
      patients: 24,
      classes: ['ABD', 'CHEST', 'HEAD'],
      counts: { train: 16, validation: 4, test: 4 },
      vocabularySize: 200,
      seconds: 0.1,
    },
    { type: 'model-built', parameters: 90_000, parametersByPart: { cnn: 80_000, text: 10_000 } },
  ];
}

/** Script two epochs of two batches of 8 samples, each batch 0.5 s, validation 1 s, then the test. */
export function completeRun(runDir = RUN_DIR): TandemEvent[] {
  return [
    ...runStart(runDir),
    { type: 'epoch-start', epoch: 1, epochs: 2, batches: 2 },
    { type: 'batch-end', epoch: 1, batch: 1, batches: 2, loss: 1.2, samples: 8, seconds: 0.5, textDropped: false },
    { type: 'batch-end', epoch: 1, batch: 2, batches: 2, loss: 1.1, samples: 8, seconds: 0.5, textDropped: true },
    { type: 'evaluation-progress', split: 'validation', withText: false, done: 4, total: 4 },
    { type: 'evaluation-progress', split: 'validation', withText: true, done: 4, total: 4 },
    {
      type: 'epoch-end',
      epoch: 1,
      epochs: 2,
      trainLoss: 1.15,
      trainAccuracy: 0.375,
      validation: validation(1.1, 0.25, 0.5),
      seconds: 2,
      best: true,
    },
    { type: 'epoch-start', epoch: 2, epochs: 2, batches: 2 },
    { type: 'batch-end', epoch: 2, batch: 1, batches: 2, loss: 1.0, samples: 8, seconds: 0.25, textDropped: false },
    { type: 'batch-end', epoch: 2, batch: 2, batches: 2, loss: 0.9, samples: 8, seconds: 0.25, textDropped: false },
    {
      type: 'epoch-end',
      epoch: 2,
      epochs: 2,
      trainLoss: 0.95,
      trainAccuracy: 0.5,
      validation: validation(1.05, 0.5, 0.75),
      seconds: 1.5,
      best: true,
    },
    { type: 'evaluation-progress', split: 'test', withText: false, done: 4, total: 4 },
    { type: 'evaluation', split: 'test', withText: false, accuracy: 0.5, samples: 4 },
    { type: 'evaluation-progress', split: 'test', withText: true, done: 4, total: 4 },
    { type: 'evaluation', split: 'test', withText: true, accuracy: 0.75, samples: 4 },
    { type: 'artifact-written', path: `${runDir}/metrics.json`, description: 'test metrics' },
    { type: 'run-end', runDir, bestEpoch: 2, testAccuracyWithoutText: 0.5, testAccuracyWithText: 0.75, seconds: 5 },
  ];
}

/** Script a run of 3 epochs stopped by Ctrl-C during its second epoch. */
export function interruptedRun(): ReporterEvent[] {
  return [
    ...runStart(RUN_DIR),
    { type: 'epoch-start', epoch: 1, epochs: 3, batches: 2 },
    { type: 'batch-end', epoch: 1, batch: 1, batches: 2, loss: 1.2, samples: 8, seconds: 0.5, textDropped: false },
    { type: 'batch-end', epoch: 1, batch: 2, batches: 2, loss: 1.1, samples: 8, seconds: 0.5, textDropped: false },
    {
      type: 'epoch-end',
      epoch: 1,
      epochs: 3,
      trainLoss: 1.15,
      trainAccuracy: 0.375,
      validation: validation(1.1, 0.25, 0.5),
      seconds: 2,
      best: true,
    },
    { type: 'epoch-start', epoch: 2, epochs: 3, batches: 2 },
    { type: 'batch-end', epoch: 2, batch: 1, batches: 2, loss: 1.0, samples: 8, seconds: 0.5, textDropped: false },
    { type: 'stop-requested' },
    { type: 'run-interrupted', runDir: RUN_DIR, completedEpochs: 1, epochs: 3, bestEpoch: 1, checkpointEpoch: 1, seconds: 3 },
  ];
}

/** Script a sweep of three trials: the first completes, the second fails after its run folder exists, the third waits. */
export function sweep(): TandemEvent[] {
  const first = `${RUN_DIR}-1`;
  const second = `${RUN_DIR}-2`;
  return [
    { type: 'sweep-start', experiment: 'smoke', sweepDir: '/results/smoke/sweeps/20260101', trials: 3, metric: 'test accuracy with text' },
    { type: 'trial-start', trial: 1, trials: 3, label: 'model.textDropRate=0' },
    ...completeRun(first).filter((event) => event.type !== 'artifact-written'),
    { type: 'trial-end', trial: 1, trials: 3, label: 'model.textDropRate=0', status: 'complete', runDir: first, metricValue: 0.75, seconds: 5 },
    { type: 'trial-start', trial: 2, trials: 3, label: 'model.textDropRate=0.5' },
    ...runStart(second),
    { type: 'warning', message: 'validation has only 4 images' },
    { type: 'error', message: 'Failed to write history.json: the disk is full.', runDir: second },
    {
      type: 'trial-end',
      trial: 2,
      trials: 3,
      label: 'model.textDropRate=0.5',
      status: 'failed',
      runDir: second,
      metricValue: null,
      error: 'Failed to write history.json: the disk is full.',
      seconds: 1,
    },
  ];
}

/** Script the end of the sweep above, with its third trial interrupted. */
export function sweepEnd(): TandemEvent[] {
  return [
    { type: 'trial-start', trial: 3, trials: 3, label: 'model.textDropRate=1' },
    {
      type: 'trial-end',
      trial: 3,
      trials: 3,
      label: 'model.textDropRate=1',
      status: 'interrupted',
      runDir: null,
      metricValue: null,
      seconds: 2,
    },
    {
      type: 'sweep-end',
      sweepDir: '/results/smoke/sweeps/20260101',
      trials: 3,
      complete: 1,
      failed: 1,
      interrupted: 1,
      bestTrial: 1,
      seconds: 8,
    },
  ];
}
