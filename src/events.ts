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
  accuracyWithText: number;
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
  | { type: 'evaluation'; split: 'test'; withText: boolean; accuracy: number; samples: number }
  | { type: 'artifact-written'; path: string; description: string }
  | { type: 'warning'; message: string }
  | { type: 'run-end'; runDir: string; bestEpoch: number; testAccuracyWithoutText: number; testAccuracyWithText: number; seconds: number };

/** Receives every event of a run; the library calls it synchronously, in order. */
export type EventListener = (event: TandemEvent) => void;
