/**
 * Typed progress events. The library emits them and never prints; `runner/` decides how to show them.
 */
import type { BackendName } from './config/schema.ts';

export interface SplitCounts {
  train: number;
  validation: number;
  test: number;
}

export interface ValidationMetrics {
  loss: number;
  accuracyWithoutText: number;
  /** null for a model that reads no text (model.type image-only). */
  accuracyWithText: number | null;
}

export type TandemEvent =
  | { type: 'run-start'; experiment: string; runDir: string; backend: Exclude<BackendName, 'auto'>; configPath: string }
  | { type: 'data-loaded'; images: number; patients: number; classes: string[]; counts: SplitCounts; vocabularySize: number; seconds: number }
  | { type: 'model-built'; parameters: number; parametersByPart: Record<string, number> }
  | { type: 'epoch-start'; epoch: number; epochs: number; batches: number }
  | { type: 'batch-end'; epoch: number; batch: number; batches: number; loss: number; samples: number; seconds: number; textDropped: boolean }
  | {
      type: 'epoch-end';
      epoch: number;
      epochs: number;
      trainLoss: number;
      trainAccuracy: number;
      validation: ValidationMetrics;
      seconds: number;
      best: boolean;
    }
  /** After each evaluation batch; `done` of `total` samples of `split` are classified. */
  | { type: 'evaluation-progress'; split: 'validation' | 'test'; withText: boolean; done: number; total: number }
  | { type: 'evaluation'; split: 'test'; withText: boolean; accuracy: number; samples: number }
  | { type: 'artifact-written'; path: string; description: string }
  | { type: 'warning'; message: string }
  /** A run failed after its run folder was created; the error is thrown after this event. */
  | { type: 'error'; message: string; runDir: string }
  | { type: 'run-end'; runDir: string; bestEpoch: number; testAccuracyWithoutText: number; testAccuracyWithText: number | null; seconds: number }
  /**
   * Training stopped early on request; `completedEpochs` epochs finished, no test metrics were written, and
   * the checkpoint of `checkpointEpoch` (null: none yet) is kept.
   */
  | {
      type: 'run-interrupted';
      runDir: string;
      completedEpochs: number;
      epochs: number;
      bestEpoch: number;
      checkpointEpoch: number | null;
      seconds: number;
    }
  /**
   * A loss or weight became NaN or infinite at `step` (1-based mini-batch) of `epoch`. No test metrics
   * were written. The checkpoint of `checkpointEpoch` is kept (null: none was written yet).
   */
  | { type: 'run-diverged'; runDir: string; epoch: number; step: number; reason: string; checkpointEpoch: number | null; seconds: number }
  | SweepEvent;

/** Final state of one trial of a sweep, as of a single run. */
export type TrialStatus = 'complete' | 'interrupted' | 'diverged' | 'failed';

/**
 * Events of a sweep: several runs (trials) of one base config, each with some values changed. Between
 * `trial-start` and `trial-end` the trial's run emits its own events, from `run-start` on.
 */
export type SweepEvent =
  | {
      type: 'sweep-start';
      experiment: string;
      sweepDir: string;
      trials: number;
      /** Name of the headline metric that `trial-end` reports, as shown to the user, e.g. "test accuracy with text". */
      metric: string;
    }
  /** `trial` is 1-based; `label` distinguishes the trial from the others, e.g. "model.textDropRate=0.3". */
  | { type: 'trial-start'; trial: number; trials: number; label: string }
  | {
      type: 'trial-end';
      trial: number;
      trials: number;
      label: string;
      status: TrialStatus;
      /** The trial's run folder; null when it failed before creating one. */
      runDir: string | null;
      /** Value of the headline metric; null unless the trial is complete. */
      metricValue: number | null;
      /** Error message of a failed trial. */
      error?: string;
      seconds: number;
    }
  | {
      type: 'sweep-end';
      sweepDir: string;
      trials: number;
      complete: number;
      failed: number;
      interrupted: number;
      /** 1-based trial with the best headline metric; null when no trial is complete. */
      bestTrial: number | null;
      seconds: number;
    };

/** Receives every event of a run; the library calls it synchronously, in order. */
export type EventListener = (event: TandemEvent) => void;
