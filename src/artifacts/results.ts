/**
 * Writers for a run's results: history, confusion matrices, predictions, metrics and the split.
 */
import type { PreparedData } from '../data/index.ts';
import { confusionMatrix, type ConfusionMatrix } from '../evaluate/metrics.ts';
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
    r.validation.accuracyWithText,
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

function confusionCsv(matrix: ConfusionMatrix): string {
  const header = ['true \\ predicted', ...matrix.classes];
  return toCsv(header, matrix.counts.map((row, i) => [matrix.classes[i], ...row]));
}

/** Write both test confusion matrices; returns them and the paths written. */
export function writeConfusionMatrices(
  folder: RunFolder,
  classes: string[],
  withoutText: Predictions,
  withText: Predictions,
): { matrices: { withoutText: ConfusionMatrix; withText: ConfusionMatrix }; paths: string[] } {
  const matrices = {
    withoutText: confusionMatrix(withoutText.labels, withoutText.predictions, classes),
    withText: confusionMatrix(withText.labels, withText.predictions, classes),
  };
  const paths = [
    folder.writeJson('confusionWithoutText', matrices.withoutText),
    folder.writeText('confusionWithoutTextCsv', confusionCsv(matrices.withoutText)),
    folder.writeJson('confusionWithText', matrices.withText),
    folder.writeText('confusionWithTextCsv', confusionCsv(matrices.withText)),
  ];
  return { matrices, paths };
}

/** Write predictions.csv: one row per test image, with and without text side by side. */
export function writePredictions(folder: RunFolder, classes: string[], withoutText: Predictions, withText: Predictions): string {
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
