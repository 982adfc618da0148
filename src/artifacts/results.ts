/**
 * Writers for a run's results: history, confusion matrices, predictions, metrics and the split.
 */
import type { PreparedData } from '../data/index.ts';
import { classificationReport, confusionMatrix, type ClassificationReport, type ConfusionMatrix } from '../evaluate/metrics.ts';
import type { Predictions } from '../evaluate/evaluate.ts';
import type { EpochRecord } from '../train/train.ts';
import { toCsv, type RunFolder } from './files.ts';

/** Write history.json and history.csv; returns the paths written. */
export function writeHistory(folder: RunFolder, history: EpochRecord[]): string[] {
  const rows = history.map((r) => [
    r.epoch,
    r.trainLoss,
    r.trainAccuracy,
    r.validation.loss,
    r.validation.accuracyWithoutText,
    // Empty for a model that reads no text.
    r.validation.accuracyWithText ?? '',
    r.textDroppedShare,
    r.cnnLearningRate,
    r.othersLearningRate,
    r.seconds,
  ]);
  const header = [
    'epoch',
    'train_loss',
    'train_accuracy',
    'validation_loss',
    'validation_accuracy_without_text',
    'validation_accuracy_with_text',
    'text_dropped_share',
    'cnn_learning_rate',
    'others_learning_rate',
    'seconds',
  ];
  return [folder.writeJson('history', history), folder.writeText('historyCsv', toCsv(header, rows))];
}

function confusionCsv(matrix: ConfusionMatrix, values: 'counts' | 'rates'): string {
  const header = ['true \\ predicted', ...matrix.classes];
  return toCsv(header, matrix[values].map((row, i) => [matrix.classes[i], ...row]));
}

/** The confusion matrices, their per-class scores and the paths written; `Missing` is null when with-text predictions may be absent. */
export interface WrittenConfusionMatrices<Missing extends null = never> {
  matrices: { withoutText: ConfusionMatrix; withText: ConfusionMatrix | Missing };
  reports: { withoutText: ClassificationReport; withText: ClassificationReport | Missing };
  paths: string[];
}

/**
 * Write both test confusion matrices, as JSON, a counts table and a row-rates table; returns the matrices,
 * their per-class scores and the paths written. `withText` is null for a model that reads no text, which
 * gets no with-text files.
 */
export function writeConfusionMatrices(
  folder: RunFolder,
  classes: string[],
  withoutText: Predictions,
  withText: Predictions,
): WrittenConfusionMatrices;
export function writeConfusionMatrices(
  folder: RunFolder,
  classes: string[],
  withoutText: Predictions,
  withText: Predictions | null,
): WrittenConfusionMatrices<null>;
export function writeConfusionMatrices(
  folder: RunFolder,
  classes: string[],
  withoutText: Predictions,
  withText: Predictions | null,
): WrittenConfusionMatrices<null> {
  const matrices = {
    withoutText: confusionMatrix(withoutText.labels, withoutText.predictions, classes),
    withText: withText && confusionMatrix(withText.labels, withText.predictions, classes),
  };
  const reports = {
    withoutText: classificationReport(matrices.withoutText),
    withText: matrices.withText && classificationReport(matrices.withText),
  };
  const paths = [
    folder.writeJson('confusionWithoutText', matrices.withoutText),
    folder.writeText('confusionWithoutTextCsv', confusionCsv(matrices.withoutText, 'counts')),
    folder.writeText('confusionWithoutTextRatesCsv', confusionCsv(matrices.withoutText, 'rates')),
  ];
  if (matrices.withText) {
    paths.push(
      folder.writeJson('confusionWithText', matrices.withText),
      folder.writeText('confusionWithTextCsv', confusionCsv(matrices.withText, 'counts')),
      folder.writeText('confusionWithTextRatesCsv', confusionCsv(matrices.withText, 'rates')),
    );
  }
  return { matrices, reports, paths };
}

/**
 * Write predictions.csv: one row per test image, with and without text side by side. `withText` is null
 * for a model that reads no text, whose file has only the without-text columns.
 */
export function writePredictions(folder: RunFolder, classes: string[], withoutText: Predictions, withText: Predictions | null): string {
  if (!withText) {
    const header = ['image', 'label', 'prediction_without_text', ...classes.map((c) => `p_without_text_${c}`)];
    const rows = withoutText.ids.map((id, i) => [
      id,
      classes[withoutText.labels[i]],
      classes[withoutText.predictions[i]],
      ...Array.from(withoutText.probabilities.subarray(i * classes.length, (i + 1) * classes.length)),
    ]);
    return folder.writeText('predictions', toCsv(header, rows));
  }
  const header = [
    'image',
    'label',
    'prediction_without_text',
    'prediction_with_text',
    ...classes.map((c) => `p_without_text_${c}`),
    ...classes.map((c) => `p_with_text_${c}`),
  ];
  const byId = new Map(withText.ids.map((id, i) => [id, i]));
  const rows = withoutText.ids.map((id, i) => {
    const j = byId.get(id)!;
    const without = Array.from(withoutText.probabilities.subarray(i * classes.length, (i + 1) * classes.length));
    const withReport = Array.from(withText.probabilities.subarray(j * classes.length, (j + 1) * classes.length));
    return [
      id,
      classes[withoutText.labels[i]],
      classes[withoutText.predictions[i]],
      classes[withText.predictions[j]],
      ...without,
      ...withReport,
    ];
  });
  return folder.writeText('predictions', toCsv(header, rows));
}

/** Write split.csv: which split each image went to, with its patient and label. */
export function writeSplit(folder: RunFolder, data: PreparedData): string {
  const rows: string[][] = [];
  for (const split of ['train', 'validation', 'test'] as const) {
    for (const sample of data[split]) rows.push([sample.id, sample.patientId, sample.labelName, split]);
  }
  return folder.writeText('split', toCsv(['image', 'patient', 'label', 'split'], rows));
}
