/**
 * The metrics that `tandem baseline` records and `tandem check` compares, read from a finished run folder.
 * Each name is the metric's JSON path in metrics.json, except `finalEpoch.*`, the last record of
 * history.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { RUN_FILES } from '../artifacts/files.ts';
import { TandemError } from '../errors.ts';
import { readManifest as readSweepManifest, sweepPath } from '../sweep/manifest.ts';

/** How a metric behaves, which decides its default tolerance. */
export type MetricKind =
  /** An integer that must match exactly, such as the best epoch. */
  | 'count'
  /** A share of the test samples (accuracy, macro F1), which moves in steps of one sample. */
  | 'test-share'
  /** A share of the validation samples. */
  | 'validation-share'
  /** A share of the training samples, counted over one epoch. */
  | 'train-share'
  /** A mean cross-entropy loss, a continuous value. */
  | 'loss';

interface MetricDefinition {
  name: string;
  kind: MetricKind;
  read: (files: RunFiles) => unknown;
}

/** The parsed result files of one run. */
interface RunFiles {
  metrics: Record<string, any>;
  history: Record<string, any>[];
}

/** Every compared metric, in table order. */
export const RUN_METRICS: readonly MetricDefinition[] = [
  { name: 'bestEpoch', kind: 'count', read: (f) => f.metrics.bestEpoch },
  { name: 'test.accuracyWithoutText', kind: 'test-share', read: (f) => f.metrics.test?.accuracyWithoutText },
  { name: 'test.accuracyWithText', kind: 'test-share', read: (f) => f.metrics.test?.accuracyWithText },
  { name: 'test.lossWithoutText', kind: 'loss', read: (f) => f.metrics.test?.lossWithoutText },
  { name: 'test.lossWithText', kind: 'loss', read: (f) => f.metrics.test?.lossWithText },
  { name: 'classificationWithoutText.macroF1', kind: 'test-share', read: (f) => f.metrics.classificationWithoutText?.macroF1 },
  { name: 'classificationWithText.macroF1', kind: 'test-share', read: (f) => f.metrics.classificationWithText?.macroF1 },
  { name: 'validationAtBestEpoch.loss', kind: 'loss', read: (f) => f.metrics.validationAtBestEpoch?.loss },
  {
    name: 'validationAtBestEpoch.accuracyWithoutText',
    kind: 'validation-share',
    read: (f) => f.metrics.validationAtBestEpoch?.accuracyWithoutText,
  },
  {
    name: 'validationAtBestEpoch.accuracyWithText',
    kind: 'validation-share',
    read: (f) => f.metrics.validationAtBestEpoch?.accuracyWithText,
  },
  { name: 'finalEpoch.trainLoss', kind: 'loss', read: (f) => f.history[f.history.length - 1]?.trainLoss },
  { name: 'finalEpoch.trainAccuracy', kind: 'train-share', read: (f) => f.history[f.history.length - 1]?.trainAccuracy },
];

/** Look up the kind of a metric by name; undefined for a name that RUN_METRICS lacks. */
export function metricKind(name: string): MetricKind | undefined {
  return RUN_METRICS.find((metric) => metric.name === name)?.kind;
}

/** Metric values by name; null where the run does not measure the metric (with text, for an image-only model). */
export type MetricValues = Record<string, number | null>;

/** The parts of a finished run folder that a baseline uses: its metrics and its provenance from run.json. */
export interface FinishedRun {
  runDir: string;
  metrics: MetricValues;
  /** run.json as written. */
  record: Record<string, any>;
  /** Samples per split, from run.json. */
  samples: { train: number; validation: number; test: number };
}

/**
 * Read the metrics of the finished run in `runDir`. Throws a TandemError when the folder has no COMPLETE
 * marker, because an unfinished run's files may be missing or stale.
 */
export function readFinishedRun(runDir: string): FinishedRun {
  const dir = path.resolve(runDir);
  if (!existsSync(path.join(dir, RUN_FILES.run.name))) {
    throw new TandemError(`${dir} is not a run folder: it has no ${RUN_FILES.run.name}.`, { exitCode: 2 });
  }
  if (!existsSync(path.join(dir, RUN_FILES.complete.name))) {
    let status: unknown;
    try {
      status = JSON.parse(readFileSync(path.join(dir, RUN_FILES.run.name), 'utf8')).status;
    } catch {
      status = undefined;
    }
    // A run with status "running" in its run.json may still be training in another process, and a
    // second process resuming the same folder would corrupt it.
    const next =
      status === 'running'
        ? `Its ${RUN_FILES.run.name} has status "running": wait until it finishes. Only if its process was killed, finish it with \`tandem run --resume ${dir}\`.`
        : `Finish it with \`tandem run --resume ${dir}\`, or pass a complete run.`;
    throw new TandemError(
      `Run ${dir} is not complete: it has no ${RUN_FILES.complete.name} marker, so its metrics are missing or unfinished. ${next}`,
    );
  }
  const readJson = (file: string) => {
    const full = path.join(dir, file);
    try {
      return JSON.parse(readFileSync(full, 'utf8'));
    } catch (error) {
      throw new TandemError(`Failed to read ${full}: ${(error as Error).message}.`, { cause: error });
    }
  };
  const record = readJson(RUN_FILES.run.name);
  const files: RunFiles = { metrics: readJson(RUN_FILES.metrics.name), history: readJson(RUN_FILES.history.name) };
  const metrics: MetricValues = {};
  for (const metric of RUN_METRICS) {
    const value = metric.read(files);
    metrics[metric.name] = typeof value === 'number' ? value : null;
  }
  return { runDir: dir, metrics, record, samples: record.data?.samples ?? { train: 0, validation: 0, test: 0 } };
}

/** The finished trials of a sweep folder, by trial label. */
export interface FinishedSweep {
  sweepDir: string;
  /** Each trial's run by its label, such as `TandemNet-WVS, seed 1235`, in the order of the sweep. */
  runs: Record<string, FinishedRun>;
}

/** Returns whether `dir` is a sweep folder, which has a sweep manifest. */
export function isSweepFolder(dir: string): boolean {
  return existsSync(sweepPath(path.resolve(dir), 'manifest'));
}

/**
 * Read the metrics of every trial of the sweep in `sweepDir`. Throws a TandemError that lists the trials
 * not done, because a baseline or a check with trials missing would compare less than the sweep.
 */
export function readFinishedSweep(sweepDir: string): FinishedSweep {
  const dir = path.resolve(sweepDir);
  const manifest = readSweepManifest(dir);
  if (manifest === undefined) {
    throw new TandemError(`${dir} is not a sweep folder: it has no ${sweepPath(dir, 'manifest')}.`, { exitCode: 2 });
  }
  const unfinished = manifest.trials.filter((trial) => trial.status !== 'done' || trial.runDir === null);
  if (unfinished.length > 0) {
    const listed = unfinished.map((trial) => `${trial.label} (${trial.status})`).join(', ');
    throw new TandemError(
      `Sweep ${dir} has ${unfinished.length} of ${manifest.trials.length} trials not done: ${listed}. Finish it by ` +
        `running \`tandem run ${manifest.configFile}\` again, with --retry-failed for failed or diverged trials.`,
    );
  }
  const runs: Record<string, FinishedRun> = {};
  for (const trial of manifest.trials) runs[trial.label] = readFinishedRun(path.join(dir, trial.runDir!));
  return { sweepDir: dir, runs };
}
